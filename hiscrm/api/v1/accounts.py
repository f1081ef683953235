"""/api/v1/accounts: the monitored accounts, their settings and their state. Credentials never leave the bus.

The operations on an account are facts like everything else: a logout (`account.logged_out`: the
session is destroyed, crawling stops, the history stays), a crawl now (`account.crawl_requested`,
which the coordinator passes to the account's worker as `crawl_now`), the crawler switches
(`account.updated` with `crawl`, applied live through the account's config) and a pin to a worker
(`account.pinned`, which the coordinator's placement honours).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Annotated, Literal

import msgspec

from hiscrm.api.errors import bad_request, conflict, not_found
from hiscrm.api.routing import Accepted, Call, Router
from hiscrm.api.v1.census import why_unassigned
from hiscrm.api.v1.common import (
    ADMIN,
    Deleted,
    Platform,
    account_row,
    all_accounts,
    caller,
    ident,
    path_id,
    written,
)
from hiscrm.api.v1.proxy_book import ProxyBook
from hiscrm.errors import ConcurrencyConflict
from hiscrm.facts import catalogue as c
from hiscrm.projector.model import Tx, key
from projections import accounts, workers
from projections.accounts import CrawlHealth, LoginStatus, PassEntry, Runtime, Trouble

router = Router("v1", ADMIN, "accounts")

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
# Room for the `-L<n>` suffix of login session ids, which must stay one 128-character token.
AccountId = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
Interval = Annotated[int, msgspec.Meta(ge=5, le=3600, description="seconds between crawl passes")]
Status = Literal["active", "disabled"]


class Account(msgspec.Struct, kw_only=True):
    """Times are Unix milliseconds. `has_credentials` says a login stored a session, which is never shown."""

    id: str
    platform: str
    account_name: str
    status: Status
    login_status: LoginStatus
    platform_user_id: str | None
    user_info: c.Profile | None
    assigned_worker_id: str | None
    monitor_interval: int
    proxy_id: str | None
    has_credentials: bool
    login_id: str | None
    trouble: Trouble | None
    pinned_worker_id: str | None
    crawl: c.CrawlSwitches
    health: CrawlHealth
    adapter_drift: list[c.DriftedExpectation]  # expectations `hiscrm doctor` last found broken
    waiting_reason: str | None  # why no worker runs it, while none does
    created_at: int
    updated_at: int

    @classmethod
    def of(cls, row: accounts.AccountRow, waiting_reason: str | None = None) -> Account:
        return cls(
            id=row.account_id,
            platform=row.platform,
            account_name=row.account_name,
            status=row.status,
            login_status=row.login_status,
            platform_user_id=row.platform_user_id,
            user_info=row.user_info,
            assigned_worker_id=row.assigned_worker_id,
            monitor_interval=row.monitor_interval,
            proxy_id=row.proxy_id,
            has_credentials=row.has_credentials,
            login_id=row.login_id,
            trouble=row.trouble,
            pinned_worker_id=row.pinned_worker_id,
            crawl=row.crawl,
            health=row.health,
            adapter_drift=row.adapter_drift,
            waiting_reason=waiting_reason,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


class AccountQuery(msgspec.Struct, kw_only=True):
    status: Status | None = None
    platform: str | None = None
    login_status: LoginStatus | None = None


class AccountCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    platform: Platform
    account_name: Name
    account_id: AccountId | None = msgspec.field(default=None)
    monitor_interval: Interval = 30
    proxy_id: str | None = None
    platform_user_id: str | None = None


class SwitchesPatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """What a crawl pass reads; switches left out stay as they are."""

    works: bool | None = None
    comments: bool | None = None
    dms: bool | None = None
    notifications: bool | None = None


class AccountPatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Fields left out (or null) stay as they are."""

    account_name: Name | None = None
    monitor_interval: Interval | None = None
    platform_user_id: str | None = None
    proxy_id: str | None = None
    status: Status | None = None
    crawl: SwitchesPatch | None = None


class Pin(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    worker_id: str | None = msgspec.field(default=None)


class WorkerCrawl(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    worker_id: str


class CrawlRequested(msgspec.Struct, kw_only=True):
    """The accounts a crawl was requested for; the coordinator passes each to the account's worker."""

    account_ids: list[str]
    seq: int


class PassQuery(msgspec.Struct, kw_only=True):
    limit: Annotated[int, msgspec.Meta(ge=1, le=accounts.HISTORY_SIZE)] = accounts.HISTORY_SIZE


class AccountRuntime(msgspec.Struct, kw_only=True):
    """One line of `GET /accounts/status/all`: who runs the account, its login state and its crawl statistics."""

    id: str
    account_name: str
    platform: str
    status: Status
    login_status: LoginStatus
    assigned_worker_id: str | None
    worker_status: str | None
    trouble: Trouble | None
    runtime: Runtime


def _view(account_id: str) -> Callable[[Tx], Account]:
    return lambda tx: _account(tx, account_row(tx, account_id))


def _online(tx: Tx) -> list[workers.WorkerRow]:
    return [w for _, w in tx.scan(workers.TABLE, b"", workers.WorkerRow) if w.status == "online"]


def _account(tx: Tx, row: accounts.AccountRow, online: list[workers.WorkerRow] | None = None) -> Account:
    if row.assigned_worker_id is not None:
        return Account.of(row)
    return Account.of(row, why_unassigned(row, _online(tx) if online is None else online))


async def _require_proxy(call: Call, proxy_id: str | None) -> None:
    if proxy_id is not None and await ProxyBook(call.services.nc).get(ident(proxy_id, "proxy_id")) is None:
        raise bad_request(f"proxy {proxy_id!r} does not exist; create it with POST /api/v1/proxies")


@router.route("GET", "/api/v1/accounts", summary="list accounts", query=AccountQuery, response=list[Account])
async def list_accounts(call: Call) -> list[Account]:
    q: AccountQuery = call.query
    with call.services.models.read() as tx:
        online = _online(tx)
        return [
            _account(tx, row, online)
            for row in all_accounts(tx)
            if (q.status is None or row.status == q.status)
            and (q.platform is None or row.platform == q.platform)
            and (q.login_status is None or row.login_status == q.login_status)
        ]


@router.route(
    "GET",
    "/api/v1/accounts/status/all",
    summary="every account's worker, login state and crawl statistics",
    response=list[AccountRuntime],
)
async def all_status(call: Call) -> list[AccountRuntime]:
    with call.services.models.read() as tx:
        return [_runtime(tx, row) for row in all_accounts(tx)]


def _runtime(tx: Tx, row: accounts.AccountRow) -> AccountRuntime:
    worker = None
    if row.assigned_worker_id is not None:
        worker = tx.get(workers.TABLE, key(row.assigned_worker_id), workers.WorkerRow)
    return AccountRuntime(
        id=row.account_id,
        account_name=row.account_name,
        platform=row.platform,
        status=row.status,
        login_status=row.login_status,
        assigned_worker_id=row.assigned_worker_id,
        worker_status=worker.status if worker is not None else None,
        trouble=row.trouble,
        runtime=row.runtime,
    )


@router.route("GET", "/api/v1/accounts/{id}", summary="one account", response=Account)
async def get_account(call: Call) -> Account:
    account_id = path_id(call, "account id")
    with call.services.models.read() as tx:
        return _account(tx, account_row(tx, account_id))


@router.route(
    "POST",
    "/api/v1/accounts",
    summary="add an account; the coordinator assigns it to a worker",
    body=AccountCreate,
    response=Account,
    status=201,
)
async def create_account(call: Call) -> Account | Accepted:
    b: AccountCreate = call.body
    account_id = ident(b.account_id, "account_id") if b.account_id is not None else f"acc-{secrets.token_hex(6)}"
    if not b.account_name.strip():
        raise bad_request("account_name is blank")
    await _require_proxy(call, b.proxy_id)
    services = call.services
    with services.models.read() as tx:
        if tx.exists(accounts.ROWS, accounts.row_key(account_id)):
            raise conflict(f"account {account_id!r} already exists")
    if await services.store.last_seq("account", account_id):
        raise conflict(f"account id {account_id!r} belonged to a deleted account, whose history stays; choose another")
    # The key first: once account.created is visible, a login may already need it.
    await services.keys.create(account_id)
    fact = c.AccountCreated(
        account_id=account_id,
        platform=b.platform,
        account_name=b.account_name,
        monitor_interval=b.monitor_interval,
        platform_user_id=b.platform_user_id,
        proxy_id=b.proxy_id,
    )
    try:
        return await written(call, fact, _view(account_id), expected_last_seq=0)
    except ConcurrencyConflict:
        raise conflict(f"account {account_id!r} already exists") from None


@router.route(
    "PATCH", "/api/v1/accounts/{id}", summary="change an account's settings", body=AccountPatch, response=Account
)
async def update_account(call: Call) -> Account | Accepted:
    account_id = path_id(call, "account id")
    b: AccountPatch = call.body
    given = {name: v for name in AccountPatch.__struct_fields__ if (v := getattr(b, name)) is not None}
    if not given:
        raise bad_request(f"nothing to change; send one or more of {', '.join(AccountPatch.__struct_fields__)}")
    if b.account_name is not None and not b.account_name.strip():
        raise bad_request("account_name is blank")
    await _require_proxy(call, b.proxy_id)
    with call.services.models.read() as tx:
        row = account_row(tx, account_id)
        unchanged = _account(tx, row)
    if b.crawl is not None:
        switches = {n: v for n in SwitchesPatch.__struct_fields__ if (v := getattr(b.crawl, n)) is not None}
        given["crawl"] = msgspec.structs.replace(row.crawl, **switches)
    changed = {name: v for name, v in given.items() if getattr(row, name) != v}
    if not changed:
        return unchanged
    return await written(call, c.AccountUpdated(account_id=account_id, **changed), _view(account_id))


@router.route(
    "DELETE",
    "/api/v1/accounts/{id}",
    summary="delete an account: its credential key is destroyed, its history stays",
    response=Deleted,
)
async def delete_account(call: Call) -> Deleted | Accepted:
    account_id = path_id(call, "account id")
    services = call.services
    with services.models.read() as tx:
        account_row(tx, account_id)
    # The key goes before the fact: if the append fails, a retry still finds the account and
    # finishes the job, while the opposite order could leave a live key behind a gone account.
    await services.keys.destroy(account_id)
    fact = c.AccountDeleted(account_id=account_id, reason=f"deleted by {caller(call)}")
    return await written(call, fact, lambda tx: Deleted(id=account_id))


@router.route(
    "POST",
    "/api/v1/accounts/{id}/logout",
    summary="log out: the stored session is destroyed and crawling stops; the history stays",
    response=Account,
)
async def logout(call: Call) -> Account | Accepted:
    account_id = path_id(call, "account id")
    with call.services.models.read() as tx:
        row = account_row(tx, account_id)
        if not row.has_credentials and row.login_status != "logging_in":
            return _account(tx, row)  # nothing to destroy: logging out twice changes nothing
    return await written(call, c.AccountLoggedOut(account_id=account_id, by=caller(call)), _view(account_id))


@router.route(
    "POST",
    "/api/v1/accounts/{id}/crawl-now",
    summary="crawl the account now rather than at its next interval",
    response=CrawlRequested,
    status=202,
)
async def crawl_now(call: Call) -> CrawlRequested:
    account_id = path_id(call, "account id")
    with call.services.models.read() as tx:
        row = account_row(tx, account_id)
    _crawlable(row)
    return await _request_crawls(call, [account_id])


@router.route(
    "POST",
    "/api/v1/accounts/crawl-now",
    summary="crawl every logged-in account of one worker now",
    body=WorkerCrawl,
    response=CrawlRequested,
    status=202,
)
async def crawl_worker_now(call: Call) -> CrawlRequested:
    worker_id = ident(call.body.worker_id, "worker_id")
    with call.services.models.read() as tx:
        if tx.get(workers.TABLE, key(worker_id), workers.WorkerRow) is None:
            raise not_found(f"worker {worker_id!r}")
        held = [row for row in all_accounts(tx) if row.assigned_worker_id == worker_id]
    return await _request_crawls(call, [row.account_id for row in held if _crawlable(row, quiet=True)])


def _crawlable(row: accounts.AccountRow, *, quiet: bool = False) -> bool:
    """Whether a pass can run; otherwise (unless quiet) a 409 that says why not."""
    why = None
    if row.status != "active":
        why = f"account {row.account_id!r} is {row.status}"
    elif row.login_status not in ("logged_in", "blocked") and not row.session_valid:
        why = f"account {row.account_id!r} is not logged in ({row.login_status}); log it in first"
    elif row.assigned_worker_id is None:
        why = f"account {row.account_id!r} has no worker"
    if why is not None and not quiet:
        raise conflict(why)
    return why is None


async def _request_crawls(call: Call, account_ids: list[str]) -> CrawlRequested:
    by = caller(call)
    done = await call.services.store.append_many(c.AccountCrawlRequested(account_id=a, by=by) for a in account_ids)
    return CrawlRequested(account_ids=account_ids, seq=max((d.seq for d in done), default=0))


@router.route(
    "PUT",
    "/api/v1/accounts/{id}/pin",
    summary="run the account only on this worker (worker_id null: anywhere again); it waits while that worker is away",
    body=Pin,
    response=Account,
)
async def pin(call: Call) -> Account | Accepted:
    account_id = path_id(call, "account id")
    worker_id = ident(call.body.worker_id, "worker_id") if call.body.worker_id is not None else None
    with call.services.models.read() as tx:
        row = account_row(tx, account_id)
        if row.pinned_worker_id == worker_id:
            return _account(tx, row)
        if worker_id is not None and tx.get(workers.TABLE, key(worker_id), workers.WorkerRow) is None:
            raise bad_request(f"worker {worker_id!r} has never registered; pin to a worker from GET /api/v1/workers")
    fact = c.AccountPinned(account_id=account_id, worker_id=worker_id, by=caller(call))
    return await written(call, fact, _view(account_id))


@router.route(
    "GET",
    "/api/v1/accounts/{id}/passes",
    summary="the account's recent crawl passes, newest first: completed ones and failures with their reason",
    query=PassQuery,
    response=list[PassEntry],
)
async def passes(call: Call) -> list[PassEntry]:
    account_id = path_id(call, "account id")
    with call.services.models.read() as tx:
        account_row(tx, account_id)
        return accounts.history(tx, account_id)[: call.query.limit]
