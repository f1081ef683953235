"""Workers: what each registered, whether it is online, and which accounts it holds."""

from __future__ import annotations

import msgspec

from hiscrm.facts import catalogue as c
from hiscrm.facts.codec import Recorded
from hiscrm.projector.model import Tx, key

NAME = "workers"
VERSION = 1
TABLE = "workers"
TABLES = (TABLE,)


class WorkerRow(msgspec.Struct, kw_only=True):
    worker_id: str
    platforms: list[str] = []
    max_accounts: int = 0
    host: str | None = None
    pid: int | None = None
    version: str | None = None
    status: str = "online"  # online | offline | stopped
    accounts: list[str] = []
    registered_at_ms: int = 0
    updated_at_ms: int = 0
    last_seen_ms: int | None = None
    stop_reason: str | None = None


def _row(tx: Tx, worker_id: str, at_ms: int) -> WorkerRow:
    return tx.get(TABLE, key(worker_id), WorkerRow) or WorkerRow(worker_id=worker_id, registered_at_ms=at_ms)


def _save(tx: Tx, row: WorkerRow, at_ms: int) -> None:
    row.updated_at_ms = at_ms
    tx.put(TABLE, key(row.worker_id), row)


def _registered(tx: Tx, rec: Recorded) -> None:
    f: c.WorkerRegistered = rec.fact  # type: ignore[assignment]
    row = _row(tx, f.worker_id, rec.time_ms)
    row.platforms, row.max_accounts = list(f.platforms), f.max_accounts
    row.host, row.pid, row.version = f.host, f.pid, f.version
    row.status, row.stop_reason = "online", None
    row.registered_at_ms = rec.time_ms
    _save(tx, row, rec.time_ms)


def _stopped(tx: Tx, rec: Recorded) -> None:
    f: c.WorkerStopped = rec.fact  # type: ignore[assignment]
    row = _row(tx, f.worker_id, rec.time_ms)
    row.status, row.stop_reason = "stopped", f.reason
    _save(tx, row, rec.time_ms)


def _went_offline(tx: Tx, rec: Recorded) -> None:
    f: c.WorkerWentOffline = rec.fact  # type: ignore[assignment]
    row = _row(tx, f.worker_id, rec.time_ms)
    row.status, row.last_seen_ms = "offline", f.last_seen_ms
    _save(tx, row, rec.time_ms)


def _assigned(tx: Tx, rec: Recorded) -> None:
    f: c.AccountAssigned = rec.fact  # type: ignore[assignment]
    row = _row(tx, f.worker_id, rec.time_ms)
    if f.account_id not in row.accounts:
        row.accounts = sorted([*row.accounts, f.account_id])
    _save(tx, row, rec.time_ms)


def _unassigned(tx: Tx, rec: Recorded) -> None:
    f: c.AccountUnassigned = rec.fact  # type: ignore[assignment]
    row = tx.get(TABLE, key(f.worker_id), WorkerRow)
    if row is not None and f.account_id in row.accounts:
        row.accounts = [a for a in row.accounts if a != f.account_id]
        _save(tx, row, rec.time_ms)


HANDLERS = {
    c.WorkerRegistered.type_name(): _registered,
    c.WorkerStopped.type_name(): _stopped,
    c.WorkerWentOffline.type_name(): _went_offline,
    c.AccountAssigned.type_name(): _assigned,
    c.AccountUnassigned.type_name(): _unassigned,
}
