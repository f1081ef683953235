"""Counting workers and accounts from the read models, for /api/v1/status and /metrics.

Why an account is unassigned is told from the same snapshot the coordinator decides from: the
online workers, their platforms, their load and their `max_accounts`.
"""

from __future__ import annotations

from collections import Counter

import msgspec

from hiscrm.api.v1.common import all_accounts
from hiscrm.projector.model import Tx
from projections import workers
from projections.accounts import AccountRow
from projections.workers import WorkerRow


class Unassigned(msgspec.Struct, kw_only=True):
    account_id: str
    platform: str
    reason: str


class WorkerCounts(msgspec.Struct, kw_only=True):
    total: int = 0
    online: int = 0
    offline: int = 0
    stopped: int = 0
    local_running: int = 0


class AccountCounts(msgspec.Struct, kw_only=True):
    total: int
    active: int
    disabled: int
    assigned: int
    unassigned: int
    by_login_status: dict[str, int]


class Census(msgspec.Struct, kw_only=True):
    workers: WorkerCounts
    accounts: AccountCounts
    unassigned: list[Unassigned]


def why_unassigned(row: AccountRow, online: list[WorkerRow]) -> str:
    if row.status == "disabled":
        return "disabled"
    if row.pinned_worker_id is not None:
        pinned = next((w for w in online if w.worker_id == row.pinned_worker_id), None)
        if pinned is None:
            return f"pinned to worker {row.pinned_worker_id}, which is offline"
        if len(pinned.accounts) >= pinned.max_accounts:
            return f"pinned to worker {row.pinned_worker_id}, which is at its max_accounts"
        return "waiting for the coordinator"
    capable = [w for w in online if row.platform in w.platforms]
    if not capable:
        return f"no online worker runs {row.platform}"
    if all(len(w.accounts) >= w.max_accounts for w in capable):
        return f"every online {row.platform} worker is at its max_accounts"
    return "waiting for the coordinator"


def take(tx: Tx) -> Census:
    worker_rows = [row for _, row in tx.scan(workers.TABLE, b"", WorkerRow)]
    by_status = Counter(w.status for w in worker_rows)
    online = [w for w in worker_rows if w.status == "online"]
    rows = all_accounts(tx)
    unassigned = [
        Unassigned(account_id=row.account_id, platform=row.platform, reason=why_unassigned(row, online))
        for row in rows
        if row.assigned_worker_id is None
    ]
    return Census(
        workers=WorkerCounts(
            total=len(worker_rows),
            online=by_status["online"],
            offline=by_status["offline"],
            stopped=by_status["stopped"],
        ),
        accounts=AccountCounts(
            total=len(rows),
            active=sum(row.status == "active" for row in rows),
            disabled=sum(row.status == "disabled" for row in rows),
            assigned=len(rows) - len(unassigned),
            unassigned=len(unassigned),
            by_login_status=dict(sorted(Counter(row.login_status for row in rows).items())),
        ),
        unassigned=unassigned,
    )
