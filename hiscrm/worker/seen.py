"""What an account's observations already said, so an item is appended again only when it changed.

The index maps each item (kind and platform id) to a hash of its content and a few references
(a comment's work and thread, a message's conversation) that the adapter uses to find it again.
It lives in a file per account and survives restarts; it is also a pure function of the account's
`*_observed` facts, so a worker that takes over an account reads those facts from the stream,
from the sequence its own copy last saw (or from the start), before its first pass.

Each observation's `Nats-Msg-Id` is derived from the item and its content hash: if two workers see
the same change (the old one's last pass and the new one's first), the stream stores it once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from hiscrm.facts.catalogue import (
    CommentObserved,
    ContentObserved,
    ConversationObserved,
    MessageObserved,
    NotificationObserved,
    PassCounts,
    SnapshotSynced,
)
from hiscrm.facts.codec import Recorded
from hiscrm.facts.subjects import aggregate_filter
from hiscrm.platforms.base import Observation
from hiscrm.private import write_private
from hiscrm.store import reader
from hiscrm.store.connection import HiscrmClient

# kind -> (the fact's id field, its references, the PassCounts field it counts in)
_KINDS: dict[type[Observation], tuple[str, str, Callable[[Any], tuple[str, ...]], str]] = {
    ContentObserved: ("content", "content_id", lambda o: (), "contents"),
    CommentObserved: ("comment", "comment_id", lambda o: (o.content_id, o.parent_comment_id or ""), "comments"),
    ConversationObserved: ("conversation", "conversation_id", lambda o: (), "conversations"),
    MessageObserved: ("message", "message_id", lambda o: (o.conversation_id,), "messages"),
    NotificationObserved: ("notification", "notification_id", lambda o: (), "notifications"),
}
_COUNT_FIELD = {kind: field for kind, _, _, field in _KINDS.values()}
_encoder = msgspec.json.Encoder(order="deterministic")


def item_key(obs: Observation) -> str:
    kind, id_field, _, _ = _KINDS[type(obs)]
    return f"{kind}:{getattr(obs, id_field)}"


def kind_of(key: str) -> str:
    return key.partition(":")[0]


def content_hash(obs: Observation) -> str:
    """Of what the platform said; when and in which pass it was seen does not count."""
    stable = msgspec.structs.replace(obs, baseline=False, observed_at_ms=None)
    return hashlib.blake2b(_encoder.encode(stable), digest_size=10).hexdigest()


def msg_id(obs: Observation, digest: str) -> str:
    return f"obs:{obs.account_id}:{item_key(obs)}:{digest}"


def counts(by_kind: dict[str, int]) -> PassCounts:
    return PassCounts(**{_COUNT_FIELD[kind]: n for kind, n in by_kind.items()})


class _File(msgspec.Struct, kw_only=True):
    seq: int = 0  # the account's inbox facts up to this stream sequence are in `items`
    passes: int = 0  # the highest pass number recorded for the account
    items: dict[str, list[str]] = {}  # key -> [content hash, *references]
    cursor: dict[str, Any] = {}  # the adapter's, stored here so both are lost or kept together


_decoder = msgspec.msgpack.Decoder(_File)
_file_encoder = msgspec.msgpack.Encoder()


class SeenIndex:
    def __init__(self, path: Path, state: _File) -> None:
        self.path = path
        self._state = state

    @classmethod
    def load(cls, path: Path) -> SeenIndex:
        """Blocking: call it in a thread."""
        try:
            return cls(path, _decoder.decode(path.read_bytes()))
        except FileNotFoundError:
            return cls(path, _File())
        except msgspec.DecodeError:
            # A torn or foreign file: the stream has everything it held.
            return cls(path, _File())

    def encoded(self) -> bytes:
        """The index as `write` stores it. Made on the event loop: live observations may be recorded
        while a pass saves, and must not change the index under an encoder running in a thread."""
        return _file_encoder.encode(self._state)

    def write(self, data: bytes) -> None:
        """Blocking: call it in a thread. Atomic, so a crash leaves the old or the new index."""
        write_private(self.path, data)

    # ------------------------------------------------------------------ the adapter's view (Known)

    def refs(self, kind: str, item_id: str) -> tuple[str, ...] | None:
        entry = self._state.items.get(f"{kind}:{item_id}")
        return None if entry is None else tuple(entry[1:])

    # ------------------------------------------------------------------ dedupe

    @property
    def passes(self) -> int:
        return self._state.passes

    @property
    def cursor(self) -> dict[str, Any]:
        return self._state.cursor

    @cursor.setter
    def cursor(self, value: dict[str, Any]) -> None:
        self._state.cursor = value

    def is_new_or_changed(self, key: str, digest: str) -> bool:
        entry = self._state.items.get(key)
        return entry is None or entry[0] != digest

    def record(self, obs: Observation, digest: str) -> None:
        _, _, refs, _ = _KINDS[type(obs)]
        self._state.items[item_key(obs)] = [digest, *refs(obs)]

    def record_pass(self, pass_no: int) -> None:
        self._state.passes = max(self._state.passes, pass_no)

    def digest(self) -> str:
        """Of everything the account holds: two workers that agree on it know the same things."""
        h = hashlib.sha256()
        for key in sorted(self._state.items):
            h.update(f"{key}={self._state.items[key][0]}\n".encode())
        return h.hexdigest()[:32]

    # ------------------------------------------------------------------ the stream

    async def catch_up(self, nc: HiscrmClient, account_id: str, consumer: str | None = None) -> int:
        """Applies the account's inbox facts appended since `seq`; returns how many told it something new.

        `consumer` names the read (a worker may read only under its own name, one read at a time)."""
        learned = 0
        subject = aggregate_filter("inbox", account_id)
        async for item in reader.read(nc, subject=subject, from_seq=self._state.seq + 1, consumer=consumer):
            if isinstance(item, Recorded):
                fact = item.fact
                if type(fact) in _KINDS:
                    digest = content_hash(fact)  # type: ignore[arg-type]
                    if self.is_new_or_changed(item_key(fact), digest):  # type: ignore[arg-type]
                        self.record(fact, digest)  # type: ignore[arg-type]
                        learned += 1
                elif isinstance(fact, SnapshotSynced):
                    self.record_pass(fact.pass_no)
            self._state.seq = max(self._state.seq, item.seq)
        return learned
