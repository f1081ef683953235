"""Which HISCRM_EVENTS the read models were built from, and whether the stream there now is that one.

A checkpoint is a sequence number, and sequence numbers mean something only in the stream that gave
them: after the stream is deleted and created again, or its store is lost while the read models are
kept, the new stream counts from 1 again and a projector resuming at "checkpoint + 1" would skip
every new fact up to the old checkpoint. So the models record the stream's identity with their
checkpoint, and whoever follows or serves them compares it with the stream that is there.

The identity is the stream's first message: its sequence and its time to the nanosecond, from
STREAM.INFO (which every user that reads the stream may ask). HISCRM_EVENTS never deletes a fact, so
the first message stays first for the stream's life. A restore from a snapshot keeps it (sequences and
timestamps are restored; the stream's own `created` time is not), editing the stream's config keeps
it (a metadata id would be dropped by an edit that leaves metadata out), and a stream made again, or
in a new store, gets a new first message. An empty stream has no identity yet.
"""

from __future__ import annotations

import msgspec
from nats.aio.client import Client

from hiscrm.errors import HiscrmError
from hiscrm.facts.subjects import EVENTS_STREAM
from hiscrm.projector.storage import ModelEnv
from hiscrm.store.streams import NOT_FOUND, api


class StreamNow(msgspec.Struct, frozen=True):
    """HISCRM_EVENTS as it is now: whether it exists, its identity (None while empty) and its head."""

    exists: bool
    identity: str | None
    head: int


async def stream_now(nc: Client, stream: str = EVENTS_STREAM) -> StreamNow:
    info = await api(nc, f"STREAM.INFO.{stream}")
    error = info.get("error")
    if error and error.get("err_code") == NOT_FOUND:
        return StreamNow(False, None, 0)
    if error:
        raise HiscrmError(f"cannot read stream {stream}: {error.get('description')}")
    state = info["state"]
    identity = f"{state['first_seq']}@{state['first_ts']}" if state.get("messages") else None
    return StreamNow(True, identity, state.get("last_seq", 0))


def mismatch(built_from: str | None, checkpoint: int, now: StreamNow) -> str | None:
    """Why models recorded as built from `built_from` up to `checkpoint` do not belong to the stream
    `now`, or None when they do. Models that hold nothing yet belong to any stream."""
    if not now.exists:
        return f"stream {EVENTS_STREAM} does not exist"
    if checkpoint == 0:
        return None
    if built_from is None:
        return (
            f"the read models (checkpoint {checkpoint}) do not record which {EVENTS_STREAM} they were built "
            "from (built before streams were identified)"
        )
    if now.identity is None:
        return f"{EVENTS_STREAM} is empty, but the read models were built from a stream up to sequence {checkpoint}"
    if now.identity != built_from:
        return (
            f"the read models were built from another {EVENTS_STREAM} (first message {built_from}; the stream "
            f"there now starts with {now.identity}), so their checkpoint {checkpoint} means nothing in it"
        )
    return None


def env_mismatch(env: ModelEnv, now: StreamNow) -> str | None:
    with env.read() as txn:
        return mismatch(env.built_from(txn), env.checkpoint(txn), now)
