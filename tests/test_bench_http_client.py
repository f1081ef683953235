"""The benchmarks' load generator: a path with `{n}` asks a different path per request, so a cache in front
of the route (the page cache) cannot answer a "varied" figure from what it kept."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter

from hiscrm.bench.http_client import load
from hiscrm.store.broker import free_port


async def _recording_server(seen: list[str]) -> tuple[asyncio.Server, str]:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):  # the client is done
            while head := await reader.readuntil(b"\r\n\r\n"):
                seen.append(head.split(b" ", 2)[1].decode())
                await asyncio.sleep(0.001)  # the clients' requests overlap, as against a real server
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
        writer.close()

    port = free_port()
    server = await asyncio.start_server(answer, "127.0.0.1", port)
    return server, f"http://127.0.0.1:{port}"


async def test_a_varied_path_walks_n_across_all_clients_and_goes_on_from_first() -> None:
    seen: list[str] = []
    server, url = await _recording_server(seen)
    try:
        done = await load(url, "/s?q={n}", "t", 0.3, 4, first=3, cycle=1000)
        repeated = await load(url, "/s?q=same", "t", 0.1, 4)
    finally:
        server.close()
    varied = [p for p in seen if p != "/s?q=same"]
    assert done["requests"] == len(varied) > 8
    numbers = sorted(int(p.split("=")[1]) for p in varied)
    # Every request its own n, 3, 4, 5, ... however the four clients' requests interleaved.
    assert numbers == list(range(3, 3 + len(varied)))
    # The control: a path without `{n}` is the same path every time.
    assert Counter(seen)["/s?q=same"] == repeated["requests"] > 1


async def test_n_wraps_at_cycle() -> None:
    seen: list[str] = []
    server, url = await _recording_server(seen)
    try:
        await load(url, "/s?q={n}", "t", 0.2, 2, first=0, cycle=3)
    finally:
        server.close()
    assert len(seen) > 6 and {p.split("=")[1] for p in seen} == {"0", "1", "2"}
