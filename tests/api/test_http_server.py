"""The API's HTTP/1.1 server (hiscrm/api/http_server.py) on real sockets: framing, keep-alive, pipelining,
streamed bodies both ways, flow control, limits, timeouts and shutdown, seen from a client writing raw bytes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from hiscrm.api import http_server
from hiscrm.api.http_server import serve
from hiscrm.procs import bind
from tests.conftest import eventually

# ----------------------------------------------------------------------------- server and client


@dataclass
class Served:
    port: int
    stop: asyncio.Event
    task: asyncio.Task[None]
    stopped: list[bool] = field(default_factory=list)  # on_stop calls


@contextlib.asynccontextmanager
async def serving(app: Any, **options: Any) -> AsyncIterator[Served]:
    sock = bind("127.0.0.1", 0, "test server", "--port")
    stop = asyncio.Event()
    served = Served(sock.getsockname()[1], stop, asyncio.create_task(asyncio.sleep(0)))
    served.task = asyncio.create_task(serve(app, sock, stop, lambda: served.stopped.append(True), **options))
    try:
        yield served
    finally:
        stop.set()
        await asyncio.wait_for(served.task, 15)
        sock.close()


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    chunks: int = 0  # chunks of a chunked body, the last empty one not counted

    def json(self) -> Any:
        return json.loads(self.body)


class Client:
    """A connection that writes raw bytes and reads HTTP/1.1 responses as a strict client would."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int, limit: int = 2**16) -> Client:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=limit)
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(reader, writer)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def response(self, head_only: bool = False) -> Answer:
        return await asyncio.wait_for(self._response(head_only), 10)

    async def _response(self, head_only: bool) -> Answer:
        head = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        status_line, *lines = head[:-4].split("\r\n")
        assert status_line.startswith("HTTP/1.1 "), status_line
        status = int(status_line.split(" ")[1])
        headers: dict[str, str] = {}
        for line in lines:
            name, _, value = line.partition(":")
            assert name and name == name.strip(), f"bad header line {line!r}"
            headers[name.lower()] = value.strip()
        if head_only or status < 200 or status in (204, 304):
            return Answer(status, headers, b"")
        if "content-length" in headers:
            assert "transfer-encoding" not in headers
            return Answer(status, headers, await self.reader.readexactly(int(headers["content-length"])))
        if headers.get("transfer-encoding") == "chunked":
            body, chunks = b"", 0
            while size := int(await self.reader.readuntil(b"\r\n"), 16):
                body += (await self.reader.readexactly(size + 2))[:-2]
                chunks += 1
            assert await self.reader.readexactly(2) == b"\r\n"
            return Answer(status, headers, body, chunks)
        assert headers.get("connection") == "close", "a body without length must end with the connection"
        return Answer(status, headers, await self.reader.read())

    async def closed(self) -> bytes:
        """What the server still sends before it closes the connection (fails if it does not within 10 s)."""
        return await asyncio.wait_for(self.reader.read(), 10)

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError):
            await self.writer.wait_closed()


def get(path: str, *headers: str, version: str = "1.1") -> bytes:
    return f"GET {path} HTTP/{version}\r\nHost: t\r\n{''.join(h + chr(13) + chr(10) for h in headers)}\r\n".encode()


def post(path: str, body: bytes, *headers: str) -> bytes:
    extra = "".join(h + "\r\n" for h in headers)
    return f"POST {path} HTTP/1.1\r\nHost: t\r\nContent-Length: {len(body)}\r\n{extra}\r\n".encode() + body


def chunked(body_parts: list[bytes]) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in body_parts if p) + b"0\r\n\r\n"


# ----------------------------------------------------------------------------- the app under the server


class Probe:
    """An ASGI app whose routes each show one behaviour; it records what it saw for the test to compare."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []  # http.request messages of /echo, in order
        self.ended: dict[str, asyncio.Event] = {}
        self.release = asyncio.Event()
        self.sent_bytes = 0
        self.calls = 0

    def ended_event(self, name: str) -> asyncio.Event:
        return self.ended.setdefault(name, asyncio.Event())

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        self.calls += 1
        path = scope["path"]
        try:
            if path == "/slow":
                await self.release.wait()
            if path.startswith("/echo") or path in ("/slow", "/shown"):
                await self._echo(scope, receive, send)
            elif path == "/stream":
                await send(
                    {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]}
                )
                for n in range(5):
                    await send({"type": "http.response.body", "body": b"part %d;" % n, "more_body": True})
                await send({"type": "http.response.body", "body": b""})
            elif path == "/big":
                await send({"type": "http.response.start", "status": 200, "headers": []})
                chunk = b"x" * 65536
                for _ in range(256):
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                    self.sent_bytes += len(chunk)
                await send({"type": "http.response.body", "body": b""})
            elif path == "/after-disconnect":
                await send({"type": "http.response.start", "status": 200, "headers": []})
                while (await receive())["type"] != "http.disconnect":
                    pass
                # Past the disconnect, sending must neither raise nor write.
                await send({"type": "http.response.body", "body": b"late", "more_body": True})
                await send({"type": "http.response.body", "body": b""})
            elif path == "/boom":
                raise RuntimeError("the app failed before answering")
            elif path == "/boom-later":
                await send({"type": "http.response.start", "status": 200, "headers": []})
                await send({"type": "http.response.body", "body": b"half", "more_body": True})
                raise RuntimeError("the app failed while answering")
            elif path == "/too-large":
                # Answers without reading the body it was offered.
                await send({"type": "http.response.start", "status": 413, "headers": [(b"content-length", b"0")]})
                await send({"type": "http.response.body", "body": b""})
            elif path == "/forever":
                await asyncio.Event().wait()
            elif path == "/header":
                value = scope["query_string"].replace(b"%0D%0A", b"\r\n")
                await send({"type": "http.response.start", "status": 200, "headers": [(b"x-value", value)]})
                await send({"type": "http.response.body", "body": b""})
            else:
                await send({"type": "http.response.start", "status": 404, "headers": [(b"content-length", b"0")]})
                await send({"type": "http.response.body", "body": b""})
        finally:
            self.ended_event(path).set()

    async def _echo(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        body, messages = b"", 0
        while True:
            message = await receive()
            self.received.append(message)
            if message["type"] == "http.disconnect":
                return
            body += message["body"]
            messages += 1
            if not message.get("more_body", False):
                break
        answer = json.dumps(
            {
                "method": scope["method"],
                "path": scope["path"],
                "raw_path": scope["raw_path"].decode(),
                "query": scope["query_string"].decode(),
                "http_version": scope["http_version"],
                "scheme": scope["scheme"],
                "root_path": scope["root_path"],
                "asgi": scope["asgi"]["version"],
                "headers": [[n.decode(), v.decode()] for n, v in scope["headers"]],
                "client": list(scope["client"]),
                "server": list(scope["server"]),
                "body": body.decode("latin-1"),
                "messages": messages,
            }
        ).encode()
        length = (b"content-length", str(len(answer)).encode())
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json"), length]}
        )
        await send({"type": "http.response.body", "body": answer})


@pytest.fixture
def probe() -> Probe:
    return Probe()


# ----------------------------------------------------------------------------- keep-alive, versions, scope


async def test_keep_alive_answers_requests_one_after_the_other_on_one_connection(probe: Probe) -> None:
    async with serving(probe) as served:
        client = await Client.open(served.port)
        for n in range(3):
            await client.send(get(f"/echo/a%20b{n}?x=%20{n}", "X-Trailing:  spaced \t"))
            answer = await client.response()
            assert answer.status == 200 and "connection" not in answer.headers
            seen = answer.json()
            assert seen["path"] == f"/echo/a b{n}" and seen["raw_path"] == f"/echo/a%20b{n}"
            assert seen["query"] == f"x=%20{n}"
            assert ["x-trailing", "spaced"] in seen["headers"] and ["host", "t"] in seen["headers"]
            assert (seen["http_version"], seen["scheme"], seen["root_path"], seen["asgi"]) == ("1.1", "http", "", "3.0")
            assert seen["server"] == ["127.0.0.1", served.port] and seen["client"][0] == "127.0.0.1"
        await client.close()


async def test_the_scope_names_the_request_s_http_version_whatever_its_connection_header(probe: Probe) -> None:
    """The version is read from the parser only when keep-alive does not already tell it (http_server's
    on_headers_complete): every version llhttp parses, with and without each Connection header."""
    async with serving(probe) as served:
        for version in ("0.9", "1.0", "1.1", "2.0"):
            for connection in ((), ("Connection: close",), ("Connection: keep-alive",)):
                client = await Client.open(served.port)
                await client.send(get("/echo", *connection, version=version))
                answer = await client.response()
                assert answer.json()["http_version"] == version, (version, connection)
                kept = (version == "1.1" and not connection) or connection == ("Connection: keep-alive",)
                assert (answer.headers.get("connection") != "close") == kept, (version, connection)
                await client.close()


async def test_absolute_form_target_is_split_into_path_and_query(probe: Probe) -> None:
    async with serving(probe) as served:
        client = await Client.open(served.port)
        await client.send(b"GET http://t/echo/abs?q=1 HTTP/1.1\r\nHost: t\r\n\r\n")
        seen = (await client.response()).json()
        assert (seen["path"], seen["query"]) == ("/echo/abs", "q=1")
        await client.close()


async def test_http10_closes_after_its_answer_unless_it_asks_to_keep_alive(probe: Probe) -> None:
    async with serving(probe) as served:
        plain = await Client.open(served.port)
        await plain.send(get("/echo", version="1.0"))
        answer = await plain.response()
        assert answer.headers["connection"] == "close" and answer.json()["http_version"] == "1.0"
        assert await plain.closed() == b""

        kept = await Client.open(served.port)
        for _ in range(2):
            await kept.send(get("/echo", "Connection: keep-alive", version="1.0"))
            answer = await kept.response()
            assert answer.headers["connection"] == "keep-alive" and answer.status == 200
        # HTTP/1.0 has no chunks: a body without length ends with the connection, kept alive or not.
        await kept.send(get("/stream", "Connection: keep-alive", version="1.0"))
        streamed = await kept.response()
        assert streamed.body == b"part 0;part 1;part 2;part 3;part 4;" and "transfer-encoding" not in streamed.headers
        await kept.close()
        await plain.close()


async def test_connection_close_is_honoured(probe: Probe) -> None:
    async with serving(probe) as served:
        client = await Client.open(served.port)
        await client.send(get("/echo", "Connection: close") + get("/echo"))
        answer = await client.response()
        assert answer.headers["connection"] == "close"
        assert await client.closed() == b"", "the request after Connection: close must not be answered"
        await client.close()
        assert probe.calls == 1


async def test_pipelined_requests_are_answered_in_order(probe: Probe) -> None:
    async with serving(probe) as served:
        client = await Client.open(served.port)
        # The first one waits for a release while the two behind it are already read.
        await client.send(get("/slow") + post("/echo/2", b"two") + get("/echo/3"))
        await eventually(lambda: probe.calls >= 1, "the first request reached the app")
        await asyncio.sleep(0.1)
        assert probe.calls == 1, "a pipelined request ran before the one ahead of it was answered"
        probe.release.set()
        paths = [(await client.response()).json()["path"] for _ in range(3)]
        assert paths == ["/slow", "/echo/2", "/echo/3"]
        await client.close()


# ----------------------------------------------------------------------------- request bodies


async def test_request_body_by_content_length_reaches_the_app_whole(probe: Probe) -> None:
    async with serving(probe) as served:
        client = await Client.open(served.port)
        body = bytes(range(256)) * 40
        await client.send(post("/echo", body))
        assert (await client.response()).json()["body"] == body.decode("latin-1")
        await client.close()


async def test_chunked_request_body_is_streamed_to_the_app_as_it_arrives(probe: Probe) -> None:
    async with serving(probe) as served:
        client = await Client.open(served.port)
        await client.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n")
        # The app has the first part before the rest is even sent: receive() streams, with more_body.
        await eventually(lambda: probe.received, "the first part reached the app")
        assert probe.received[0] == {"type": "http.request", "body": b"first", "more_body": True}
        await client.send(b"6\r\nsecond\r\n0\r\n\r\n")
        seen = (await client.response()).json()
        assert seen["body"] == "firstsecond" and seen["messages"] >= 2
        assert probe.received[-1]["more_body"] is False
        await client.close()


async def test_expect_100_continue_is_answered_when_the_app_reads_the_body(probe: Probe) -> None:
    async with serving(probe) as served:
        client = await Client.open(served.port)
        head = b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
        await client.send(head)
        interim = await client.response()
        assert interim.status == 100
        await client.send(b"hello")
        assert (await client.response()).json()["body"] == "hello"
        # An app that answers without reading: no 100, and the connection closes (the body may or may not come).
        await client.send(head.replace(b"/echo", b"/too-large"))
        answer = await client.response()
        assert answer.status == 413 and answer.headers["connection"] == "close"
        assert await client.closed() == b""
        await client.close()


# ----------------------------------------------------------------------------- responses


async def test_a_response_without_length_is_chunked(probe: Probe) -> None:
    async with serving(probe) as served:
        client = await Client.open(served.port)
        await client.send(get("/stream") + get("/echo"))
        streamed = await client.response()
        assert streamed.headers["transfer-encoding"] == "chunked" and streamed.chunks == 5
        assert streamed.body == b"part 0;part 1;part 2;part 3;part 4;"
        assert (await client.response()).status == 200, "the connection goes on after a chunked body"
        await client.close()


async def test_head_gets_the_headers_without_the_body(probe: Probe) -> None:
    async with serving(probe) as served:
        client = await Client.open(served.port)
        await client.send(b"HEAD /echo HTTP/1.1\r\nHost: t\r\n\r\n" + get("/echo/next"))
        head = await client.response(head_only=True)
        assert head.status == 200 and int(head.headers["content-length"]) > 0
        # Had body bytes followed the head, this would read them as a status line.
        assert (await client.response()).json()["path"] == "/echo/next"
        await client.close()


async def test_response_headers_with_cr_or_lf_are_refused(probe: Probe) -> None:
    async with serving(probe) as served:
        client = await Client.open(served.port)
        await client.send(get("/header?fine"))
        assert (await client.response()).headers["x-value"] == "fine"
        await client.send(get("/header?a%0D%0Aset-cookie:%20injected=1"))
        answer = await client.response()
        assert answer.status == 500 and "set-cookie" not in answer.headers
        await client.close()


async def test_sse_stream_ends_as_soon_as_its_client_goes() -> None:
    """Starlette's StreamingResponse, as the IM live feed uses it, waiting far longer than the test for its
    next event: only receive() giving http.disconnect can end it in time."""
    ended = asyncio.Event()

    async def events() -> AsyncIterator[bytes]:
        try:
            yield b"retry: 1000\n\n"
            await asyncio.sleep(3600)
            yield b"data: never\n\n"
        finally:
            ended.set()

    async def feed(request: Request) -> StreamingResponse:
        return StreamingResponse(events(), media_type="text/event-stream")

    async with serving(Starlette(routes=[Route("/events", feed)])) as served:
        client = await Client.open(served.port)
        await client.send(get("/events"))
        head = await client.reader.readuntil(b"\r\n\r\n")
        assert b"transfer-encoding: chunked" in head
        assert b"retry: 1000" in await client.reader.readuntil(b"\n\n")
        assert not ended.is_set()
        await client.close()
        await asyncio.wait_for(ended.wait(), 5)


async def test_send_after_a_disconnect_neither_raises_nor_writes(
    probe: Probe, caplog: pytest.LogCaptureFixture
) -> None:
    async with serving(probe) as served:
        client = await Client.open(served.port)
        await client.send(get("/after-disconnect"))
        await client.reader.readuntil(b"\r\n\r\n")
        await client.close()
        await asyncio.wait_for(probe.ended_event("/after-disconnect").wait(), 5)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], "the app saw an error for sending late"


# ----------------------------------------------------------------------------- errors and limits


async def test_app_failure_before_answering_is_a_500_and_after_closes_the_connection(probe: Probe) -> None:
    async with serving(probe) as served:
        client = await Client.open(served.port)
        await client.send(get("/boom"))
        answer = await client.response()
        assert (answer.status, answer.body, answer.headers["connection"]) == (500, b"Internal Server Error", "close")
        assert await client.closed() == b""

        later = await Client.open(served.port)
        await later.send(get("/boom-later"))
        await later.reader.readuntil(b"\r\n\r\n")
        rest = await later.closed()
        assert rest.startswith(b"4\r\nhalf\r\n") and not rest.endswith(b"0\r\n\r\n"), "a cut body must not look whole"
        await client.close()
        await later.close()


async def test_malformed_request_is_a_400_and_the_connection_closes(probe: Probe) -> None:
    async with serving(probe) as served:
        client = await Client.open(served.port)
        await client.send(get("/echo") + b"GET /x HTTP/1.1\r\nBad Header Line\r\n\r\n")
        assert (await client.response()).status == 200, "the good request ahead of it is answered first"
        refused = await client.response()
        assert refused.status == 400 and refused.headers["connection"] == "close"
        assert refused.body.startswith(b"malformed request")
        assert await client.closed() == b""
        await client.close()
        assert probe.calls == 1


async def test_a_body_broken_midway_ends_its_request_as_a_disconnect(probe: Probe) -> None:
    async with serving(probe) as served:
        client = await Client.open(served.port)
        await client.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n")
        await eventually(lambda: probe.received, "the first part reached the app")
        await client.send(b"not a chunk size\r\n")
        # No answer can follow: a 400 would land where the app's own answer to this request belongs.
        assert await client.closed() == b""
        await asyncio.wait_for(probe.ended_event("/echo").wait(), 5)
        assert probe.received[-1] == {"type": "http.disconnect"}
        await client.close()


async def test_a_head_over_the_limit_is_a_431_and_the_connection_closes(probe: Probe) -> None:
    async with serving(probe) as served:
        client = await Client.open(served.port)
        await client.send(b"GET /echo HTTP/1.1\r\nHost: t\r\n")
        filler = b"X-Filler: " + b"y" * 1000 + b"\r\n"
        with contextlib.suppress(ConnectionError):
            for _ in range(http_server.HEAD_LIMIT // len(filler) * 2):
                await client.send(filler)
        refused = await client.response()
        assert refused.status == 431 and refused.headers["connection"] == "close"
        assert await client.closed() == b""
        await client.close()
        # A head within the limit, on a fresh connection, is served.
        ok = await Client.open(served.port)
        await ok.send(get("/echo", *[f"X-Filler-{n}: {'y' * 1000}" for n in range(20)]))
        assert (await ok.response()).status == 200
        await ok.close()


async def test_upgrade_requests_are_refused_without_reaching_the_app(probe: Probe) -> None:
    async with serving(probe) as served:
        client = await Client.open(served.port)
        key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="
        await client.send(get("/echo", "Connection: Upgrade", "Upgrade: websocket", key, "Sec-WebSocket-Version: 13"))
        refused = await client.response()
        assert refused.status == 400 and b"WebSocket" in refused.body
        assert await client.closed() == b""
        await client.close()
        assert probe.calls == 0


# ----------------------------------------------------------------------------- timeouts


async def test_an_idle_keep_alive_connection_is_closed_while_a_busy_one_stays(probe: Probe) -> None:
    async with serving(probe, keepalive_s=0.6) as served:
        idle, busy = await Client.open(served.port), await Client.open(served.port)
        for client in (idle, busy):
            await client.send(get("/echo"))
            await client.response()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 2.0
        closed = asyncio.ensure_future(idle.closed())
        while loop.time() < deadline:
            await busy.send(get("/echo"))
            assert (await busy.response()).status == 200
            await asyncio.sleep(0.2)
        assert closed.done() and closed.result() == b"", "the idle connection outlived its keep-alive"
        await idle.close()
        await busy.close()


async def test_a_head_sent_too_slowly_is_cut_off(probe: Probe) -> None:
    async with serving(probe, keepalive_s=5.0, head_timeout_s=0.8) as served:
        slow = await Client.open(served.port)
        cut = asyncio.ensure_future(slow.closed())
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 2.5
        with contextlib.suppress(ConnectionError):
            while loop.time() < deadline and not cut.done():
                await slow.send(b"X-Slow: y\r\n" if loop.time() > deadline - 2.4 else b"GET /echo HTTP/1.1\r\n")
                await asyncio.sleep(0.1)
        assert cut.done() and cut.result() == b"", "a head trickling in byte by byte kept its connection"
        # The same head sent at once is answered on a connection opened as long ago.
        control = await Client.open(served.port)
        await control.send(get("/echo"))
        assert (await control.response()).status == 200
        await slow.close()
        await control.close()


# ----------------------------------------------------------------------------- flow control


async def test_a_client_that_does_not_read_holds_the_app_in_send(probe: Probe) -> None:
    async with serving(probe) as served:
        client = await Client.open(served.port, limit=2**16)
        # A small receive buffer, so the kernel holds little of what the server writes.
        client.writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        client.writer.transport.pause_reading()
        await client.send(get("/big"))
        await eventually(lambda: probe.sent_bytes > 0, "the app began to send")
        await asyncio.sleep(0.5)
        stalled = probe.sent_bytes
        await asyncio.sleep(0.5)
        total = 256 * 65536
        assert probe.sent_bytes == stalled < total // 2, "send() went on while nobody read"
        client.writer.transport.resume_reading()
        answer = await client.response()
        assert len(answer.body) == total and probe.sent_bytes == total
        await client.close()


# ----------------------------------------------------------------------------- shutdown


async def test_shutdown_closes_idle_connections_and_lets_running_requests_finish(probe: Probe) -> None:
    async with serving(probe, grace_s=5.0) as served:
        idle, running = await Client.open(served.port), await Client.open(served.port)
        await idle.send(get("/echo"))
        await idle.response()
        await running.send(get("/slow"))
        await eventually(lambda: probe.calls == 2, "the slow request reached the app")
        served.stop.set()
        assert await idle.closed() == b""
        await eventually(lambda: served.stopped, "on_stop was called")
        with pytest.raises(OSError):
            await Client.open(served.port)
        assert not served.task.done(), "the server stopped with a request running"
        probe.release.set()
        answer = await running.response()
        assert answer.status == 200 and answer.headers["connection"] == "close"
        await asyncio.wait_for(served.task, 5)
        await idle.close()
        await running.close()


async def test_shutdown_cancels_what_runs_past_the_grace(probe: Probe) -> None:
    async with serving(probe, grace_s=0.3) as served:
        client = await Client.open(served.port)
        await client.send(get("/forever"))
        await eventually(lambda: probe.calls == 1, "the request reached the app")
        served.stop.set()
        await asyncio.wait_for(served.task, 5)
        assert probe.ended_event("/forever").is_set(), "the app was not cancelled"
        assert await client.closed() == b""
        await client.close()


# ----------------------------------------------------------------------------- the fallback


async def test_without_httptools_uvicorn_serves_on_h11(
    probe: Probe, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(http_server, "httptools", None)
    caplog.set_level(logging.WARNING, logger=http_server.__name__)
    http_server._fallback_logged.cache_clear()
    for _ in range(2):
        async with serving(probe) as served:
            client = await Client.open(served.port)
            await client.send(post("/echo", b"over h11"))
            assert (await client.response()).json()["body"] == "over h11"
            await client.close()
    assert [r.message for r in caplog.records].count(
        "httptools is not installed: serving with uvicorn and its pure-Python h11 parser, a few times slower"
    ) == 1


# ----------------------------------------------------------------------------- any split of a pipelined stream


@st.composite
def pipelines(draw: st.DrawFn) -> tuple[bytes, list[dict[str, str]], list[int]]:
    """Requests written back to back, what each should be answered, and where the stream is cut."""
    stream, expected = b"", []
    for n in range(draw(st.integers(1, 6))):
        body = draw(st.binary(max_size=300)).replace(b"\x00", b"0")
        form = draw(st.sampled_from(["get", "length", "chunked"]))
        path = f"/echo/{n}"
        if form == "get":
            stream += get(path)
            body = b""
        elif form == "length":
            stream += post(path, body)
        else:
            cuts = sorted(draw(st.lists(st.integers(0, len(body)), max_size=3)))
            parts = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]
            stream += f"POST {path} HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n".encode() + chunked(parts)
        expected.append({"path": path, "body": body.decode("latin-1")})
    splits = sorted(set(draw(st.lists(st.integers(1, max(1, len(stream) - 1)), max_size=12))))
    return stream, expected, splits


@settings(max_examples=40, deadline=None)
@given(pipelines())
def test_any_split_of_pipelined_requests_gives_the_same_answers_in_order(
    case: tuple[bytes, list[dict[str, str]], list[int]],
) -> None:
    stream, expected, splits = case

    async def run() -> list[dict[str, str]]:
        async with serving(Probe()) as served:
            client = await Client.open(served.port)
            for a, b in zip([0, *splits], [*splits, len(stream)], strict=True):
                await client.send(stream[a:b])
                await asyncio.sleep(0.001)  # so the server reads the pieces apart
            answers = []
            for _ in expected:
                seen = (await client.response()).json()
                answers.append({"path": seen["path"], "body": seen["body"]})
            await client.close()
            return answers

    assert asyncio.run(run()) == expected
