"""The API's HTTP/1.1 server: ASGI 3 apps on the running loop, one asyncio.Protocol per connection,
requests parsed by httptools (llhttp, in C), serving a socket bound beforehand.

Why our own: on one 8 KB page under `wrk -t1 -c32`, a bare Starlette route answered ~8k req/s on
uvicorn (httptools, uvloop) and ~11.5k here, where a bare uvloop protocol answered ~80k; fed the same
requests in-process, uvicorn's protocol runs ~45% more instructions per request than this one
(callgrind), spent on generality the API does not use (proxy headers, a keep-alive timer per
request, state copies, logging hooks). This server does
only what HTTP/1.1 and ASGI require of it: keep-alive, pipelining in order, streamed request and
response bodies (chunked when the app gives no length), flow control both ways, HEAD, Expect:
100-continue, limits and timeouts against slow or oversized heads, graceful shutdown. It upgrades
nothing (no WebSocket: the API has no such route) and writes no Date or Server header.

Where httptools is not installed, `serve` runs uvicorn with its pure-Python h11 parser instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import http
import logging
import socket
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import unquote

import uvicorn
from starlette.types import ASGIApp, Message

try:
    import httptools
except ImportError:  # pragma: no cover - platforms without the httptools wheel
    httptools = None

log = logging.getLogger(__name__)

HEAD_LIMIT = 64 * 1024  # request line and headers
BODY_BUFFER = 64 * 1024  # request body held for the app before reading pauses
KEEPALIVE_S = 5.0  # an idle connection between requests
HEAD_TIMEOUT_S = 10.0  # from a request's first byte to the end of its head (slowloris)
GRACE_S = 5.0  # in-flight requests at shutdown, before they are cancelled

# 2.3: sending on a closed connection is a no-op, and the app learns of a disconnect from receive()
# (Starlette's StreamingResponse then listens for it, so an idle SSE feed ends as soon as its client goes).
_ASGI = {"version": "3.0", "spec_version": "2.3"}
_STATUS_LINES = {s.value: b"HTTP/1.1 %d %s\r\n" % (s.value, s.phrase.encode()) for s in http.HTTPStatus}
_METHODS = {m.encode(): m for m in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")}
# Response headers the server reads or replaces. ASGI apps send names in lower case; the title case
# is there for those that do not, without lowering every name of every response.
_FRAMING = {
    b"content-length",
    b"connection",
    b"transfer-encoding",
    b"Content-Length",
    b"Connection",
    b"Transfer-Encoding",
}
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_INTERNAL_ERROR = (
    b"HTTP/1.1 500 Internal Server Error\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"content-length: 21\r\nconnection: close\r\n\r\nInternal Server Error"
)


def _plain(status: int, message: str) -> bytes:
    """A whole response that closes the connection, for what the server answers itself."""
    body = message.encode()
    return _status_line(status) + (
        b"content-type: text/plain; charset=utf-8\r\ncontent-length: %d\r\nconnection: close\r\n\r\n%s"
        % (len(body), body)
    )


def _status_line(status: int) -> bytes:
    return _STATUS_LINES.get(status) or b"HTTP/1.1 %d \r\n" % status


class _Exchange:
    """One request and its response: what the app's receive() and send() work on."""

    __slots__ = (
        "bodyless", "buffered", "chunked", "complete", "conn", "delivered", "disconnected", "expect_continue",
        "finished", "head", "head_only", "http10", "keep_alive", "parts", "remaining", "scope", "started", "task",
        "waiter",
    )  # fmt: skip

    def __init__(
        self,
        conn: _Connection,
        scope: dict[str, Any],
        keep_alive: bool,
        expect_continue: bool,
        http10: bool,
        head_only: bool,
    ) -> None:
        self.conn = conn
        self.scope = scope
        self.keep_alive = keep_alive
        self.expect_continue = expect_continue
        self.http10 = http10
        self.head_only = head_only
        self.parts: list[bytes] = []  # request body received, not yet given to the app
        self.buffered = 0
        self.complete = False  # the whole request body has arrived
        self.delivered = False  # ... and the app has had all of it
        self.waiter: asyncio.Future[None] | None = None
        self.task: asyncio.Task[None] | None = None
        self.disconnected = False
        self.started = False
        self.finished = False
        self.head = b""  # the response head, held back to go out with the first body bytes
        self.chunked = False
        self.bodyless = False
        self.remaining = -1  # bytes the content-length still promises; -1 without one

    async def run(self) -> None:
        server = self.conn.server
        try:
            await server.app(self.scope, self.receive, self.send)
        except asyncio.CancelledError:
            # Only a shutdown past its grace cancels an exchange; its connection goes with it.
            self.conn.transport.close()
            return
        except Exception:
            log.exception("%s %s failed", self.scope["method"], self.scope["path"])
            self._failed()
            return
        finally:
            server.running.discard(self)
        if not self.finished and not self.disconnected:
            log.error("%s %s: the app returned before its response ended", self.scope["method"], self.scope["path"])
            self._failed()

    def _failed(self) -> None:
        if self.finished or self.disconnected:
            return  # the answer went out whole (an error raised after answering, as Starlette does)
        if not self.started:
            self.conn.end(_INTERNAL_ERROR)
        else:
            # A response cut short cannot be framed any more: closing is the only end the client can read.
            self.conn.transport.close()

    def wake(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    def disconnect(self) -> None:
        self.disconnected = True
        self.wake()

    async def receive(self) -> Message:
        if self.expect_continue:
            self.expect_continue = False
            if not self.started and not self.complete:
                self.conn.transport.write(_CONTINUE)
        while True:
            if self.disconnected:
                return {"type": "http.disconnect"}
            if self.parts or (self.complete and not self.delivered):
                return self._take()
            if self.delivered and self.finished:
                # The request is over: nothing but its end is left to tell.
                return {"type": "http.disconnect"}
            self.waiter = self.conn.server.loop.create_future()
            try:
                await self.waiter
            finally:
                self.waiter = None

    def _take(self) -> Message:
        parts = self.parts
        body = parts[0] if len(parts) == 1 else b"".join(parts)
        self.parts = []
        piled = self.buffered > BODY_BUFFER
        self.buffered = 0
        if piled:
            self.conn.update_reading()
        more = not self.complete
        self.delivered = not more
        return {"type": "http.request", "body": body, "more_body": more}

    async def send(self, message: Message) -> None:
        conn = self.conn
        if conn.write_paused and not self.disconnected:
            await conn.drain()
        if self.disconnected:
            return
        kind = message["type"]
        if not self.started:
            if kind != "http.response.start":
                raise RuntimeError(f"expected http.response.start, got {kind}")
            self._start(message)
        elif self.finished:
            raise RuntimeError(f"{kind} after the response ended")
        elif kind != "http.response.body":
            raise RuntimeError(f"expected http.response.body, got {kind}")
        else:
            self._body(message.get("body", b""), message.get("more_body", False))

    def _start(self, message: Message) -> None:
        status = message["status"]
        head = [_STATUS_LINES.get(status) or _status_line(status)]
        length = -1
        for name, value in message.get("headers", ()):
            if name == b"content-length":
                length = int(value)
            elif name in _FRAMING:
                lower = name.lower()
                if lower == b"content-length":
                    length = int(value)
                elif lower == b"connection":
                    # Ours is written below, from keep_alive; the app may only ask to close.
                    if b"close" in value.lower():
                        self.keep_alive = False
                    continue
                else:
                    continue  # transfer-encoding: the framing is the server's (chunked when there is no length)
            head.append(name + b": " + value + b"\r\n")
        self.bodyless = self.head_only or status < 200 or status in (204, 304)
        if length >= 0:
            self.remaining = length
        elif self.bodyless:
            pass
        elif self.http10:
            self.keep_alive = False  # HTTP/1.0 has no chunks: the body ends where the connection does
        else:
            self.chunked = True
            head.append(b"transfer-encoding: chunked\r\n")
        if self.expect_continue and not self.complete:
            # Answered without asking for the body: the client may send it or not, so nothing after it can be read.
            self.keep_alive = False
        self.expect_continue = False
        if self.conn.server.stopping:
            self.keep_alive = False
        if not self.keep_alive:
            head.append(b"connection: close\r\n")
        elif self.http10:
            head.append(b"connection: keep-alive\r\n")
        head.append(b"\r\n")
        joined = b"".join(head)
        # One line per item joined, or a name or value carried a line break into the head (response splitting).
        if joined.count(b"\n") != len(head) or joined.count(b"\r") != len(head):
            raise RuntimeError("a response header name or value holds CR or LF")
        self.started = True
        if self.chunked:
            # A stream (the SSE feed) may wait long for its first bytes: the client should see its head now.
            self.conn.transport.write(joined)
        else:
            self.head = joined

    def _body(self, body: bytes, more: bool) -> None:
        if self.bodyless:
            data = b""
        elif self.chunked:
            data = b"%x\r\n%b\r\n" % (len(body), body) if body else b""
            if not more:
                data += b"0\r\n\r\n"
        else:
            data = body
            if self.remaining >= 0:
                self.remaining -= len(body)
                if self.remaining < 0:
                    raise RuntimeError("response body longer than its content-length")
        if self.head:
            data = self.head + data
            self.head = b""
        if data:
            self.conn.transport.write(data)
        if more:
            return
        if self.remaining > 0 and not self.bodyless:
            raise RuntimeError("response body shorter than its content-length")
        self.finished = True
        self.wake()
        self.conn.done(self)


class _Connection(asyncio.Protocol):
    """One client connection: parses its requests and runs them one after the other, in order."""

    __slots__ = (
        "client", "connection", "current", "drained", "expect", "head_bytes", "headers", "in_head", "local", "parser",
        "parsing", "queue", "read_paused", "refused", "server", "ticks", "transport", "url", "write_paused",
    )  # fmt: skip

    def __init__(self, server: _Server) -> None:
        self.server = server
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport = None  # type: ignore[assignment]
        self.client: tuple[str, int] | None = None
        self.local: tuple[str, int] | None = None
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.expect = False
        self.connection = False  # the request has a Connection header
        self.in_head = False
        self.head_bytes = 0
        self.ticks = 0  # timer ticks the client has kept us waiting
        self.parsing: _Exchange | None = None  # whose request body is arriving
        self.current: _Exchange | None = None  # whose response is being made
        # Pipelined exchanges waiting for the current one, or the bytes of a final refusal.
        self.queue: deque[_Exchange | bytes] = deque()
        self.refused = False  # nothing more is read: the stream cannot be parsed, or the server stops
        self.read_paused = False
        self.write_paused = False
        self.drained: asyncio.Future[None] | None = None

    # ---------------------------------------------------------------- transport events

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername")
        local = transport.get_extra_info("sockname")
        self.client = (peer[0], peer[1]) if isinstance(peer, tuple) else None
        self.local = (local[0], local[1]) if isinstance(local, tuple) else None
        if self.server.stopping:
            transport.close()  # accepted just as the listener closed
            return
        self.server.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.connections.discard(self)
        self.refused = True
        for exchange in (self.current, self.parsing, *self.queue):
            if isinstance(exchange, _Exchange):
                exchange.disconnect()
        self.queue.clear()
        self.resume_writing()

    def pause_writing(self) -> None:
        self.write_paused = True

    def resume_writing(self) -> None:
        self.write_paused = False
        if self.drained is not None and not self.drained.done():
            self.drained.set_result(None)

    async def drain(self) -> None:
        """Until the client has read enough of what was written: a client that reads nothing holds the app here."""
        if self.drained is None or self.drained.done():
            self.drained = self.server.loop.create_future()
        await self.drained

    def data_received(self, data: bytes) -> None:
        if self.refused:
            return
        self.head_bytes += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            pass  # refused when its head was complete
        except httptools.HttpParserCallbackError:
            log.exception("parsing a request from %s failed in the server", self.client)
            self.refuse(500, "the server failed reading this request")
            return
        except httptools.HttpParserError as exc:
            self.refuse(400, f"malformed request: {exc}")
            return
        # Counted per read from the first read a head is open in (so at most one read more than the limit):
        # llhttp keeps an unfinished header in memory, and only the whole header is handed to us.
        if self.in_head and self.head_bytes > HEAD_LIMIT:
            self.refuse(431, f"request head larger than {HEAD_LIMIT // 1024} KiB")

    # ---------------------------------------------------------------- parser callbacks

    def on_message_begin(self) -> None:
        self.url = b""
        self.headers = []
        self.expect = False
        self.connection = False
        self.in_head = True
        self.ticks = 0

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        name = name.lower()
        value = value.rstrip(b" \t")  # llhttp keeps trailing whitespace, which is not part of the value
        if name == b"expect" and value.lower() == b"100-continue":
            self.expect = True
        elif name == b"connection":
            self.connection = True
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.in_head = False
        self.head_bytes = 0
        if self.refused:
            return  # a request parsed after one that was refused, in the same read
        parser = self.parser
        if parser.should_upgrade():
            # llhttp hands what follows the head to the new protocol, so the request cannot be answered as HTTP.
            self.refuse(400, "this server upgrades no connection (no WebSocket, no h2c): use plain HTTP/1.1")
            return
        url = self.url
        if url[:1] == b"/":
            raw_path, _, query = url.partition(b"?")
        else:
            try:
                parsed = httptools.parse_url(url)
            except httptools.HttpParserInvalidURLError:
                self.refuse(400, f"malformed request target {url[:100]!r}")
                return
            raw_path, query = parsed.path or b"/", parsed.query or b""
        path = raw_path.decode("utf-8", "replace")
        if "%" in path:
            path = unquote(path)
        method = parser.get_method()
        keep_alive = parser.should_keep_alive()
        # llhttp parses HTTP 0.9, 1.0, 1.1 and 2.0 and, without a Connection header, keeps only 1.1 alive: the
        # version is then known without asking the parser for it, which formats a new string each time.
        version = "1.1" if keep_alive and not self.connection else parser.get_http_version()
        scope = {
            "type": "http",
            "asgi": _ASGI,
            "http_version": version,
            "method": _METHODS.get(method) or method.decode("ascii", "replace"),
            "scheme": "http",
            "path": path,
            "raw_path": raw_path,
            "query_string": query,
            "root_path": "",
            "headers": self.headers,
            "client": self.client,
            "server": self.local,
        }
        exchange = _Exchange(
            self, scope, keep_alive and not self.server.stopping, self.expect, version == "1.0", method == b"HEAD"
        )
        self.parsing = exchange
        if self.current is None and not self.queue:
            self.run(exchange)
        else:
            self.queue.append(exchange)
            self.update_reading()

    def on_body(self, body: bytes) -> None:
        exchange = self.parsing
        if exchange is None or exchange.finished:
            return  # the app answered without reading it all: the rest is read past
        exchange.parts.append(body)
        exchange.buffered += len(body)
        if exchange.buffered > BODY_BUFFER:
            self.update_reading()
        exchange.wake()

    def on_message_complete(self) -> None:
        self.head_bytes = 0
        exchange = self.parsing
        if exchange is not None:
            self.parsing = None
            exchange.complete = True
            exchange.wake()

    # ---------------------------------------------------------------- exchanges

    def run(self, exchange: _Exchange) -> None:
        self.current = exchange
        exchange.task = self.server.loop.create_task(exchange.run())
        self.server.running.add(exchange)

    def done(self, exchange: _Exchange) -> None:
        """The response to `exchange` has ended: on to the next request, or closing."""
        self.current = None
        if not exchange.keep_alive:
            self.end()
            return
        if self.queue:
            following = self.queue.popleft()
            if isinstance(following, bytes):
                self.end(following)
                return
            self.run(following)
        self.ticks = 0
        if self.read_paused:  # only a queue or a piled body pause reading, and either may be gone now
            self.update_reading()

    def refuse(self, status: int, message: str) -> None:
        """Answer `status` after whatever is ahead of it, then close: the stream cannot be read on."""
        if self.refused:
            return
        self.refused = True
        broken, self.parsing = self.parsing, None
        log.debug("refused %s: %s", self.client, message)
        if broken is not None:
            # The stream broke inside this request's body: it can have no answer, and its app hears the client go.
            broken.disconnect()
            if broken is self.current:
                self.transport.close()  # a 400 cannot go in the middle of the answer the app is making
                return
            if self.queue and self.queue[-1] is broken:
                self.queue.pop()
        answer = _plain(status, message)
        if self.current is None and not self.queue:
            self.end(answer)
        else:
            self.queue.append(answer)
            self.update_reading()

    def end(self, answer: bytes = b"") -> None:
        """Write `answer` and end the connection with a FIN, reading on (and dropping what comes) until the client
        closes too or a timeout does: closing with its bytes unread would reset the connection, and a reset can
        destroy the answer before the client has read it."""
        self.refused = True
        self.queue.clear()
        transport = self.transport
        if transport.is_closing():
            return
        if answer:
            transport.write(answer)
        transport.write_eof()
        self.ticks = 0
        self.update_reading()

    def update_reading(self) -> None:
        """Reading stops while requests wait in line or a body piles up unread, so a client cannot fill memory."""
        parsing = self.parsing
        pause = bool(self.queue) or (parsing is not None and parsing.buffered > BODY_BUFFER)
        if pause != self.read_paused and not self.transport.is_closing():
            self.read_paused = pause
            if pause:
                self.transport.pause_reading()
            else:
                self.transport.resume_reading()

    def tick(self) -> None:
        """One timer tick: close a connection whose client has kept it idle, or its head open, too long."""
        if self.current is not None or self.queue:
            return  # the app's time, not the client's
        self.ticks += 1
        if self.ticks > (self.server.head_ticks if self.in_head else self.server.keepalive_ticks):
            self.transport.close()

    def shutdown(self) -> None:
        """The server stops: an idle connection closes now, a busy one after its current response."""
        if self.current is None:
            self.transport.close()
            return
        self.current.keep_alive = False
        self.queue.clear()


class _Server:
    """What every connection of one listening socket shares."""

    def __init__(self, app: ASGIApp, keepalive_s: float, head_timeout_s: float) -> None:
        self.app = app
        self.loop = asyncio.get_running_loop()
        self.connections: set[_Connection] = set()
        self.running: set[_Exchange] = set()  # whose app has not returned (it may go on after answering)
        self.stopping = False
        # One timer for all connections instead of one per request: a timeout is then exact to a fifth.
        self.tick_s = min(keepalive_s, head_timeout_s) / 5
        self.keepalive_ticks = round(keepalive_s / self.tick_s)
        self.head_ticks = round(head_timeout_s / self.tick_s)

    async def ticking(self) -> None:
        while True:
            await asyncio.sleep(self.tick_s)
            for conn in list(self.connections):
                conn.tick()

    async def shutdown(self, grace_s: float) -> None:
        self.stopping = True
        for conn in list(self.connections):
            conn.shutdown()
        tasks = {exchange.task for exchange in self.running if exchange.task is not None}
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=grace_s)
            if late:
                log.warning(
                    "cancelling %d requests still running %.0f s after the server began to stop", len(late), grace_s
                )
                for task in late:
                    task.cancel()
                await asyncio.wait(late, timeout=grace_s)  # one that ignores its cancellation is left behind
        for conn in list(self.connections):
            conn.transport.close()


async def serve(
    app: ASGIApp,
    sock: socket.socket,
    stop: asyncio.Event,
    on_stop: Callable[[], None] | None = None,
    *,
    grace_s: float = GRACE_S,
    keepalive_s: float = KEEPALIVE_S,
    head_timeout_s: float = HEAD_TIMEOUT_S,
) -> None:
    """Serve `app` on `sock` (bound beforehand) until `stop` is set. Then stop accepting, close idle
    connections, call `on_stop` (so endless responses can end), let running requests finish within
    `grace_s` and cancel what is left."""
    if httptools is None:  # pragma: no cover - exercised by its own test with httptools hidden
        await _serve_on_uvicorn(app, sock, stop, on_stop, grace_s)
        return
    server = _Server(app, keepalive_s, head_timeout_s)
    listener = await server.loop.create_server(lambda: _Connection(server), sock=sock, backlog=2048)
    ticking = asyncio.create_task(server.ticking())
    try:
        await stop.wait()
    finally:
        listener.close()
        if on_stop is not None:
            on_stop()
        await server.shutdown(grace_s)
        ticking.cancel()


@functools.cache
def _fallback_logged() -> None:
    log.warning("httptools is not installed: serving with uvicorn and its pure-Python h11 parser, a few times slower")


class _Uvicorn(uvicorn.Server):
    # Signals belong to the command that runs us (it sets `stop`); uvicorn's own would re-raise them.
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def _serve_on_uvicorn(
    app: ASGIApp, sock: socket.socket, stop: asyncio.Event, on_stop: Callable[[], None] | None, grace_s: float
) -> None:
    _fallback_logged()
    config = uvicorn.Config(
        app, http="h11", log_level="warning", lifespan="off", access_log=False, timeout_graceful_shutdown=grace_s
    )
    server = _Uvicorn(config)
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
    if serving.done():
        with contextlib.suppress(SystemExit):
            serving.result()
        raise RuntimeError("uvicorn stopped on its own")
    if on_stop is not None:
        on_stop()
    server.should_exit = True
    await serving
