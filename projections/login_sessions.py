"""QR login sessions, with the status words the admin page shows, and each account's latest one.

pending → qrcode_ready → (qrcode_refreshed)* → scanning → success | failed | expired.
`scanning` is what a verification request means here: the code was scanned and the platform wants
more (`verification_method`, `message`); with method `sms` it waits for an operator's code, which
makes it `verifying` until the platform refuses it (back to `scanning`, with `code_error`) or lets
the login through. A session import (method `import`) goes pending → success | failed. success,
failed and expired are final, except that a late success beats expired: the credentials it
reports are real.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import msgspec

from hiscrm.facts import catalogue as c
from hiscrm.facts.codec import Recorded
from hiscrm.projector.model import Handler, Tx, key, newest_first

NAME = "login_sessions"
VERSION = 2
ROWS = "login_sessions"  # key(login_id) -> LoginRow
LATEST = "login_latest"  # key(account_id) -> login_id of the account's most recently requested session
HISTORY = "login_history"  # key(account_id, newest_first(seq)) -> login_id
TABLES = (ROWS, LATEST, HISTORY)

Status = Literal["pending", "qrcode_ready", "qrcode_refreshed", "scanning", "verifying", "success", "failed", "expired"]
FINAL: frozenset[str] = frozenset({"success", "failed", "expired"})


class LoginRow(msgspec.Struct, kw_only=True):
    login_id: str
    account_id: str
    seq: int
    status: Status = "pending"
    qrcode: str | None = None
    qr_expires_at: int | None = None
    expires_at: int | None = None
    requested_by: str | None = None
    worker_id: str | None = None
    verification_method: str | None = None
    message: str | None = None
    method: Literal["qr", "import"] = "qr"
    codes_submitted: int = 0
    code_submitted_at: int | None = None
    code_error: str | None = None  # why the platform refused the last code
    code_error_kind: str | None = None  # wrong | expired | too_many
    reason: str | None = None
    code: str | None = None
    # No secrets in a Profile: it is what the platform shows about the account.
    profile: c.Profile | None = None
    created_at: int
    updated_at: int
    finished_at: int | None = None


def row_key(login_id: str) -> bytes:
    return key(login_id)


def latest(tx: Tx, account_id: str) -> LoginRow | None:
    login_id = tx.get(LATEST, key(account_id), str)
    return None if login_id is None else tx.get(ROWS, row_key(login_id), LoginRow)


def _row(tx: Tx, rec: Recorded) -> LoginRow:
    f: c.LoginRequested = rec.fact  # type: ignore[assignment]
    row = tx.get(ROWS, row_key(f.login_id), LoginRow)
    if row is None:
        # Normally login.requested; any first fact of a session starts its row, so none is lost.
        row = LoginRow(
            login_id=f.login_id, account_id=f.account_id, seq=rec.seq, created_at=rec.time_ms, updated_at=rec.time_ms
        )
        tx.put(LATEST, key(f.account_id), f.login_id)
        tx.put(HISTORY, key(f.account_id, newest_first(rec.seq)), f.login_id)
    return row


def _requested(row: LoginRow, rec: Recorded) -> None:
    f: c.LoginRequested = rec.fact  # type: ignore[assignment]
    row.expires_at, row.requested_by, row.method = f.expires_at_ms, f.requested_by, f.method
    row.worker_id = f.worker_id or row.worker_id


def _qrcode(row: LoginRow, rec: Recorded) -> None:
    f: c.LoginQrcodeReady | c.LoginQrcodeRefreshed = rec.fact  # type: ignore[assignment]
    if row.status in FINAL:
        return
    row.status = "qrcode_refreshed" if isinstance(f, c.LoginQrcodeRefreshed) else "qrcode_ready"
    row.qrcode, row.qr_expires_at = f.qrcode, f.qr_expires_at_ms
    row.worker_id = f.worker_id or row.worker_id


def _verification(row: LoginRow, rec: Recorded) -> None:
    f: c.LoginVerificationRequired = rec.fact  # type: ignore[assignment]
    if row.status not in FINAL:
        row.status, row.verification_method, row.message = "scanning", f.method, f.message


def _code_submitted(row: LoginRow, rec: Recorded) -> None:
    if row.status not in FINAL:
        row.status, row.code_submitted_at, row.code_error, row.code_error_kind = "verifying", rec.time_ms, None, None
        row.codes_submitted += 1


def _code_rejected(row: LoginRow, rec: Recorded) -> None:
    f: c.LoginSmsCodeRejected = rec.fact  # type: ignore[assignment]
    if row.status not in FINAL:
        row.status, row.code_error, row.code_error_kind = "scanning", f.reason, f.code


def _succeeded(row: LoginRow, rec: Recorded) -> None:
    f: c.LoginSucceeded = rec.fact  # type: ignore[assignment]
    if row.status in ("success", "failed"):
        return
    row.status, row.profile, row.finished_at = "success", f.profile, rec.time_ms
    row.worker_id = f.worker_id or row.worker_id
    row.reason = row.code = None


def _failed(row: LoginRow, rec: Recorded) -> None:
    f: c.LoginFailed = rec.fact  # type: ignore[assignment]
    if row.status not in FINAL:
        row.status, row.reason, row.code, row.finished_at = "failed", f.reason, f.code, rec.time_ms


def _expired(row: LoginRow, rec: Recorded) -> None:
    if row.status not in FINAL:
        row.status, row.finished_at = "expired", rec.time_ms


def _on_row(change: Callable[[LoginRow, Recorded], None]) -> Handler:
    """A handler that loads the session's row, lets `change` update it, and saves it."""

    def handle(tx: Tx, rec: Recorded) -> None:
        row = _row(tx, rec)
        change(row, rec)
        row.updated_at = rec.time_ms
        tx.put(ROWS, row_key(row.login_id), row)

    return handle


HANDLERS = {
    c.LoginRequested.type_name(): _on_row(_requested),
    c.LoginQrcodeReady.type_name(): _on_row(_qrcode),
    c.LoginQrcodeRefreshed.type_name(): _on_row(_qrcode),
    c.LoginVerificationRequired.type_name(): _on_row(_verification),
    c.LoginSmsCodeSubmitted.type_name(): _on_row(_code_submitted),
    c.LoginSmsCodeRejected.type_name(): _on_row(_code_rejected),
    c.LoginSucceeded.type_name(): _on_row(_succeeded),
    c.LoginFailed.type_name(): _on_row(_failed),
    c.LoginExpired.type_name(): _on_row(_expired),
}
