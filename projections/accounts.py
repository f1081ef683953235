"""Accounts as the admin and IM APIs show them: settings, assignment, login state, trouble, crawl stats.

Sealed keys and sealed credentials are never copied here, so no route can leak them; the row only
says `has_credentials`. A deleted account's row and list entry are removed, so every lookup of it
misses (the API answers 404), and facts that still arrive for it are ignored.

`login_status` follows the login facts of the account's current login session; `session_valid`
remembers whether the last stored credentials still work, so a login attempt that fails or
times out while an older session is still good leaves the account logged in.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import msgspec

from hiscrm.facts import catalogue as c
from hiscrm.facts.codec import Recorded
from hiscrm.projector.model import Handler, Tx, be64, key

NAME = "accounts"
VERSION = 1
ROWS = "accounts"  # key(account_id) -> AccountRow
ORDER = "accounts_order"  # be64(seq) -> account_id: creation order, the cursor is the account's seq
TABLES = (ROWS, ORDER)

LoginStatus = Literal["not_logged_in", "logging_in", "logged_in", "login_failed", "expired", "blocked"]


class Trouble(msgspec.Struct, kw_only=True):
    kind: str  # session_expired | blocked:<verification|risk_control|unknown> | login_failed | verification_required
    detail: str | None
    at: int
    worker_id: str | None = None
    login_id: str | None = None


class Runtime(msgspec.Struct, kw_only=True):
    """Crawl statistics from inbox.snapshot_synced; `errors` counts trouble facts."""

    passes: int = 0
    last_pass_at: int | None = None
    last_pass_no: int | None = None
    last_pass_duration_ms: int | None = None
    last_worker_id: str | None = None
    seen: c.PassCounts = msgspec.field(default_factory=c.PassCounts)
    new: c.PassCounts = msgspec.field(default_factory=c.PassCounts)
    new_total: c.PassCounts = msgspec.field(default_factory=c.PassCounts)
    errors: int = 0


class AccountRow(msgspec.Struct, kw_only=True):
    account_id: str
    seq: int
    platform: str
    account_name: str
    status: Literal["active", "disabled"] = "active"
    login_status: LoginStatus = "not_logged_in"
    session_valid: bool = False
    has_credentials: bool = False
    platform_user_id: str | None = None
    user_info: c.Profile | None = None
    assigned_worker_id: str | None = None
    monitor_interval: int = 30
    proxy_id: str | None = None
    login_id: str | None = None
    trouble: Trouble | None = None
    runtime: Runtime = msgspec.field(default_factory=Runtime)
    created_at: int
    updated_at: int


def row_key(account_id: str) -> bytes:
    return key(account_id)


def _save(tx: Tx, row: AccountRow, at_ms: int) -> None:
    row.updated_at = at_ms
    tx.put(ROWS, row_key(row.account_id), row)


def _created(tx: Tx, rec: Recorded) -> None:
    f: c.AccountCreated = rec.fact  # type: ignore[assignment]
    old = tx.get(ROWS, row_key(f.account_id), AccountRow)
    if old is not None:
        tx.delete(ORDER, be64(old.seq))
    row = AccountRow(
        account_id=f.account_id,
        seq=rec.seq,
        platform=f.platform,
        account_name=f.account_name,
        monitor_interval=f.monitor_interval,
        platform_user_id=f.platform_user_id,
        proxy_id=f.proxy_id,
        created_at=rec.time_ms,
        updated_at=rec.time_ms,
    )
    tx.put(ORDER, be64(rec.seq), f.account_id)
    _save(tx, row, rec.time_ms)


def _deleted(tx: Tx, rec: Recorded) -> None:
    f: c.AccountDeleted = rec.fact  # type: ignore[assignment]
    row = tx.get(ROWS, row_key(f.account_id), AccountRow)
    if row is not None:
        tx.delete(ORDER, be64(row.seq))
        tx.delete(ROWS, row_key(f.account_id))


def _updated(row: AccountRow, rec: Recorded) -> None:
    f: c.AccountUpdated = rec.fact  # type: ignore[assignment]
    if f.account_name is not None:
        row.account_name = f.account_name
    if f.monitor_interval is not None:
        row.monitor_interval = f.monitor_interval
    if f.platform_user_id is not None:
        row.platform_user_id = f.platform_user_id
    if f.proxy_id is not None:
        row.proxy_id = f.proxy_id
    if f.status is not None:
        row.status = f.status


def _assigned(row: AccountRow, rec: Recorded) -> None:
    f: c.AccountAssigned = rec.fact  # type: ignore[assignment]
    row.assigned_worker_id = f.worker_id


def _unassigned(row: AccountRow, rec: Recorded) -> None:
    f: c.AccountUnassigned = rec.fact  # type: ignore[assignment]
    if row.assigned_worker_id == f.worker_id:
        row.assigned_worker_id = None


def _trouble(row: AccountRow, rec: Recorded, kind: str, detail: str | None) -> None:
    row.trouble = Trouble(
        kind=kind,
        detail=detail,
        at=rec.time_ms,
        worker_id=getattr(rec.fact, "worker_id", None),
        login_id=getattr(rec.fact, "login_id", None),
    )
    row.runtime.errors += 1


def _session_expired(row: AccountRow, rec: Recorded) -> None:
    f: c.AccountSessionExpired = rec.fact  # type: ignore[assignment]
    row.login_status, row.session_valid = "expired", False
    _trouble(row, rec, "session_expired", f.detail)


def _blocked(row: AccountRow, rec: Recorded) -> None:
    f: c.AccountBlocked = rec.fact  # type: ignore[assignment]
    row.login_status = "blocked"
    _trouble(row, rec, f"blocked:{f.kind}", f.detail)


def _login_requested(row: AccountRow, rec: Recorded) -> None:
    f: c.LoginRequested = rec.fact  # type: ignore[assignment]
    row.login_id, row.login_status = f.login_id, "logging_in"


def _verification_required(row: AccountRow, rec: Recorded) -> None:
    f: c.LoginVerificationRequired = rec.fact  # type: ignore[assignment]
    if f.login_id == row.login_id:
        _trouble(row, rec, "verification_required", f.message or f.method)


def _login_succeeded(row: AccountRow, rec: Recorded) -> None:
    # A success counts even from an older session: its credentials are the newest there are.
    f: c.LoginSucceeded = rec.fact  # type: ignore[assignment]
    row.login_status, row.session_valid, row.has_credentials = "logged_in", True, True
    row.platform_user_id, row.user_info = f.profile.uid, f.profile


def _login_ended(row: AccountRow, rec: Recorded) -> None:
    f: c.LoginFailed | c.LoginExpired = rec.fact  # type: ignore[assignment]
    if f.login_id != row.login_id or row.login_status != "logging_in":
        return
    failed = isinstance(f, c.LoginFailed)
    if row.session_valid:
        row.login_status = "logged_in"
    else:
        row.login_status = "login_failed" if failed else "not_logged_in"
    if failed:
        _trouble(row, rec, "login_failed", f.reason)  # type: ignore[union-attr]


def _synced(row: AccountRow, rec: Recorded) -> None:
    f: c.SnapshotSynced = rec.fact  # type: ignore[assignment]
    rt = row.runtime
    rt.passes += 1
    rt.last_pass_at, rt.last_pass_no, rt.last_pass_duration_ms = rec.time_ms, f.pass_no, f.duration_ms
    rt.last_worker_id, rt.seen, rt.new = f.worker_id, f.counts, f.new_counts
    rt.new_total = c.PassCounts(
        **{name: getattr(rt.new_total, name) + getattr(f.new_counts, name) for name in c.PassCounts.__struct_fields__}
    )
    # A pass that completed proves a block has lifted.
    if row.login_status == "blocked" and row.session_valid:
        row.login_status = "logged_in"


def _on_row(change: Callable[[AccountRow, Recorded], None]) -> Handler:
    """A handler that loads the account's row, lets `change` update it and saves it; deleted accounts are skipped."""

    def handle(tx: Tx, rec: Recorded) -> None:
        row = tx.get(ROWS, row_key(rec.fact.account_id), AccountRow)  # type: ignore[attr-defined]
        if row is not None:
            change(row, rec)
            _save(tx, row, rec.time_ms)

    return handle


HANDLERS = {
    c.AccountCreated.type_name(): _created,
    c.AccountDeleted.type_name(): _deleted,
    c.AccountUpdated.type_name(): _on_row(_updated),
    c.AccountAssigned.type_name(): _on_row(_assigned),
    c.AccountUnassigned.type_name(): _on_row(_unassigned),
    c.AccountSessionExpired.type_name(): _on_row(_session_expired),
    c.AccountBlocked.type_name(): _on_row(_blocked),
    c.LoginRequested.type_name(): _on_row(_login_requested),
    c.LoginVerificationRequired.type_name(): _on_row(_verification_required),
    c.LoginSucceeded.type_name(): _on_row(_login_succeeded),
    c.LoginFailed.type_name(): _on_row(_login_ended),
    c.LoginExpired.type_name(): _on_row(_login_ended),
    c.SnapshotSynced.type_name(): _on_row(_synced),
}
