"""KV operations nats-py does not offer, and a watch that hands every change to a callback.

nats-py's `KeyValue.put` takes no per-message TTL, `update` takes no TTL either, and `create` does
not recognise a server-placed expiry marker as a deleted key. Presence and the coordinator lease
need TTLs on every write and compare-and-set against whatever the key's last message was, so those
writes are published here to the key's subject directly, with the headers the KV protocol uses.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import Awaitable, Callable

from nats.js import JetStreamContext
from nats.js.errors import APIError, NotFoundError
from nats.js.kv import KeyValue

from hiscrm.errors import HiscrmError
from hiscrm.facts.subjects import kv_subject

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


async def follow(kv: KeyValue, keys: str, on_change: OnChange, ready: asyncio.Event | None = None) -> None:
    """Hand every current value, then every change, of `keys` to `on_change`; `ready` is set once caught up."""
    watcher = await kv.watch(keys)
    try:
        async for entry in watcher:
            if entry is None:
                if ready is not None:
                    ready.set()
                continue
            result = on_change(entry)
            if inspect.isawaitable(result):
                await result
    finally:
        with contextlib.suppress(Exception):
            await watcher.stop()
