"""api_routes: every IM list route's first page under 32 connections, beside two raw limits on the same bytes.

For each route the API's answer is fetched once; then three servers answer that same request with those
same bytes, measured in turn by the same load generator: the API itself; `raw_asgi`, a bare Starlette
route on the API's server stack (hiscrm/api/http_server.py's `serve`: httptools on uvloop) returning the
bytes; and `raw_http`, a bare uvloop protocol returning them under the very head raw_asgi's route
answers (content-length, content-type), so both do the same HTTP work and write the same bytes for each
keep-alive GET. `vs_raw_asgi` is what the route's own work (auth, query decoding, the read, the
envelope) leaves of what the stack can do; `raw_asgi_vs_raw_http` is what the stack leaves of what a
socket can do. The load comes from `wrk -t1 -c32` when wrk is installed (`make bench` installs it), else
from the bench's own client (hiscrm/bench/http_client.py), which is itself slower than the raw servers.

The dataset is the one the predecessor was compared on: one account with 200 conversations of 10
DMs each, 50 works with 40 comments each (a third of them replies), and 200 notifications.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import shutil
import signal
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hiscrm.api import http_server
from hiscrm.api.server import run_fast
from hiscrm.bench.api_page import project
from hiscrm.bench.http_client import KeepAlive
from hiscrm.bench.stack import Stack, own_broker, running
from hiscrm.facts import catalogue as c
from hiscrm.lifeline import command_for as lifeline_command
from hiscrm.procs import bind
from hiscrm.projector.live import LiveModels
from hiscrm.store.broker import free_port
from hiscrm.store.connection import HiscrmClient
from hiscrm.store.event_store import EventStore
from projections import MODELS

ACCOUNT = "bench-routes"
CONVERSATIONS, DMS_EACH = 200, 10
WORKS, COMMENTS_EACH = 50, 40
NOTIFICATIONS = 200
CONNECTIONS = 32

ROUTES = {
    "conversations": f"/api/im/conversations?account_id={ACCOUNT}",
    "messages": f"/api/im/messages/conversations/cv0/messages?account_id={ACCOUNT}",
    "discussions": f"/api/im/discussions?account_id={ACCOUNT}&content_id=w0",
    "contents": f"/api/im/contents?account_id={ACCOUNT}",
    "accounts": "/api/im/accounts",
    "unified": f"/api/im/unified-messages?account_id={ACCOUNT}",
    "notifications": f"/api/im/notifications?account_id={ACCOUNT}",
}


def dataset() -> list[c.Fact]:
    base = 1_760_000_000_000
    me = c.Person(user_id="shop", name="Shop")
    facts: list[c.Fact] = [c.AccountCreated(account_id=ACCOUNT, platform="douyin", account_name="Bench routes")]
    for w in range(WORKS):
        facts.append(
            c.ContentObserved(
                account_id=ACCOUNT, content_id=f"w{w}", title=f"Work {w}", publish_time_ms=base + w * 60_000,
                stats=c.ContentStats(comments=COMMENTS_EACH, likes=w * 10),
            )
        )  # fmt: skip
    for n in range(WORKS * COMMENTS_EACH):
        fan = c.Person(user_id=f"fan{n % 300}", name=f"Fan {n % 300}", avatar=f"https://img.test/{n % 300}.png")
        facts.append(
            c.CommentObserved(
                account_id=ACCOUNT, comment_id=f"c{n}", content_id=f"w{n % WORKS}", text=f"comment {n}",
                author=fan, create_time_ms=base + n * 1000, content_title=f"Work {n % WORKS}",
                parent_comment_id=f"c{n - WORKS}" if n % 3 == 2 and n >= WORKS else None,
            )
        )  # fmt: skip
    for n in range(CONVERSATIONS * DMS_EACH):
        peer = c.Person(user_id=f"peer{n % CONVERSATIONS}", name=f"Peer {n % CONVERSATIONS}")
        inbound = n % 4 != 3
        facts.append(
            c.MessageObserved(
                account_id=ACCOUNT, message_id=f"m{n}", conversation_id=f"cv{n % CONVERSATIONS}",
                sender=peer if inbound else me, receiver=me if inbound else peer,
                direction="inbound" if inbound else "outbound", content=f"message {n}", create_time_ms=base + n * 1000,
            )
        )  # fmt: skip
    for n in range(NOTIFICATIONS):
        facts.append(
            c.NotificationObserved(
                account_id=ACCOUNT, notification_id=f"n{n}", notice_type=n % 3 + 1, create_time_ms=base + n * 1000,
                text=f"notice {n}", user=c.Person(user_id=f"fan{n}", name=f"Fan {n}"), content_id=f"w{n % WORKS}",
            )
        )  # fmt: skip
    return facts


# ----------------------------------------------------------------------------- load


def _seconds_of(value: str, unit: str) -> float:
    return float(value) * {"us": 1e-6, "ms": 1e-3, "s": 1.0}[unit]


def parse_wrk(out: str) -> dict[str, float]:
    """req/s and p99 from `wrk --latency`; a non-2xx answer makes the whole figure worthless."""
    if "Non-2xx" in out:
        raise RuntimeError(f"wrk saw error answers:\n{out}")
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p99 = re.search(r"^\s*99%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    if rate is None or p99 is None:
        raise RuntimeError(f"cannot read wrk's output:\n{out}")
    return {"req_per_s": float(rate.group(1)), "p99_ms": _seconds_of(p99.group(1), p99.group(2)) * 1000}


async def _run(*command: str) -> str:
    proc = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"{command[0]} failed ({proc.returncode}) on {command[-1]}")
    return out.decode()


async def load(url: str, path: str, token: str, seconds: float) -> dict[str, float]:
    wrk = shutil.which("wrk")
    if wrk is not None:
        out = await _run(
            wrk, "-t1", f"-c{CONNECTIONS}", f"-d{seconds:g}s", "--latency",
            "-H", f"Authorization: Bearer {token}", url + path,
        )  # fmt: skip
        return parse_wrk(out)
    out = await _run(sys.executable, "-m", "hiscrm.bench.http_client", url, path, token, str(seconds), str(CONNECTIONS))
    return json.loads(out)  # type: ignore[no-any-return]


# ----------------------------------------------------------------------------- the raw limits


class _Answer(asyncio.Protocol):
    """Answers each GET with the bytes its path maps to; nothing else of HTTP."""

    def __init__(self, responses: dict[bytes, bytes]) -> None:
        self.responses = responses
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head, self.buffer = self.buffer[:end], self.buffer[end + 4 :]
            path = head[head.find(b" ") + 1 : head.find(b" HTTP/")]
            assert self.transport is not None
            self.transport.write(self.responses.get(path, b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n"))


def _page_response(body: bytes) -> Response:
    """What raw_asgi's route answers; raw_http writes the same head, so both do the same HTTP work."""
    return Response(body, media_type="application/json")


async def serve_raw_http(port: int, pages: dict[str, bytes]) -> None:
    responses = {}
    for path, body in pages.items():
        headers = b"".join(name + b": " + value + b"\r\n" for name, value in _page_response(body).raw_headers)
        responses[path.encode()] = b"HTTP/1.1 200 OK\r\n" + headers + b"\r\n" + body
    server = await asyncio.get_running_loop().create_server(lambda: _Answer(responses), "127.0.0.1", port)
    await server.serve_forever()


async def serve_raw_asgi(port: int, pages: dict[str, bytes]) -> None:
    def answer(body: bytes) -> Any:
        async def endpoint(request: Request) -> Response:
            return _page_response(body)

        return endpoint

    app = Starlette(routes=[Route(path.partition("?")[0], answer(body)) for path, body in pages.items()])
    # The very server function the API runs on (hiscrm/api/server.py), so the stack is the same.
    with contextlib.closing(bind("127.0.0.1", port, "raw_asgi", "port")) as sock:
        await http_server.serve(app, sock, asyncio.Event())


@contextlib.asynccontextmanager
async def _raw_server(kind: str, pages_file: Path, token: str) -> AsyncIterator[str]:
    port = free_port()
    # Through the lifeline: a bench killed before its `finally` must not leave the server on the port.
    proc = await asyncio.create_subprocess_exec(
        *lifeline_command([sys.executable, "-m", "hiscrm.bench.api_routes", kind, str(port), str(pages_file)])
    )
    url = f"http://127.0.0.1:{port}"
    try:
        # Up to 60 s: on a loaded machine (load average 28) the interpreter's start took 11 s.
        for _ in range(1200):
            with contextlib.suppress(OSError):
                client = await KeepAlive.open(url, token)
                await client.close()
                break
            await asyncio.sleep(0.05)
        else:
            raise RuntimeError(f"the {kind} server did not start")
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGKILL)
        await proc.wait()


# ----------------------------------------------------------------------------- the measurement


async def _pages(stack: Stack) -> dict[str, tuple[str, bytes]]:
    """Each route's first page as the API answers it."""
    client = await KeepAlive.open(stack.url, stack.im_token)
    try:
        found: dict[str, tuple[str, bytes]] = {}
        for name, path in ROUTES.items():
            status, body = await client.send(client.request(path))
            if status != 200:
                raise RuntimeError(f"GET {path} answered {status}: {body[:200]!r}")
            found[name] = (path, body)
        return found
    finally:
        await client.close()


async def measure(data_dir: Path, quick: bool) -> dict[str, Any]:
    """On a broker of its own: the suite's earlier stages leave hundreds of thousands of facts in theirs,
    which the fresh projector of this stage would have to replay before its first page."""
    async with own_broker(data_dir, "hiscrm-bench-routes") as (nc, url):
        return await _measure(nc, url, data_dir / "stack", quick)


async def _measure(nc: HiscrmClient, nats_url: str, data_dir: Path, quick: bool) -> dict[str, Any]:
    seconds, rounds = (2.0, 1) if quick else (3.0, 3)
    async with running(data_dir, nats_url, free_port()) as stack:
        models = LiveModels(data_dir / "read-models", MODELS)
        try:
            await project(EventStore(nc), models, dataset())
        finally:
            models.close()
        pages = await _pages(stack)
        pages_file = data_dir / "api-routes-pages.json"
        pages_file.write_bytes(msgspec.json.encode({path: body for path, body in pages.values()}))
        best: dict[tuple[str, str], dict[str, float]] = {}
        async with (
            _raw_server("raw-asgi", pages_file, stack.im_token) as raw_asgi,
            _raw_server("raw-http", pages_file, stack.im_token) as raw_http,
        ):
            servers = {"route": stack.url, "raw_asgi": raw_asgi, "raw_http": raw_http}
            # Rounds alternate the three servers route by route; each keeps its best round.
            for _ in range(rounds):
                for name, (path, _) in pages.items():
                    for server, url in servers.items():
                        figure = await load(url, path, stack.im_token, seconds)
                        if figure["req_per_s"] > best.get((name, server), {"req_per_s": -1.0})["req_per_s"]:
                            best[name, server] = figure
    result: dict[str, Any] = {
        "load": f"wrk -t1 -c{CONNECTIONS}" if shutil.which("wrk") else f"http_client -c{CONNECTIONS}"
    }
    for name, (_, body) in pages.items():
        route, asgi, http = best[name, "route"], best[name, "raw_asgi"], best[name, "raw_http"]
        result[name] = {
            "bytes": len(body),
            "req_per_s": round(route["req_per_s"]),
            "p99_ms": round(route["p99_ms"], 2),
            "raw_asgi_req_per_s": round(asgi["req_per_s"]),
            "raw_http_req_per_s": round(http["req_per_s"]),
            "vs_raw_asgi": round(route["req_per_s"] / asgi["req_per_s"], 3),
            "raw_asgi_vs_raw_http": round(asgi["req_per_s"] / http["req_per_s"], 3),
        }
    return result


async def _alone(quick: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="hiscrm-bench-routes-") as tmp:
        return await measure(Path(tmp), quick)


if __name__ == "__main__":
    if sys.argv[1:2] in (["raw-asgi"], ["raw-http"]):
        # python -m hiscrm.bench.api_routes raw-asgi|raw-http PORT PAGES_FILE: serve until killed.
        kind, port_arg, pages_arg = sys.argv[1:4]
        served = msgspec.json.decode(Path(pages_arg).read_bytes(), type=dict[str, bytes])
        run_fast((serve_raw_asgi if kind == "raw-asgi" else serve_raw_http)(int(port_arg), served))
    else:
        # python -m hiscrm.bench.api_routes [--quick]: this stage of `hiscrm bench` alone, as JSON.
        print(json.dumps(asyncio.run(_alone("--quick" in sys.argv[1:]))))
