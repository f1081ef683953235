"""One crawl pass's bookkeeping: append what is new or changed, count everything, close with a summary."""

from __future__ import annotations

import time
from collections import Counter

import msgspec

from hiscrm.facts import codec
from hiscrm.facts.catalogue import SnapshotSynced
from hiscrm.facts.codec import Outgoing
from hiscrm.platforms.base import Observation
from hiscrm.store.event_store import Appended, AppendError, EventStore
from hiscrm.worker import seen
from hiscrm.worker.seen import SeenIndex

# Appends are pipelined in batches this size, so a pass with thousands of items does not wait per fact.
BATCH = 256


class PassRecorder:
    def __init__(self, store: EventStore, index: SeenIndex, account_id: str, *, baseline: bool) -> None:
        self.store = store
        self.account_id = account_id
        self.index = index
        self.baseline = baseline
        self.started = time.monotonic()
        self.seen: dict[str, str] = {}  # key -> digest, everything this pass saw
        self.new: Counter[str] = Counter()
        self._pending: list[tuple[Observation, str, Outgoing]] = []

    async def observe(self, obs: Observation) -> None:
        key = seen.item_key(obs)
        digest = seen.content_hash(obs)
        if self.seen.get(key) == digest:  # the same item twice in one pass (pages shift as items arrive)
            return
        self.seen[key] = digest
        if not self.index.is_new_or_changed(key, digest):
            return
        if self.baseline:
            obs = msgspec.structs.replace(obs, baseline=True)
        self._pending.append((obs, digest, codec.encode(obs, msg_id=seen.msg_id(obs, digest))))
        if len(self._pending) >= BATCH:
            await self.flush()

    async def flush(self) -> None:
        """Appends what is pending; only what the stream acknowledged enters the index."""
        pending, self._pending = self._pending, []
        if not pending:
            return
        try:
            acks: list[Appended | None] = list(await self.store.append_many([out for _, _, out in pending]))
        except AppendError as exc:
            self._settle(pending, exc.done)
            raise
        self._settle(pending, acks)

    def _settle(self, pending: list[tuple[Observation, str, Outgoing]], acks: list[Appended | None]) -> None:
        for (obs, digest, _), ack in zip(pending, acks, strict=True):
            if ack is None:
                continue  # not stored: still new to the index, so the next pass tries again
            self.index.record(obs, digest)
            if not ack.duplicate:
                self.new[seen.kind_of(seen.item_key(obs))] += 1

    def summary(self, worker_id: str, pass_no: int) -> SnapshotSynced:
        seen_by_kind = Counter(seen.kind_of(key) for key in self.seen)
        return SnapshotSynced(
            account_id=self.account_id,
            worker_id=worker_id,
            pass_no=pass_no,
            counts=seen.counts(seen_by_kind),
            new_counts=seen.counts(self.new),
            duration_ms=int((time.monotonic() - self.started) * 1000),
            digest=self.index.digest(),
            baseline=self.baseline,
        )
