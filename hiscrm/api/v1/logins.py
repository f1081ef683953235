"""QR login sessions: an admin starts one for an account; the coordinator hands it to the account's worker,
whose facts (qrcode_ready, scanning, success...) the session then shows.

A session id is `<account_id>-L<n>`, n counting the account's sessions, and `login.requested` is
appended only if that session has no fact yet. Two admins pressing "log in" together therefore
start one session: the second append is refused, and the second caller gets the first's session.

When the platform asks for an SMS code after the scan, the operator submits it to the session; it is
sealed with the account's key before it is appended, and the coordinator passes it to the worker.
A session import is a login session too: the uploaded cookies are turned into a browser state,
sealed, and carried by `login.requested` (method `import`) to the worker, which proves them by
loading the creator home.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

import msgspec

from hiscrm.api.envelopes import JSONResponse, success
from hiscrm.api.errors import conflict, not_found
from hiscrm.api.routing import Accepted, Call, Router
from hiscrm.api.v1.common import ADMIN, account_row, active_account, caller, now_ms, path_id, written
from hiscrm.api.v1.cookies import CookieExport, storage_state
from hiscrm.errors import ConcurrencyConflict
from hiscrm.facts import catalogue as c
from hiscrm.projector.model import Tx, key
from projections import login_sessions
from projections.login_sessions import FINAL, LoginRow, Status

router = Router("v1", ADMIN, "logins")

LOGIN_LIFE_MS = 5 * 60 * 1000
ATTEMPTS = 5


class LoginSession(msgspec.Struct, kw_only=True):
    """Times are Unix milliseconds; `qrcode` (a PNG data URL) is shown only while the session is live."""

    id: str
    account_id: str
    status: Status
    live: bool
    qrcode: str | None
    qr_expires_at: int | None
    expires_at: int | None
    requested_by: str | None
    worker_id: str | None
    verification_method: str | None
    message: str | None
    method: Literal["qr", "import"]
    awaiting_sms_code: bool
    codes_submitted: int
    code_submitted_at: int | None
    code_error: str | None
    code_error_kind: str | None
    reason: str | None
    code: str | None
    profile: c.Profile | None
    created_at: int
    updated_at: int
    finished_at: int | None

    @classmethod
    def of(cls, row: LoginRow) -> LoginSession:
        live = _is_live(row)
        return cls(
            id=row.login_id,
            account_id=row.account_id,
            status=row.status,
            live=live,
            qrcode=row.qrcode if live else None,
            qr_expires_at=row.qr_expires_at,
            expires_at=row.expires_at,
            requested_by=row.requested_by,
            worker_id=row.worker_id,
            verification_method=row.verification_method,
            message=row.message,
            method=row.method,
            awaiting_sms_code=live and _awaits_code(row),
            codes_submitted=row.codes_submitted,
            code_submitted_at=row.code_submitted_at,
            code_error=row.code_error,
            code_error_kind=row.code_error_kind,
            reason=row.reason,
            code=row.code,
            profile=row.profile,
            created_at=row.created_at,
            updated_at=row.updated_at,
            finished_at=row.finished_at,
        )


class SmsCode(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    code: Annotated[str, msgspec.Meta(pattern=r"^\s*[0-9]{4,8}\s*$", description="the digits the SMS carried")]


class HistoryQuery(msgspec.Struct, kw_only=True):
    limit: Annotated[int, msgspec.Meta(ge=1, le=500)] = 50


def _awaits_code(row: LoginRow) -> bool:
    return row.verification_method == "sms" and row.status in ("scanning", "verifying")


def _is_live(row: LoginRow) -> bool:
    # The coordinator appends login.expired when a session lapses; until it has, the clock decides.
    return row.status not in FINAL and (row.expires_at or 0) > now_ms()


def _session(tx: Tx, login_id: str) -> LoginRow:
    row = tx.get(login_sessions.ROWS, login_sessions.row_key(login_id), LoginRow)
    if row is None:
        raise not_found(f"login session {login_id!r}")
    return row


def _view(login_id: str) -> Callable[[Tx], LoginSession]:
    return lambda tx: LoginSession.of(_session(tx, login_id))


def _history(tx: Tx, account_id: str) -> list[str]:
    return [login_id for _, login_id in tx.scan(login_sessions.HISTORY, key(account_id, b""), str)]


@router.route(
    "POST",
    "/api/v1/accounts/{id}/login",
    summary="start a QR login (201), or get the account's live session (200)",
    response=LoginSession,
    status=201,
)
async def start_login(call: Call) -> LoginSession | Accepted | JSONResponse:
    return await _new_session(call, path_id(call, "account id"), None)


async def _new_session(
    call: Call, account_id: str, sealed_import: str | None
) -> LoginSession | Accepted | JSONResponse:
    """A new login session for the account, or (200) the live one it has: a QR login, or with
    `sealed_import` a session import, which a live session of either kind refuses (409)."""
    services = call.services
    for _ in range(ATTEMPTS):
        with services.models.read() as tx:
            active_account(tx, account_id)
            current = login_sessions.latest(tx, account_id)
            if current is not None and _is_live(current):
                if sealed_import is not None:
                    raise conflict(f"account {account_id!r} has a login under way ({current.login_id}); wait for it")
                return success("v1", LoginSession.of(current), 200)
            login_id = f"{account_id}-L{len(_history(tx, account_id)) + 1}"
        fact = c.LoginRequested(
            login_id=login_id,
            account_id=account_id,
            expires_at_ms=now_ms() + LOGIN_LIFE_MS,
            requested_by=caller(call),
            method="qr" if sealed_import is None else "import",
            sealed_import=sealed_import,
        )
        try:
            return await written(call, fact, _view(login_id), expected_last_seq=0)
        except ConcurrencyConflict:
            # That session exists already (another caller, or facts the models have not shown yet):
            # let the models catch up with it, then decide again.
            await services.models.wait_for(await services.store.last_seq("login", login_id), services.write_wait_s)
    raise conflict(f"login sessions of account {account_id!r} are being started concurrently; try again")


@router.route(
    "POST",
    "/api/v1/accounts/{id}/session-import",
    summary="log in with a session exported from a browser (cookies); the worker proves it on the creator home",
    body=CookieExport,
    response=LoginSession,
    status=201,
)
async def import_session(call: Call) -> LoginSession | Accepted | JSONResponse:
    account_id = path_id(call, "account id")
    with call.services.models.read() as tx:
        active_account(tx, account_id)
    state = storage_state(call.body)
    sealed = await call.services.keys.seal_for(account_id, msgspec.json.encode(state))
    if sealed is None:
        raise conflict(f"account {account_id!r} has no credential key (was it deleted?)")
    return await _new_session(call, account_id, sealed)


@router.route(
    "POST",
    "/api/v1/login-sessions/{id}/sms-code",
    summary="pass the SMS code the platform sent to the account's phone to the login under way",
    body=SmsCode,
    response=LoginSession,
)
async def submit_sms_code(call: Call) -> LoginSession | Accepted:
    login_id = path_id(call, "login session id")
    services = call.services
    with services.models.read() as tx:
        row = _session(tx, login_id)
    if not _is_live(row):
        raise conflict(f"login session {login_id!r} is {row.status}; start a new login")
    if not _awaits_code(row):
        raise conflict(f"login session {login_id!r} is not waiting for an SMS code (it is {row.status})")
    sealed = await services.keys.seal_for(row.account_id, call.body.code.strip().encode())
    if sealed is None:
        raise conflict(f"account {row.account_id!r} has no credential key (was it deleted?)")
    fact = c.LoginSmsCodeSubmitted(
        login_id=login_id, account_id=row.account_id, sealed_code=sealed, submitted_by=caller(call)
    )
    return await written(call, fact, _view(login_id))


@router.route("GET", "/api/v1/login-sessions/{id}", summary="one login session", response=LoginSession)
async def get_session(call: Call) -> LoginSession:
    login_id = path_id(call, "login session id")
    with call.services.models.read() as tx:
        return LoginSession.of(_session(tx, login_id))


@router.route(
    "GET",
    "/api/v1/accounts/{id}/login-sessions",
    summary="an account's login sessions, newest first",
    query=HistoryQuery,
    response=list[LoginSession],
)
async def account_sessions(call: Call) -> list[LoginSession]:
    account_id = path_id(call, "account id")
    limit = call.query.limit
    with call.services.models.read() as tx:
        account_row(tx, account_id)
        return [LoginSession.of(_session(tx, login_id)) for login_id in _history(tx, account_id)[:limit]]
