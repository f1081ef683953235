"""live_feed_ms: from the append of a `comment_observed` to the event being read by an SSE client of the API.

Follows `/api/im/events` of the freshness account while freshness.py appends its comments, so both
figures are over the same facts in the same run. The client reads the chunked stream straight off the
socket (as http_client.py does for pages), and takes each event's time when its chunk has been read.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import msgspec

from hiscrm.bench.freshness import ACCOUNT

if TYPE_CHECKING:
    from hiscrm.bench.stack import Stack


class _Comment(msgspec.Struct):
    comment_id: str = ""


class _Event(msgspec.Struct):
    data: _Comment


async def _open(stack: Stack) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """The feed's connection once it answers 200 (the account may not be in the models yet: 404)."""
    parts = urlsplit(stack.url)
    request = (
        f"GET /api/im/events?account_id={ACCOUNT} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        f"Authorization: Bearer {stack.im_token}\r\nAccept: text/event-stream\r\n\r\n"
    ).encode()
    for _ in range(300):
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        if head[9:12] == b"200":
            if b"transfer-encoding: chunked" not in head.lower():
                raise RuntimeError(f"the live feed did not answer with a chunked stream: {head!r}")
            return reader, writer
        writer.close()
        await writer.wait_closed()
        await asyncio.sleep(0.05)
    raise RuntimeError("the live feed never answered 200")


async def follow(stack: Stack, seen: dict[str, float], opened: asyncio.Event, last: str) -> None:
    reader, writer = await _open(stack)
    # The API opens its consumer before it answers: anything appended from here on is on this feed.
    opened.set()
    decoder = msgspec.json.Decoder(_Event)
    pending = b""
    try:
        while last not in seen:
            size = int((await reader.readline()).strip(), 16)
            if size == 0:
                raise RuntimeError("the live feed ended before the last comment")
            chunk = await reader.readexactly(size + 2)
            at = time.perf_counter()
            *frames, pending = (pending + chunk[:-2]).split(b"\n\n")
            for frame in frames:
                for line in frame.split(b"\n"):
                    if line.startswith(b"data: "):
                        seen.setdefault(decoder.decode(line[6:]).data.comment_id, at)
    finally:
        writer.close()
        await writer.wait_closed()
