"""/api/im/history: an account's facts with their stream sequences, read from the stream itself.

The facts are those of the account's inbox aggregate (every observation and IM-state change, in
order) and of its account aggregate (created, updated, assigned, trouble...). A deleted account's
history stays readable. Page with `after_seq` = the previous page's `cursor`.
"""

from __future__ import annotations

import contextlib
from typing import Annotated, Any

import msgspec

from hiscrm.api.errors import not_found
from hiscrm.api.im.common import MAX_SEQ, Id, im_router, sees
from hiscrm.api.routing import Call
from hiscrm.api.v1.common import ident
from hiscrm.facts import codec
from hiscrm.facts.codec import Recorded, to_json_line
from hiscrm.facts.subjects import aggregate_filter
from hiscrm.store.reader import decode_raw, read_raw
from projections import accounts

router = im_router("im history")


class FactsQuery(msgspec.Struct, kw_only=True):
    account_id: Id
    after_seq: Annotated[int, msgspec.Meta(ge=0, le=MAX_SEQ, description="facts after this stream sequence")] = 0
    limit: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 100


class HistoryFact(msgspec.Struct, kw_only=True):
    """One fact as `hiscrm events` prints it; a fact this release cannot read has `data` null and an `error`."""

    seq: int
    time_ms: int
    subject: str
    event: str | None
    schema: int | None
    msg_id: str | None
    correlation_id: str | None
    causation_id: str | None
    data: dict[str, Any] | None
    error: str | None = None


class History(msgspec.Struct, kw_only=True):
    events: list[HistoryFact]
    cursor: int
    has_more: bool


def account_subjects(account_id: str) -> list[str]:
    return [aggregate_filter("inbox", account_id), aggregate_filter("account", account_id)]


async def _known(call: Call, account_id: str) -> bool:
    """Live in the models, or deleted with its history still in the stream."""
    with call.services.models.read() as tx:
        if tx.exists(accounts.ROWS, accounts.row_key(account_id)):
            return True
    return await call.services.store.last_seq("account", account_id) > 0


@router.route(
    "GET", "/api/im/history", summary="an account's facts in stream order", query=FactsQuery, response=History
)
async def history(call: Call) -> History:
    q: FactsQuery = call.query
    account_id = ident(q.account_id, "account_id")
    if not sees(call, account_id) or not await _known(call, account_id):
        raise not_found(f"account {account_id!r}")
    found: list[HistoryFact] = []
    has_more = False
    raws = read_raw(call.services.nc, subject=account_subjects(account_id), from_seq=q.after_seq + 1)
    async with contextlib.aclosing(raws):
        async for raw in raws:
            if len(found) == q.limit:
                has_more = True
                break
            found.append(_fact(decode_raw(raw)))
    return History(events=found, cursor=found[-1].seq if found else q.after_seq, has_more=has_more)


def _fact(item: Any) -> HistoryFact:
    if isinstance(item, Recorded):
        return HistoryFact(**to_json_line(item))
    return HistoryFact(
        seq=item.seq,
        time_ms=item.time_ms,
        subject=item.subject,
        event=item.headers.get(codec.EVENT),
        schema=None,
        msg_id=item.headers.get(codec.MSG_ID),
        correlation_id=None,
        causation_id=None,
        data=None,
        error=item.reason,
    )
