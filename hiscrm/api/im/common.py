"""What the /api/im routes share: the router, paging parameters, which accounts a token may see, writes that wait.

Roles `im` and `admin` may call every IM route; a token limited to some accounts sees only those,
and an account it may not see answers as if it did not exist, so ids cannot be probed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, TypeVar

import msgspec

from hiscrm.api.errors import ApiError, bad_request, not_found
from hiscrm.api.routing import Accepted, Call, Router
from hiscrm.api.v1.common import all_accounts, ident, pending
from hiscrm.facts.base import Fact
from hiscrm.projector.model import Tx
from projections import accounts

T = TypeVar("T")

IM = frozenset({"im", "admin"})
# Sequences and times are unsigned 64-bit in the indexes: anything larger names nothing.
MAX_SEQ = 2**63 - 1
Seq = Annotated[int, msgspec.Meta(ge=0, le=MAX_SEQ)]
Cursor = Annotated[
    int, msgspec.Meta(ge=0, le=MAX_SEQ, description="the `cursor` of the previous page; 0 for the first page")
]
MAX_COUNT = 100
# A list whose query is Paged clamps its count; a bare Count still refuses more than a page.
Count = Annotated[int, msgspec.Meta(ge=1, le=MAX_COUNT, description="items per page")]
PageCount = Annotated[
    int,
    msgspec.Meta(
        ge=1, le=MAX_SEQ, description=f"items per page; more than {MAX_COUNT} answers {MAX_COUNT} with has_more"
    ),
]
Id = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]


class Paged(msgspec.Struct, kw_only=True):
    """`cursor` and `count` of a list. The predecessor's clients ask for 1,000 at a time: a count above the
    page maximum is answered with the maximum and `has_more`, as a short page of a longer list."""

    cursor: Cursor = 0
    count: PageCount = 20

    def __post_init__(self) -> None:
        self.count = min(self.count, MAX_COUNT)


class ItemQuery(msgspec.Struct, kw_only=True):
    """`account_id` picks the account when an id alone names items of two managed accounts."""

    account_id: Id | None = None


class PageQuery(Paged, kw_only=True):
    """As ItemQuery, for a list."""

    account_id: Id | None = None


def im_router(tag: str) -> Router:
    return Router("im", IM, tag)


def sees(call: Call, account_id: str) -> bool:
    return call.token is None or call.token.may_see(account_id)


def shown(call: Call, tx: Tx, account_id: str) -> bool:
    """The one rule for whose items a route may answer with: an account the token may see and that still exists.

    A deleted account's items stay in the models (its history is replayable), but from its deletion on
    they leave every list, search, count and lookup by id alike.
    """
    return sees(call, account_id) and tx.exists(accounts.ROWS, accounts.row_key(account_id))


class Shown:
    """`shown` for the many items of one page, asking once per account."""

    def __init__(self, call: Call, tx: Tx) -> None:
        self.call, self.tx = call, tx
        self._known: dict[str, bool] = {}

    def __call__(self, account_id: str) -> bool:
        found = self._known.get(account_id)
        if found is None:
            found = self._known[account_id] = shown(self.call, self.tx, account_id)
        return found


def visible_account(call: Call, tx: Tx, account_id: str | None) -> accounts.AccountRow:
    """The account a route names in `account_id`: 400 when missing or malformed, 404 when unknown or hidden."""
    row = tx.get(accounts.ROWS, accounts.row_key(visible_account_id(call, tx, account_id)), accounts.AccountRow)
    assert row is not None  # visible_account_id found it in this same transaction
    return row


def visible_account_id(call: Call, tx: Tx, account_id: str | None) -> str:
    """As visible_account, without decoding the row: the inbox pages check an account on every request."""
    if account_id is None:
        raise bad_request("account_id is required")
    account_id = ident(account_id, "account_id")
    if not shown(call, tx, account_id):
        raise not_found(f"account {account_id!r}")
    return account_id


def account_scope(call: Call, tx: Tx, account_id: str | None) -> list[str]:
    """The accounts a list, count or bulk read covers: the one named (checked), else every account the
    token sees, oldest first (read from the order index, without decoding their rows)."""
    if account_id is not None:
        return [visible_account_id(call, tx, account_id)]
    return [a for _, a in tx.scan(accounts.ORDER, b"", str) if sees(call, a)]


def visible_accounts(call: Call, tx: Tx) -> list[accounts.AccountRow]:
    """Every account `shown` accepts: all_accounts lists only those not deleted."""
    return [row for row in all_accounts(tx) if sees(call, row.account_id)]


def owner(call: Call, tx: Tx, owners: Sequence[str], account_id: str | None, what: str, *, unique: bool = False) -> str:
    """The account holding an item named by id alone: `account_id` if given, else the first shown one.

    With `unique`, an id that two shown accounts hold is a 400 asking for `account_id`: a write that
    acts on the platform must not guess which account acts.
    """
    if account_id is not None:
        visible_account(call, tx, account_id)
        if account_id in owners:
            return account_id
        raise not_found(f"{what} in account {account_id!r}")
    found = [a for a in owners if shown(call, tx, a)]
    if not found:
        raise not_found(what)
    if unique and len(found) > 1:
        raise bad_request(f"{what} is in several accounts ({', '.join(found)}); name one with account_id")
    return found[0]


MAX_ITEM_ID = 128


def item_id(value: str, what: str) -> str:
    """A platform's own id of a work, comment, conversation or message.

    It is never part of a subject, only of read-model keys, so Douyin's `0:1:<uid>:<uid>` conversation
    ids pass; what would break a key (control characters, the key separator among them) does not.
    """
    if not value or len(value) > MAX_ITEM_ID:
        raise bad_request(f"{what} must be 1 to {MAX_ITEM_ID} characters, got {len(value)}")
    if not value.isprintable():
        raise bad_request(f"{what} {value!r} contains control characters")
    return value


def path_ident(call: Call, name: str, what: str) -> str:
    return item_id(call.path[name], what)


def maybe_ident(value: str | None, what: str) -> str | None:
    return None if value is None else item_id(value, what)


async def recorded(call: Call, facts: Sequence[Fact], view: Callable[[Tx], T]) -> T | Accepted:
    """Append IM-state facts and answer with `view` once the projector shows them, or 202 with the sequence.

    With nothing to record (the state is already so) the answer is the current view at once.
    """
    services = call.services
    if facts:
        done = await services.store.append_many(facts)
        last = max(d.seq for d in done)
        if not await services.models.wait_for(last, services.write_wait_s):
            return Accepted(pending(facts[-1].aggregate_id, last))
    with services.models.read() as tx:
        return view(tx)


def refuse_limited(call: Call) -> None:
    """Account management is for tokens that see every account."""
    if call.token is not None and call.token.accounts is not None:
        raise ApiError(403, f"token {call.token.name!r} is limited to some accounts and may not manage accounts")
