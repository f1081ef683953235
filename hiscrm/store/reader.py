"""Reading facts back: by sequence, by time, by subject filter, once or following the head.

An ordered consumer delivers the stream in order and recreates itself after any gap, so a reader
never sees a fact twice or misses one, and it costs the server no durable state.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

import msgspec
from nats.js import JetStreamContext, api

from hiscrm.facts import codec
from hiscrm.facts.codec import Recorded, UndecodableFact
from hiscrm.facts.subjects import ALL_EVENTS, EVENTS_STREAM


class Undecoded(msgspec.Struct, frozen=True):
    """A message on the event stream that this release cannot read as a fact."""

    seq: int
    time_ms: int
    subject: str
    reason: str
    headers: dict[str, str]
    payload: bytes


class Raw(msgspec.Struct, frozen=True):
    seq: int
    time_ms: int
    pending: int
    subject: str
    headers: dict[str, str] | None
    payload: bytes


def parse_reply(reply: str) -> tuple[int, int, int]:
    """(stream sequence, time in ms, pending) from a JetStream delivery's reply subject.

    `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ns>.<pending>`, with an optional
    domain and account hash before the stream on newer servers: count from the end.
    """
    parts = reply.split(".")
    return int(parts[-4]), int(parts[-2]) // 1_000_000, int(parts[-1])


def decode_raw(raw: Raw) -> Recorded | Undecoded:
    try:
        return codec.decode(raw.seq, raw.time_ms, raw.subject, raw.headers, raw.payload)
    except UndecodableFact as exc:
        return Undecoded(raw.seq, raw.time_ms, raw.subject, str(exc), dict(raw.headers or {}), raw.payload)


async def stream_head(js: JetStreamContext, stream: str = EVENTS_STREAM) -> int:
    info = await js.stream_info(stream)
    return info.state.last_seq


def consumer_config(from_seq: int | None, from_time: dt.datetime | None) -> api.ConsumerConfig:
    config = api.ConsumerConfig()
    if from_seq is not None and from_seq > 1:
        config.deliver_policy = api.DeliverPolicy.BY_START_SEQUENCE
        config.opt_start_seq = from_seq
    elif from_time is not None:
        config.deliver_policy = api.DeliverPolicy.BY_START_TIME
        config.opt_start_time = from_time.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    else:
        config.deliver_policy = api.DeliverPolicy.ALL
    return config


class Feed:
    """An ordered consumer whose deliveries are taken in batches, not one await per message."""

    def __init__(self) -> None:
        self._buffer: deque[Raw] = deque()
        self._ready = asyncio.Event()
        self._sub: Any = None

    @classmethod
    async def open(
        cls,
        js: JetStreamContext,
        *,
        subject: str = ALL_EVENTS,
        from_seq: int | None = None,
        from_time: dt.datetime | None = None,
        stream: str = EVENTS_STREAM,
    ) -> Feed:
        feed = cls()
        buffer, ready = feed._buffer, feed._ready

        async def deliver(msg: Any) -> None:
            seq, time_ms, pending = parse_reply(msg.reply)
            buffer.append(Raw(seq, time_ms, pending, msg.subject, msg.headers, msg.data))
            ready.set()

        feed._sub = await js.subscribe(
            subject,
            cb=deliver,
            ordered_consumer=True,
            config=consumer_config(from_seq, from_time),
            stream=stream,
            idle_heartbeat=2.0,
            pending_msgs_limit=-1,
            pending_bytes_limit=-1,
        )
        return feed

    def __len__(self) -> int:
        return len(self._buffer)

    async def batch(self, max_items: int, timeout: float | None = None) -> list[Raw]:
        """Up to `max_items` deliveries; waits for the first one (or `timeout`, then returns [])."""
        if not self._buffer:
            self._ready.clear()
            try:
                await asyncio.wait_for(self._ready.wait(), timeout)
            except TimeoutError:
                return []
        buffer = self._buffer
        n = min(max_items, len(buffer))
        return [buffer.popleft() for _ in range(n)]

    async def nothing_matches(self) -> bool:
        """True when the consumer has nothing to deliver and delivered nothing so far."""
        info = await self._sub.consumer_info()
        delivered = info.delivered.consumer_seq if info.delivered else 0
        return info.num_pending == 0 and not delivered and not self._buffer

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self._sub.unsubscribe()


async def read_raw(
    js: JetStreamContext,
    *,
    subject: str = ALL_EVENTS,
    from_seq: int | None = None,
    from_time: dt.datetime | None = None,
    to_seq: int | None = None,
    follow: bool = False,
    stream: str = EVENTS_STREAM,
) -> AsyncIterator[Raw]:
    """Every message matching `subject`, in stream order, starting where asked.

    Without `follow` it stops at the stream head as it was when reading began.
    """
    head = await stream_head(js, stream)
    stop_at = to_seq if follow or to_seq is None else min(to_seq, head)
    if not follow:
        stop_at = head if to_seq is None else min(to_seq, head)
        if stop_at == 0 or (from_seq is not None and from_seq > stop_at):
            return
    feed = await Feed.open(js, subject=subject, from_seq=from_seq, from_time=from_time, stream=stream)
    try:
        if not follow and await feed.nothing_matches():
            return
        while True:
            for raw in await feed.batch(1024):
                if stop_at is not None and raw.seq > stop_at:
                    return
                yield raw
                if not follow and (raw.seq >= stop_at or raw.pending == 0):  # type: ignore[operator]
                    return
    finally:
        await feed.close()


async def read(js: JetStreamContext, **kwargs: object) -> AsyncIterator[Recorded | Undecoded]:
    async for raw in read_raw(js, **kwargs):  # type: ignore[arg-type]
        yield decode_raw(raw)
