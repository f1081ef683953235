"""Accounts as the admin and IM APIs show them: settings, assignment, login state, trouble, crawl stats.

Sealed keys and sealed credentials are never copied here, so no route can leak them; the row only
says `has_credentials`. A deleted account's row and list entry are removed, so every lookup of it
misses (the API answers 404), and facts that still arrive for it are ignored.

`login_status` follows the login facts of the account's current login session; `session_valid`
remembers whether the last stored credentials still work, so a login attempt that fails or
times out while an older session is still good leaves the account logged in. A logout destroys
the session: the account is not logged in and has no credentials, whatever came before.

`health` is the crawl record: the last error, the failed passes in a row and the last success,
from `account.crawl_failed` (which a worker appends only now and then for a run of identical
failures, carrying the run's length, so totals add the difference), the trouble facts and
`snapshot_synced`. PASSES keeps the account's last HISTORY_SIZE passes, good or bad, in a ring.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import msgspec

from hiscrm.facts import catalogue as c
from hiscrm.facts.codec import Recorded
from hiscrm.projector.model import Handler, Tx, be64, key

NAME = "accounts"
VERSION = 4  # 3: adapter_drift; 4: trouble is what is wrong now (a login or a lifted block settles it)
ROWS = "accounts"  # key(account_id) -> AccountRow
ORDER = "accounts_order"  # be64(seq) -> account_id: creation order, the cursor is the account's seq
PASSES = "account_passes"  # key(account_id, ring slot) -> PassEntry: the last HISTORY_SIZE passes
TABLES = (ROWS, ORDER, PASSES)
HISTORY_SIZE = 50

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


class CrawlHealth(msgspec.Struct, kw_only=True):
    last_error: str | None = None
    last_error_kind: str | None = None
    last_error_at: int | None = None
    consecutive_failures: int = 0
    failures_total: int = 0  # failed passes ever, counted ones included
    last_success_at: int | None = None
    passes_recorded: int = 0  # entries ever written to the PASSES ring


class PassEntry(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One pass in an account's history: a completed one (`ok`) or a failure, and why."""

    seq: int
    at: int
    ok: bool
    worker_id: str | None = None
    pass_no: int | None = None
    duration_ms: int | None = None
    new: c.PassCounts | None = None
    kind: str | None = None  # for failures: page_error | timeout | error | session_expired | blocked:<kind>
    error: str | None = None
    consecutive: int | None = None


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
    pinned_worker_id: str | None = None
    crawl: c.CrawlSwitches = msgspec.field(default_factory=c.CrawlSwitches)
    health: CrawlHealth = msgspec.field(default_factory=CrawlHealth)
    # What `hiscrm doctor` last found broken on the account's pages (empty: everything held).
    adapter_drift: list[c.DriftedExpectation] = msgspec.field(default_factory=list)
    adapter_drift_at: int | None = None
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
    if f.crawl is not None:
        row.crawl = f.crawl


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


def _logged_out(row: AccountRow, rec: Recorded) -> None:
    row.login_status, row.session_valid, row.has_credentials, row.trouble = "not_logged_in", False, False, None


def _pinned(row: AccountRow, rec: Recorded) -> None:
    f: c.AccountPinned = rec.fact  # type: ignore[assignment]
    row.pinned_worker_id = f.worker_id


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
    # A new session settles whatever was wrong with the old one (the console said "verification required" on).
    row.trouble = None


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
        row.trouble = None


def _record(tx: Tx, row: AccountRow, entry: PassEntry) -> None:
    slot = row.health.passes_recorded % HISTORY_SIZE
    row.health.passes_recorded += 1
    tx.put(PASSES, key(row.account_id, f"{slot:03d}"), entry)


def history(tx: Tx, account_id: str) -> list[PassEntry]:
    """The account's recorded passes, newest first."""
    entries = [entry for _, entry in tx.scan(PASSES, key(account_id, b""), PassEntry)]
    return sorted(entries, key=lambda e: e.seq, reverse=True)


def _failed_pass(tx: Tx, row: AccountRow, rec: Recorded, kind: str, error: str | None, consecutive: int) -> None:
    health = row.health
    # A worker reports a run of identical failures now and then, with the run's length: count what is new.
    added = consecutive - health.consecutive_failures if consecutive > health.consecutive_failures else 1
    health.failures_total += added
    health.consecutive_failures += added
    health.last_error, health.last_error_kind, health.last_error_at = error, kind, rec.time_ms
    entry = PassEntry(
        seq=rec.seq,
        at=rec.time_ms,
        ok=False,
        worker_id=getattr(rec.fact, "worker_id", None),
        kind=kind,
        error=error,
        consecutive=health.consecutive_failures,
    )
    _record(tx, row, entry)


def _crawl_failed(tx: Tx, row: AccountRow, rec: Recorded) -> None:
    f: c.AccountCrawlFailed = rec.fact  # type: ignore[assignment]
    _failed_pass(tx, row, rec, f.kind, f.reason, f.consecutive)


def _trouble_pass(tx: Tx, row: AccountRow, rec: Recorded) -> None:
    f: c.AccountBlocked | c.AccountSessionExpired = rec.fact  # type: ignore[assignment]
    kind = f"blocked:{f.kind}" if isinstance(f, c.AccountBlocked) else "session_expired"
    _failed_pass(tx, row, rec, kind, f.detail, row.health.consecutive_failures + 1)


def _synced_pass(tx: Tx, row: AccountRow, rec: Recorded) -> None:
    f: c.SnapshotSynced = rec.fact  # type: ignore[assignment]
    row.health.consecutive_failures, row.health.last_success_at = 0, rec.time_ms
    entry = PassEntry(
        seq=rec.seq,
        at=rec.time_ms,
        ok=True,
        worker_id=f.worker_id,
        pass_no=f.pass_no,
        duration_ms=f.duration_ms,
        new=f.new_counts,
    )
    _record(tx, row, entry)


def _adapter_drift(row: AccountRow, rec: Recorded) -> None:
    f: c.AccountAdapterDrift = rec.fact  # type: ignore[assignment]
    row.adapter_drift, row.adapter_drift_at = f.broken, rec.time_ms


def _on_row(
    change: Callable[[AccountRow, Recorded], None] | None = None,
    passes: Callable[[Tx, AccountRow, Recorded], None] | None = None,
) -> Handler:
    """A handler that loads the account's row, lets `change` (and `passes`, which may write the pass
    history) update it and saves it; deleted accounts are skipped."""

    def handle(tx: Tx, rec: Recorded) -> None:
        row = tx.get(ROWS, row_key(rec.fact.account_id), AccountRow)  # type: ignore[attr-defined]
        if row is not None:
            if change is not None:
                change(row, rec)
            if passes is not None:
                passes(tx, row, rec)
            _save(tx, row, rec.time_ms)

    return handle


HANDLERS = {
    c.AccountCreated.type_name(): _created,
    c.AccountDeleted.type_name(): _deleted,
    c.AccountUpdated.type_name(): _on_row(_updated),
    c.AccountAssigned.type_name(): _on_row(_assigned),
    c.AccountUnassigned.type_name(): _on_row(_unassigned),
    c.AccountSessionExpired.type_name(): _on_row(_session_expired, _trouble_pass),
    c.AccountBlocked.type_name(): _on_row(_blocked, _trouble_pass),
    c.AccountLoggedOut.type_name(): _on_row(_logged_out),
    c.AccountPinned.type_name(): _on_row(_pinned),
    c.AccountCrawlFailed.type_name(): _on_row(passes=_crawl_failed),
    c.AccountAdapterDrift.type_name(): _on_row(_adapter_drift),
    c.LoginRequested.type_name(): _on_row(_login_requested),
    c.LoginVerificationRequired.type_name(): _on_row(_verification_required),
    c.LoginSucceeded.type_name(): _on_row(_login_succeeded),
    c.LoginFailed.type_name(): _on_row(_login_ended),
    c.LoginExpired.type_name(): _on_row(_login_ended),
    c.SnapshotSynced.type_name(): _on_row(_synced, _synced_pass),
}
