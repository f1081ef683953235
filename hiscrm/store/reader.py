"""Reading facts back: by sequence, by time, by subject filter, once or following the head."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator

import msgspec
from nats.aio.client import Client

from hiscrm.errors import HiscrmError
from hiscrm.facts import codec
from hiscrm.facts.codec import Recorded, UndecodableFact
from hiscrm.facts.subjects import ALL_EVENTS, EVENTS_STREAM
from hiscrm.store.connection import HiscrmClient
from hiscrm.store.feed import Feed, Raw


class Undecoded(msgspec.Struct, frozen=True):
    """A message on the event stream that this release cannot read as a fact."""

    seq: int
    time_ms: int
    subject: str
    reason: str
    headers: dict[str, str]
    payload: bytes


def decode_raw(raw: Raw) -> Recorded | Undecoded:
    try:
        return codec.decode(raw.seq, raw.time_ms, raw.subject, raw.headers, raw.payload)
    except UndecodableFact as exc:
        return Undecoded(raw.seq, raw.time_ms, raw.subject, str(exc), codec.headers_dict(raw.headers), raw.payload)


async def stream_head(nc: Client, stream: str = EVENTS_STREAM) -> int:
    """The last sequence in the stream (0 when empty)."""
    reply = await nc.request(f"$JS.API.STREAM.INFO.{stream}", b"", timeout=10)
    info = json.loads(reply.data)
    if "error" in info:
        raise HiscrmError(f"cannot read stream {stream}: {info['error'].get('description')}")
    return info["state"]["last_seq"]


async def read_raw(
    nc: HiscrmClient,
    *,
    subject: str | list[str] = ALL_EVENTS,
    from_seq: int | None = None,
    from_time: dt.datetime | None = None,
    to_seq: int | None = None,
    follow: bool = False,
    stream: str = EVENTS_STREAM,
    consumer: str | None = None,
) -> AsyncIterator[Raw]:
    """Every message matching `subject`, in stream order, starting where asked.

    Without `follow` it stops at the stream head as it was when reading began. `consumer` fixes the
    consumer's name (see Feed.open).
    """
    stop_at = to_seq
    if not follow:
        head = await stream_head(nc, stream)
        stop_at = head if to_seq is None else min(to_seq, head)
        if stop_at == 0 or (from_seq is not None and from_seq > stop_at):
            return
    feed = await Feed.open(nc, subject=subject, from_seq=from_seq, from_time=from_time, stream=stream, name=consumer)
    try:
        if not follow and feed.num_pending_at_start == 0:
            return
        while True:
            for raw in await feed.batch(4096):
                if stop_at is not None and raw.seq > stop_at:
                    return
                yield raw
                if not follow and (raw.seq >= stop_at or raw.pending == 0):  # type: ignore[operator]
                    return
    finally:
        await feed.close()


async def read(nc: HiscrmClient, **kwargs: object) -> AsyncIterator[Recorded | Undecoded]:
    async for raw in read_raw(nc, **kwargs):  # type: ignore[arg-type]
        yield decode_raw(raw)
