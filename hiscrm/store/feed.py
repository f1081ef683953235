"""An ordered push consumer read in batches straight off the wire.

This is the read path of the projector, the rebuild and `hiscrm events`. It has the semantics
of an ordered consumer (every matching message once, in stream order, recreated from the last
sequence seen after any gap, stall or lost consumer) but takes deliveries as raw bytes through
HiscrmClient's raw sinks, parses only what it needs, and hands them out in batches.

Flow control doubles as back-pressure: the server pauses at each flow-control request until it
is answered, and the answer waits while more than `high_water` deliveries are unconsumed.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import time
from collections import deque
from collections.abc import Coroutine
from typing import Any

import msgspec

from hiscrm.facts.codec import HeaderBlock, Headers
from hiscrm.facts.subjects import ALL_EVENTS, EVENTS_STREAM
from hiscrm.store.connection import HiscrmClient

log = logging.getLogger(__name__)

HEARTBEAT_S = 2.0
STATUS_LINE = b"NATS/1.0 "


class Raw(msgspec.Struct, frozen=True):
    """One stream message as delivered: its sequence, append time, pending count, subject, headers, body."""

    seq: int
    time_ms: int
    pending: int
    subject: str
    headers: Headers | None
    payload: bytes


def parse_reply(reply: bytes | str) -> tuple[int, int, int, int]:
    """(stream sequence, consumer sequence, time in ms, pending) from a JetStream reply subject.

    `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ns>.<pending>`, or the newer form
    with domain and account hash after `$JS.ACK` and a random token at the end.
    """
    t = reply.split(b"." if isinstance(reply, bytes) else ".")
    i = 4 if len(t) == 9 else 6
    return int(t[i + 1]), int(t[i + 2]), int(t[i + 3]) // 1_000_000, int(t[i + 4])


def consumer_config(
    name: str,
    deliver_subject: str,
    subject: str | list[str],
    from_seq: int | None,
    from_time: dt.datetime | None,
    last_per_subject: bool = False,
) -> dict[str, Any]:
    """A push consumer for one filter subject, or several (`filter_subjects`, NATS 2.10+)."""
    filters = {"filter_subject": subject} if isinstance(subject, str) else {"filter_subjects": list(subject)}
    config: dict[str, Any] = {
        "name": name,
        "deliver_subject": deliver_subject,
        **filters,
        "ack_policy": "none",
        "max_deliver": 1,
        "flow_control": True,
        "idle_heartbeat": int(HEARTBEAT_S * 1e9),
        "mem_storage": True,
        "num_replicas": 1,
        "inactive_threshold": int(30e9),
        "replay_policy": "instant",
    }
    if from_seq is not None and from_seq > 1:
        config.update(deliver_policy="by_start_sequence", opt_start_seq=from_seq)
    elif last_per_subject:
        config["deliver_policy"] = "last_per_subject"
    elif from_time is not None:
        config.update(
            deliver_policy="by_start_time",
            opt_start_time=from_time.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        )
    else:
        config["deliver_policy"] = "all"
    return config


def create_subject(stream: str, name: str, subject: str | list[str]) -> str:
    """The consumer-create API subject; with one filter it carries the filter, so permissions can check it.

    A user allowed only `$JS.API.CONSUMER.CREATE.<stream>.*.<its filter>` can read nothing else, which
    is how a worker is limited to its own config keys (see hiscrm/store/auth.py).
    """
    base = f"$JS.API.CONSUMER.CREATE.{stream}.{name}"
    return f"{base}.{subject}" if isinstance(subject, str) else base


class Feed:
    def __init__(self, nc: HiscrmClient, subject: str | list[str], stream: str, high_water: int) -> None:
        self.nc = nc
        self.subject = subject
        self.stream = stream
        self.high_water = high_water
        self._buffer: deque[Raw] = deque()
        self._ready = asyncio.Event()
        self._sid: int | None = None
        self._consumer: str | None = None
        self._next_cseq = 1
        self._last_sseq = 0
        self._held_fc: list[bytes] = []
        self._last_activity = time.monotonic()
        self._watchdog: asyncio.Task[None] | None = None
        self._resetting = False
        self._closed = False
        self._tasks: set[asyncio.Future[None]] = set()
        self.num_pending_at_start = 0
        # For KV watches: each key's newest value first, until something has been delivered.
        self._last_per_subject = False
        self._name: str | None = None

    @classmethod
    async def open(
        cls,
        nc: HiscrmClient,
        *,
        subject: str | list[str] = ALL_EVENTS,
        from_seq: int | None = None,
        from_time: dt.datetime | None = None,
        stream: str = EVENTS_STREAM,
        high_water: int = 50_000,
        last_per_subject: bool = False,
        name: str | None = None,
    ) -> Feed:
        """With `name`, the consumer always has that name (a worker may create no other; see hiscrm/store/auth.py),
        so one name must not be read by two feeds at once."""
        feed = cls(nc, subject, stream, high_water)
        feed._last_per_subject = last_per_subject
        feed._name = name
        await feed._start(from_seq, from_time)
        feed._watchdog = asyncio.create_task(feed._watch())
        return feed

    async def _start(self, from_seq: int | None, from_time: dt.datetime | None) -> None:
        inbox = self.nc.new_inbox()
        sub = await self.nc.subscribe(inbox)
        self._sid = sub._id
        self.nc.raw_sinks[sub._id] = self._deliver
        self._next_cseq = 1
        if self._name is None:
            # A fresh name each time: a recreated consumer must not collide with the one it replaces.
            name = self.nc._nuid.next().decode()
        else:
            # Whatever a crashed run or a lost connection left under the fixed name goes first.
            name = self._name
            await self._delete(name)
        config = consumer_config(name, inbox, self.subject, from_seq, from_time, self._last_per_subject)
        reply = await self.nc.request(
            create_subject(self.stream, name, self.subject),
            json.dumps({"stream_name": self.stream, "config": config}).encode(),
            timeout=10,
        )
        answer = json.loads(reply.data)
        if "error" in answer:
            raise RuntimeError(f"cannot read {self.stream}: {answer['error'].get('description')}")
        self._consumer = answer["name"]
        self.num_pending_at_start = answer.get("num_pending", 0)
        self._last_activity = time.monotonic()

    def _deliver(self, subject: bytes, reply: bytes, data: bytes, headers: bytes) -> None:
        self._last_activity = time.monotonic()
        if headers and headers.startswith(STATUS_LINE):
            self._status(reply, headers)
            return
        sseq, cseq, time_ms, pending = parse_reply(reply)
        if cseq != self._next_cseq:
            # A delivery went missing: start over from the last message we did get.
            self._schedule_reset()
            return
        self._next_cseq = cseq + 1
        self._last_sseq = sseq
        self._buffer.append(
            Raw(sseq, time_ms, pending, subject.decode(), HeaderBlock(headers) if headers else None, data)
        )
        self._ready.set()

    def _status(self, reply: bytes, headers: bytes) -> None:
        if reply:  # a flow-control request: answering it lets the server send the next window
            if len(self._buffer) > self.high_water:
                self._held_fc.append(reply)
            else:
                self._publish(reply)
            return
        fields = HeaderBlock(headers)
        stalled = fields.get("Nats-Consumer-Stalled")
        if stalled:
            self._publish(stalled.encode())
        last = fields.get("Nats-Last-Consumer")
        if last is not None and int(last) != self._next_cseq - 1:
            self._schedule_reset()

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _publish(self, subject: bytes) -> None:
        self._spawn(self.nc.publish(subject.decode(), b""))

    def _schedule_reset(self) -> None:
        if not self._resetting and not self._closed:
            self._resetting = True
            self._spawn(self._reset())

    async def _reset(self) -> None:
        try:
            await self._drop_consumer()
            while not self._closed:
                try:
                    await self._start(self._last_sseq + 1, None)
                    log.info("ordered consumer on %s recreated from sequence %d", self.subject, self._last_sseq + 1)
                    return
                except Exception as exc:
                    log.warning("cannot recreate the consumer on %s yet: %r", self.subject, exc)
                    await asyncio.sleep(1)
        finally:
            self._resetting = False

    async def _drop_consumer(self) -> None:
        sid, consumer = self._sid, self._consumer
        self._sid = self._consumer = None
        if sid is not None:
            self.nc.raw_sinks.pop(sid, None)
            with contextlib.suppress(Exception):
                await self.nc._subs[sid].unsubscribe()
        if consumer is not None and self.nc.is_connected:
            await self._delete(consumer)

    async def _delete(self, consumer: str) -> None:
        with contextlib.suppress(Exception):
            await self.nc.request(f"$JS.API.CONSUMER.DELETE.{self.stream}.{consumer}", b"", timeout=2)

    async def _watch(self) -> None:
        """Heartbeats arrive every HEARTBEAT_S; silence for three of them means the consumer is gone."""
        while not self._closed:
            await asyncio.sleep(HEARTBEAT_S)
            if time.monotonic() - self._last_activity > 3 * HEARTBEAT_S and self.nc.is_connected:
                self._schedule_reset()

    def __len__(self) -> int:
        return len(self._buffer)

    async def batch(self, max_items: int, timeout: float | None = None) -> list[Raw]:
        """Up to `max_items` deliveries; waits for the first one (or `timeout`, then returns [])."""
        buffer = self._buffer
        if not buffer:
            self._ready.clear()
            try:
                await asyncio.wait_for(self._ready.wait(), timeout)
            except TimeoutError:
                return []
        n = min(max_items, len(buffer))
        out = [buffer.popleft() for _ in range(n)]
        if self._held_fc and len(buffer) <= self.high_water:
            held, self._held_fc = self._held_fc, []
            for reply in held:
                self._publish(reply)
        return out

    async def close(self) -> None:
        self._closed = True
        if self._watchdog is not None:
            self._watchdog.cancel()
        await self._drop_consumer()
