"""/api/v1/activity: the `activity` read model per minute, for the console's plots.

Facts per minute over all accounts, and new comments and inbound DMs per account per minute. Only
minutes with activity are listed; a plot fills the gaps with zeros. Deleted accounts' minutes stay
in the model and are left out here, as every admin list leaves them out.
"""

from __future__ import annotations

from typing import Annotated, TypeVar

import msgspec

from hiscrm.api.routing import Call, Router
from hiscrm.api.v1.common import ADMIN, all_accounts, now_ms
from hiscrm.projector.model import Tx, be64, from_be64, key
from projections import activity
from projections.paging import scan_after

router = Router("v1", ADMIN, "activity")

T = TypeVar("T")


class ActivityQuery(msgspec.Struct, kw_only=True):
    hours: Annotated[int, msgspec.Meta(ge=1, le=168, description="how far back, in hours")] = 6


class FactMinute(msgspec.Struct, kw_only=True):
    minute: int
    facts: int


class NewMinute(msgspec.Struct, kw_only=True):
    minute: int
    comments: int
    messages: int


class AccountActivity(msgspec.Struct, kw_only=True):
    account_id: str
    account_name: str
    minutes: list[NewMinute]


class Activity(msgspec.Struct, kw_only=True):
    """Minutes are Unix milliseconds // 60000; `from_minute` to `to_minute` inclusive is the window asked for."""

    from_minute: int
    to_minute: int
    facts: list[FactMinute]
    accounts: list[AccountActivity]


def _minutes(tx: Tx, table: str, prefix: bytes, first: int, type_: type[T]) -> list[tuple[int, T]]:
    start = prefix + be64(first - 1) if first > 0 else None
    return [(from_be64(k[len(prefix) :]), v) for k, v in scan_after(tx, table, prefix, start, type_)]


@router.route(
    "GET", "/api/v1/activity", summary="facts and new items per minute", query=ActivityQuery, response=Activity
)
async def get_activity(call: Call) -> Activity:
    last = activity.minute_of(now_ms())
    first = last - call.query.hours * 60 + 1
    with call.services.models.read() as tx:
        facts = [FactMinute(minute=m, facts=n) for m, n in _minutes(tx, activity.FACTS, b"", first, int)]
        accounts = [
            AccountActivity(
                account_id=row.account_id,
                account_name=row.account_name,
                minutes=[
                    NewMinute(minute=m, comments=v.comments, messages=v.messages)
                    for m, v in _minutes(tx, activity.NEW, key(row.account_id, b""), first, activity.NewItems)
                ],
            )
            for row in all_accounts(tx)
        ]
    return Activity(from_minute=first, to_minute=last, facts=facts, accounts=accounts)
