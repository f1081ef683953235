"""How fresh each account's inbox is: the last crawl pass that closed, as inbox.snapshot_synced told it."""

from __future__ import annotations

import msgspec

from hiscrm.facts import catalogue as c
from hiscrm.facts.codec import Recorded
from hiscrm.projector.model import Tx, key

NAME = "freshness"
VERSION = 1
ROWS = "freshness"  # key(account_id) -> FreshnessRow
TABLES = (ROWS,)


class FreshnessRow(msgspec.Struct, kw_only=True):
    account_id: str
    seq: int
    at: int
    worker_id: str
    pass_no: int
    counts: c.PassCounts
    new_counts: c.PassCounts
    duration_ms: int
    digest: str
    baseline: bool


def _synced(tx: Tx, rec: Recorded) -> None:
    f: c.SnapshotSynced = rec.fact  # type: ignore[assignment]
    row = FreshnessRow(
        account_id=f.account_id,
        seq=rec.seq,
        at=rec.time_ms,
        worker_id=f.worker_id,
        pass_no=f.pass_no,
        counts=f.counts,
        new_counts=f.new_counts,
        duration_ms=f.duration_ms,
        digest=f.digest,
        baseline=f.baseline,
    )
    tx.put(ROWS, key(f.account_id), row)


HANDLERS = {c.SnapshotSynced.type_name(): _synced}
