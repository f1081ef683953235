"""/api/im/accounts: the managed accounts as IM users. Writes go through the admin API's own account routes."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from hiscrm.api.envelopes import ReadyResponse
from hiscrm.api.im.common import Paged, im_router, refuse_limited, sees, visible_account
from hiscrm.api.im.page_cache import accounts_page
from hiscrm.api.im.queries import Page, bad_cursor, index, walk
from hiscrm.api.im.shaped import ShapedItems, Stored
from hiscrm.api.im.shapes import User, UserStatus, user_status
from hiscrm.api.routing import Accepted, Call
from hiscrm.api.v1 import accounts as admin
from hiscrm.api.v1.common import Platform, ident
from hiscrm.facts import catalogue as c
from hiscrm.facts.subjects import event_type_filter, parse_event_subject
from hiscrm.projector.model import Tx, be64
from hiscrm.store.reader import read_raw
from projections import accounts

router = im_router("im accounts")

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Interval = Annotated[int, msgspec.Meta(ge=5, le=3600, description="seconds between crawl passes")]


class UserQuery(Paged, kw_only=True):
    status: UserStatus | None = None
    platform: str | None = None


class UserList(msgspec.Struct, kw_only=True):
    users: list[User]
    cursor: int
    has_more: bool


class UserCreate(msgspec.Struct, kw_only=True):
    user_name: Name
    platform: Platform = "douyin"
    user_id: Annotated[str, msgspec.Meta(min_length=1, max_length=100)] | None = None
    monitor_interval: Interval = 30


class UserUpdate(msgspec.Struct, kw_only=True):
    """Fields left out stay as they are. `status`: inactive pauses monitoring, active resumes it."""

    user_name: Name | None = None
    monitor_interval: Interval | None = None
    status: Literal["active", "inactive"] | None = None


class UserDeleted(msgspec.Struct, kw_only=True):
    user_id: str
    deleted: bool = True


async def _check_cursor(call: Call, cursor: int) -> None:
    """400 unless `cursor` is the seq of an account the token may see, or of one since deleted.

    A deleted account has left the models; whether the seq created an account is in the stream.
    """
    with call.services.models.read() as tx:
        account_id = tx.get(accounts.ORDER, be64(cursor), str)
    if account_id is None:
        created = event_type_filter(c.AccountCreated.aggregate, c.AccountCreated.event)
        async for raw in read_raw(call.services.nc, subject=created, from_seq=cursor, to_seq=cursor):
            if raw.seq == cursor:
                account_id = parse_event_subject(raw.subject)[1]
    if account_id is None or not sees(call, account_id):
        raise bad_cursor(cursor)


@router.route("GET", "/api/im/accounts", summary="accounts, oldest first", query=UserQuery, response=UserList)
async def list_accounts(call: Call) -> ReadyResponse:
    q: UserQuery = call.query
    if q.cursor:
        await _check_cursor(call, q.cursor)
    with call.services.models.read() as tx:
        return accounts_page(call, tx, lambda: _accounts(call, tx, q))


def _accounts(call: Call, tx: Tx, q: UserQuery) -> UserList:
    shaped: ShapedItems = call.request.app.state.shaped

    def load(account_id: str) -> Stored | None:
        return shaped.load(tx, accounts.ROWS, accounts.row_key(account_id), accounts.AccountRow)

    def keep(stored: Stored) -> bool:
        row: accounts.AccountRow = stored.row
        return (
            sees(call, row.account_id)
            and (q.status is None or user_status(row) == q.status)
            and (q.platform is None or row.platform == q.platform)
        )

    # Deleted accounts leave the index, so a cursor naming one still resumes at the right place.
    order = index(tx, accounts.ORDER, b"", be64(q.cursor) if q.cursor else None, str)
    page: Page[Stored] = walk(
        order,
        load,
        keep,
        q.count,
        q.cursor,
        lambda stored: stored.row.seq,
    )
    return UserList(users=[shaped.json(s, User.of) for s in page.rows], cursor=page.cursor, has_more=page.has_more)


@router.route("GET", "/api/im/accounts/{user_id}", summary="one account", response=User)
async def get_account(call: Call) -> User:
    with call.services.models.read() as tx:
        return User.of(visible_account(call, tx, call.path["user_id"]))


def _view(call: Call, result: object, account_id: str) -> User | Accepted:
    if isinstance(result, Accepted):
        return result
    with call.services.models.read() as tx:
        return User.of(visible_account(call, tx, account_id))


@router.route("POST", "/api/im/accounts", summary="add an account", body=UserCreate, response=User, status=201)
async def create_account(call: Call) -> User | Accepted:
    refuse_limited(call)
    b: UserCreate = call.body
    body = admin.AccountCreate(
        platform=b.platform, account_name=b.user_name, account_id=b.user_id, monitor_interval=b.monitor_interval
    )
    created = await admin.create_account(_as_admin(call, body))
    if isinstance(created, Accepted):
        return created
    return _view(call, created, created.id)


@router.route("PUT", "/api/im/accounts/{user_id}", summary="change an account", body=UserUpdate, response=User)
async def update_account(call: Call) -> User | Accepted:
    refuse_limited(call)
    account_id = ident(call.path["user_id"], "user_id")
    b: UserUpdate = call.body
    status = None if b.status is None else ("active" if b.status == "active" else "disabled")
    body = admin.AccountPatch(account_name=b.user_name, monitor_interval=b.monitor_interval, status=status)
    return _view(call, await admin.update_account(_as_admin(call, body, id=account_id)), account_id)


@router.route(
    "DELETE", "/api/im/accounts/{user_id}", summary="delete an account; its history stays", response=UserDeleted
)
async def delete_account(call: Call) -> UserDeleted | Accepted:
    refuse_limited(call)
    account_id = ident(call.path["user_id"], "user_id")
    deleted = await admin.delete_account(_as_admin(call, None, id=account_id))
    return deleted if isinstance(deleted, Accepted) else UserDeleted(user_id=account_id)


def _as_admin(call: Call, body: object, **path: str) -> Call:
    """The same request handed to the admin API's route, which owns the account rules."""
    return Call(call.request, call.token, path, None, body, call.endpoint)
