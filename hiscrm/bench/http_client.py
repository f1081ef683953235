"""A lean HTTP/1.1 keep-alive client for the API benchmarks, and a load generator run as its own process.

httpx costs more per request than the server does for a small page, so it would measure itself;
this sends prebuilt GET requests and reads only the status line, Content-Length and body.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import sys
import time
from urllib.parse import urlsplit


class KeepAlive:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str, token: str) -> None:
        self.reader, self.writer, self.host, self.token = reader, writer, host, token

    @classmethod
    async def open(cls, url: str, token: str) -> KeepAlive:
        parts = urlsplit(url)
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        return cls(reader, writer, parts.netloc, token)

    def request(self, path: str) -> bytes:
        return f"GET {path} HTTP/1.1\r\nHost: {self.host}\r\nAuthorization: Bearer {self.token}\r\n\r\n".encode()

    async def send(self, request: bytes) -> tuple[int, bytes]:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        start = head.lower().find(b"content-length:")
        length = int(head[start + 15 : head.find(b"\r\n", start)])
        return status, await self.reader.readexactly(length)

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] if ordered else 0.0


async def load(
    url: str, path: str, token: str, seconds: float, connections: int, first: int = 0, cycle: int = 1
) -> dict[str, float]:
    """Requests per second and p99 latency of `path` with `connections` clients in a closed loop.

    A `path` holding `{n}` is a different path per request: n counts up from `first`, modulo `cycle`,
    across all clients (a cache in front of the route sees every one of `cycle` paths in turn)."""
    clients = [await KeepAlive.open(url, token) for _ in range(connections)]
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    varied = "{n}" in path
    numbers = itertools.count(first)  # taken when sent: clients waiting at once never share an n

    async def drive(client: KeepAlive) -> None:
        request = client.request(path)
        while (start := time.perf_counter()) < deadline:
            if varied:
                request = client.request(path.replace("{n}", str(next(numbers) % cycle)))
            status, _ = await client.send(request)
            if status != 200:
                raise RuntimeError(f"GET {path} answered {status}")
            latencies.append(time.perf_counter() - start)

    began = time.perf_counter()
    await asyncio.gather(*(drive(c) for c in clients))
    elapsed = time.perf_counter() - began
    for c in clients:
        await c.close()
    return {
        "req_per_s": len(latencies) / elapsed,
        "p99_ms": percentile(latencies, 99) * 1000,
        "requests": len(latencies),
    }


if __name__ == "__main__":
    # python -m hiscrm.bench.http_client URL PATH TOKEN SECONDS CONNECTIONS [FIRST CYCLE]: one JSON line.
    url, path, token, seconds, connections = sys.argv[1:6]
    first, cycle = (int(a) for a in (sys.argv[6:8] or ("0", "1")))
    print(json.dumps(asyncio.run(load(url, path, token, float(seconds), int(connections), first, cycle))))
