"""What the /api/v1 routes share: id checks, lookups that answer 404, and writes that wait for the projector."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Literal, TypeVar, get_args

import msgspec

from hiscrm.api.errors import bad_request, not_found
from hiscrm.api.routing import Accepted, Call
from hiscrm.errors import InvalidToken
from hiscrm.facts.base import Fact
from hiscrm.facts.subjects import token
from hiscrm.projector.model import Tx
from projections import accounts

T = TypeVar("T")

Platform = Literal["douyin"]
PLATFORMS: tuple[str, ...] = get_args(Platform)
ADMIN = frozenset({"admin"})


def ident(value: str, what: str) -> str:
    """`value` if it can be an id (a subject token), else a 400 that says what is wrong with it."""
    try:
        return token(value, what)
    except InvalidToken as exc:
        raise bad_request(str(exc)) from None


def path_id(call: Call, what: str) -> str:
    return ident(call.path["id"], what)


def now_ms() -> int:
    return int(time.time() * 1000)


def caller(call: Call) -> str | None:
    return call.token.name if call.token is not None else None


def account_row(tx: Tx, account_id: str) -> accounts.AccountRow:
    row = tx.get(accounts.ROWS, accounts.row_key(account_id), accounts.AccountRow)
    if row is None:
        raise not_found(f"account {account_id!r}")
    return row


def all_accounts(tx: Tx) -> list[accounts.AccountRow]:
    """Every live account, oldest first."""
    rows = (tx.get(accounts.ROWS, accounts.row_key(a), accounts.AccountRow) for _, a in tx.scan(accounts.ORDER))
    return [row for row in rows if row is not None]


def active_account(tx: Tx, account_id: str) -> accounts.AccountRow:
    row = account_row(tx, account_id)
    if row.status != "active":
        raise bad_request(f"account {account_id!r} is {row.status}; enable it first (PATCH status=active)")
    return row


class Deleted(msgspec.Struct, kw_only=True):
    id: str
    deleted: bool = True


class Pending(msgspec.Struct, kw_only=True):
    """A write recorded in the stream that the read models did not show within the wait bound (202)."""

    id: str
    seq: int
    message: str


def pending(aggregate_id: str, seq: int) -> Pending:
    message = f"recorded as sequence {seq}; the read models have not shown it yet"
    return Pending(id=aggregate_id, seq=seq, message=message)


async def written(call: Call, fact: Fact, view: Callable[[Tx], T], **append: Any) -> T | Accepted:
    """Append `fact`, wait for the projector, and answer with `view` of the models that now show it."""
    services = call.services
    done, visible = await services.append_and_wait(fact, **append)
    if not visible:
        return Accepted(pending(fact.aggregate_id, done.seq))
    with services.models.read() as tx:
        return view(tx)
