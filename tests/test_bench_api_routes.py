"""The api_routes bench's own parts: reading wrk's report, and the two raw servers it compares with."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from hiscrm.bench.api_routes import parse_wrk, serve_raw_asgi, serve_raw_http
from hiscrm.store.broker import free_port

WRK = """Running 3s test @ http://127.0.0.1:5000/api/im/contents?account_id=a
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     7.41ms    2.10ms  31.20ms   80.00%
    Req/Sec     4.32k   310.00     4.80k    70.00%
  Latency Distribution
     50%    7.02ms
     75%    8.10ms
     90%    9.50ms
     99%   {p99}
  12960 requests in 3.00s, 110.00MB read
Requests/sec:   4318.52
Transfer/sec:     36.65MB
"""


@pytest.mark.parametrize(("p99", "ms"), [("850.00us", 0.85), ("14.20ms", 14.2), ("1.02s", 1020.0)])
def test_wrk_figures_are_read_in_any_unit(p99: str, ms: float) -> None:
    figures = parse_wrk(WRK.format(p99=p99))
    assert figures["req_per_s"] == 4318.52
    assert figures["p99_ms"] == pytest.approx(ms)


def test_error_answers_make_the_figure_fail() -> None:
    with pytest.raises(RuntimeError, match="error answers"):
        parse_wrk(WRK.format(p99="9.00ms") + "  Non-2xx or 3xx responses: 12960\n")


async def _connect(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A connection to a server task just started: it listens within a few event-loop turns."""
    for _ in range(99):
        with contextlib.suppress(OSError):
            return await asyncio.open_connection("127.0.0.1", port)
        await asyncio.sleep(0.02)
    return await asyncio.open_connection("127.0.0.1", port)


async def test_the_bare_server_answers_pipelined_requests_on_one_connection() -> None:
    port = free_port()
    server = asyncio.create_task(serve_raw_http(port, {"/a?x=1": b'{"a":1}', "/b": b"[]"}))
    try:
        reader, writer = await _connect(port)
        writer.write(b"GET /a?x=1 HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\nGET /c HTTP/1.1\r\n\r\n")
        first = await reader.readuntil(b'{"a":1}')
        second = await reader.readuntil(b"[]")
        third = await reader.readuntil(b"content-length: 0\r\n\r\n")
        assert first.startswith(b"HTTP/1.1 200 OK") and b"content-length: 7\r\n" in first
        assert second.startswith(b"HTTP/1.1 200 OK") and b"content-length: 2\r\n" in second
        assert third.startswith(b"HTTP/1.1 404")
        writer.close()
    finally:
        server.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await server


async def test_both_raw_servers_answer_a_keep_alive_get_with_the_same_bytes() -> None:
    """raw_asgi and raw_http must do the same HTTP work, or their ratio measures a difference in answers."""
    pages = {"/api/im/a?x=1": b'{"data":[1,2,3]}'}
    request = b"GET /api/im/a?x=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer t\r\n\r\n"
    answers = []
    for serve in (serve_raw_asgi, serve_raw_http):
        port = free_port()
        server = asyncio.create_task(serve(port, pages))
        try:
            reader, writer = await _connect(port)
            writer.write(request * 2)
            answers.append([await reader.readuntil(b"[1,2,3]}") for _ in range(2)])
            writer.close()
        finally:
            server.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await server
    asgi, http = answers
    assert asgi[0] == asgi[1] == http[0] == http[1]
    assert asgi[0].startswith(b"HTTP/1.1 200 OK\r\ncontent-length: 16\r\n")
