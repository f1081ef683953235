"""KV operations nats-py does not offer, and a watch that hands every change to a callback.

nats-py's `KeyValue.put` takes no per-message TTL, `update` takes no TTL either, and `create` does
not recognise a server-placed expiry marker as a deleted key. Presence and the coordinator lease
need TTLs on every write and compare-and-set against whatever the key's last message was, so those
writes are published here to the key's subject directly, with the headers the KV protocol uses.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import inspect
from collections.abc import Awaitable, Callable

from nats.js import JetStreamContext
from nats.js.errors import APIError, NotFoundError
from nats.js.kv import KeyValue

from hiscrm.errors import HiscrmError
from hiscrm.facts.codec import Headers
from hiscrm.facts.subjects import kv_subject
from hiscrm.store.feed import Feed

EXPECTED_SEQ = "Nats-Expected-Last-Subject-Sequence"
OPERATION = "KV-Operation"
MARKER_REASON = "Nats-Marker-Reason"
ROLLUP = "Nats-Rollup"
WRONG_LAST_SEQUENCE = (10071, 10164)
REMOVALS = ("DEL", "PURGE")

Entry = KeyValue.Entry
OnChange = Callable[[Entry], Awaitable[None] | None]


class StaleRevision(HiscrmError):
    """The key has changed since the revision a compare-and-set write expected."""


async def _publish(js: JetStreamContext, subject: str, value: bytes, headers: dict[str, str], ttl: float | None) -> int:
    try:
        ack = await js.publish(subject, value, headers=headers or None, msg_ttl=ttl)
    except APIError as exc:
        if exc.err_code in WRONG_LAST_SEQUENCE:
            raise StaleRevision(f"{subject}: {exc.description}") from None
        raise
    return ack.seq


async def put(
    js: JetStreamContext, bucket: str, key: str, value: bytes, *, ttl: float | None = None, expected: int | None = None
) -> int:
    """Write `value`; with `expected`, only if the key's last message (value or marker) has that revision."""
    headers = {} if expected is None else {EXPECTED_SEQ: str(expected)}
    return await _publish(js, kv_subject(bucket, key), value, headers, ttl)


async def purge(js: JetStreamContext, bucket: str, key: str, *, expected: int | None = None) -> int:
    """Remove every revision of the key, leaving one purge marker; returns the marker's revision."""
    headers = {OPERATION: "PURGE", ROLLUP: "sub"}
    if expected is not None:
        headers[EXPECTED_SEQ] = str(expected)
    return await _publish(js, kv_subject(bucket, key), b"", headers, None)


async def latest(js: JetStreamContext, bucket: str, key: str) -> tuple[int, bytes | None]:
    """(revision, value) of the key's last message; value None for a removal marker; (0, None) if none."""
    try:
        msg = await js.get_msg(f"KV_{bucket}", subject=kv_subject(bucket, key), direct=True)
    except NotFoundError:
        return 0, None
    headers = msg.headers or {}
    removed = headers.get(OPERATION) in REMOVALS or MARKER_REASON in headers
    return msg.seq or 0, None if removed else (msg.data or b"")


def removed(entry: Entry) -> bool:
    """A delete, a purge, or the marker the server places when a key's TTL or max age ran out."""
    return entry.operation in REMOVALS


def _operation(headers: Headers | None) -> str | None:
    """DEL or PURGE for a removal, None for a value; "" for a server marker of a kind not known here."""
    if headers is None:
        return None
    op = headers.get(OPERATION)
    if op is not None:
        return op
    reason = headers.get(MARKER_REASON)
    if reason is None:
        return None
    return _MARKERS.get(reason, "")


# Server-placed markers (NATS 2.11+) name why a key went away instead of carrying KV-Operation.
_MARKERS = {"MaxAge": "PURGE", "Purge": "PURGE", "Remove": "DEL"}


async def follow(
    kv: KeyValue, keys: str, on_change: OnChange, ready: asyncio.Event | None = None, consumer: str | None = None
) -> None:
    """Hand every current value, then every change, of `keys` to `on_change`; `ready` is set once caught up.

    The watch is a Feed (an ordered consumer created with its filter in the API subject) rather than
    nats-py's watcher, whose consumer-create request names no filter: a worker whose permissions
    allow only its own keys as the filter, under one consumer name, can then watch them, and nothing else.
    """
    bucket, stream, prefix = kv._name, kv._stream, kv._pre
    feed = await Feed.open(
        kv._js._nc, subject=prefix + keys, stream=stream, last_per_subject=True, high_water=4096, name=consumer
    )
    caught_up = ready if ready is not None else asyncio.Event()
    if feed.num_pending_at_start == 0:
        caught_up.set()
    try:
        while True:
            for raw in await feed.batch(256):
                op = _operation(raw.headers)
                if op != "":
                    created = dt.datetime.fromtimestamp(raw.time_ms / 1000, dt.UTC)
                    entry = Entry(bucket, raw.subject[len(prefix) :], raw.payload, raw.seq, raw.pending, created, op)
                    result = on_change(entry)
                    if inspect.isawaitable(result):
                        await result
                if raw.pending == 0:
                    caught_up.set()
    finally:
        await feed.close()
