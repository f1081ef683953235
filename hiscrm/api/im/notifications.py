"""/api/im/notifications: new comments, replies and inbound DMs, platform notices and account trouble, newest first.

Served from the notifications model (projections/notifications.py). A notification's `id` is the stream
sequence of the fact that raised it, so a client following `/api/im/events` knows it by that event's id.
Marking one read appends `inbox.notification_read` and answers once the projector shows it; what the
notification points at (a comment, a DM) keeps its own read state. The cursor is the `id` of the last
notification returned.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from typing import Annotated

import msgspec

from hiscrm.api.envelopes import ReadyResponse
from hiscrm.api.errors import bad_request, not_found
from hiscrm.api.im.common import (
    Id,
    ItemQuery,
    Paged,
    Seq,
    account_scope,
    im_router,
    recorded,
    shown,
    visible_account,
)
from hiscrm.api.im.page_cache import account_page, accounts_scope_page
from hiscrm.api.im.queries import bad_cursor, under, walk
from hiscrm.api.im.shaped import ShapedItems, Stored
from hiscrm.api.im.shapes import Notification
from hiscrm.api.routing import Accepted, Call
from hiscrm.api.v1.common import caller
from hiscrm.facts import catalogue as c
from hiscrm.facts.base import Fact
from hiscrm.projector.model import Tx
from projections import inbox_versions, notifications
from projections.notifications import NotificationRow
from projections.paging import scan_after

router = im_router("im notifications")


class NotificationQuery(Paged, kw_only=True):
    """Without `account_id`, every account the token may see."""

    account_id: Id | None = None
    is_read: bool | None = None


class NotificationList(msgspec.Struct, kw_only=True):
    notifications: list[Notification]
    cursor: int
    has_more: bool


class ReadNotifications(msgspec.Struct, kw_only=True):
    ids: Annotated[list[Seq], msgspec.Meta(min_length=1, max_length=500)]
    account_id: Id | None = None


class NotificationsRead(msgspec.Struct, kw_only=True):
    """How many of the named notifications were unread and are read now; `missing` names the unknown ids."""

    read: int
    missing: list[int]


def _newest_first(tx: Tx, shaped: ShapedItems, account_id: str, after_seq: int) -> Iterator[Stored]:
    """One account's notifications strictly older than `after_seq` (all with 0)."""
    after = notifications.row_key(account_id, after_seq) if after_seq else None
    for k, raw in scan_after(tx, notifications.ROWS, under(account_id), after, msgspec.Raw):
        yield shaped.stored(notifications.ROWS, k, bytes(raw), NotificationRow)


@router.route(
    "GET",
    "/api/im/notifications",
    summary="notifications, newest first",
    query=NotificationQuery,
    response=NotificationList,
)
async def list_notifications(call: Call) -> ReadyResponse:
    q: NotificationQuery = call.query
    with call.services.models.read() as tx:
        account_ids = account_scope(call, tx, q.account_id)

        def build() -> NotificationList:
            return _notifications(call, tx, q, account_ids)

        # An account's notifications change with its inbox, its own and its login facts.
        if q.account_id is None:
            return accounts_scope_page(call, tx, account_ids, build, inbox_versions.account_version)
        return account_page(call, tx, account_ids[0], build, inbox_versions.account_version)


def _notifications(call: Call, tx: Tx, q: NotificationQuery, account_ids: list[str]) -> NotificationList:
    if q.cursor and notifications.account_of(tx, q.cursor) not in account_ids:
        raise bad_cursor(q.cursor)
    # Every account's list is newest first by seq, and seqs are unique: merging them is the whole list.
    shaped: ShapedItems = call.request.app.state.shaped
    lists = [_newest_first(tx, shaped, a, q.cursor) for a in account_ids]
    rows = lists[0] if len(lists) == 1 else heapq.merge(*lists, key=lambda stored: -stored.row.seq)
    page = walk(
        rows,
        lambda stored: stored,
        lambda stored: q.is_read is None or stored.row.is_read == q.is_read,
        q.count,
        q.cursor,
        lambda stored: stored.row.seq,
    )
    return NotificationList(
        notifications=[shaped.json(s, Notification.of) for s in page.rows], cursor=page.cursor, has_more=page.has_more
    )


def _seq(raw: str) -> int:
    if not raw.isdigit() or len(raw) > 19:
        raise bad_request(f"notification id {raw!r} is not a notification's id (a stream sequence)")
    return int(raw)


def _find(call: Call, tx: Tx, seq: int, account_id: str | None) -> NotificationRow | None:
    """The notification raised at `seq`, unless there is none or it is of another or a hidden account."""
    found = notifications.account_of(tx, seq)
    if found is None or not shown(call, tx, found) or account_id not in (None, found):
        return None
    return tx.get(notifications.ROWS, notifications.row_key(found, seq), NotificationRow)


def _row(call: Call, tx: Tx, seq: int, account_id: str | None) -> NotificationRow:
    if account_id is not None:
        visible_account(call, tx, account_id)
    row = _find(call, tx, seq, account_id)
    if row is None:
        raise not_found(f"notification {seq}")
    return row


def _read_fact(call: Call, row: NotificationRow) -> Fact | None:
    if row.is_read:
        return None
    return c.NotificationRead(account_id=row.account_id, notification_seq=row.seq, by=caller(call))


@router.route(
    "PUT",
    "/api/im/notifications/{id}/read",
    summary="mark one notification read",
    query=ItemQuery,
    response=Notification,
)
async def read_one(call: Call) -> Notification | Accepted:
    seq = _seq(call.path["id"])
    with call.services.models.read() as tx:
        row = _row(call, tx, seq, call.query.account_id)
    fact = _read_fact(call, row)
    account_id = row.account_id
    return await recorded(call, [fact] if fact else [], lambda tx: Notification.of(_row(call, tx, seq, account_id)))


@router.route(
    "PUT",
    "/api/im/notifications/read-many",
    summary="mark several notifications read",
    body=ReadNotifications,
    response=NotificationsRead,
)
async def read_many(call: Call) -> NotificationsRead | Accepted:
    b: ReadNotifications = call.body
    facts: list[Fact] = []
    missing: list[int] = []
    with call.services.models.read() as tx:
        if b.account_id is not None:
            visible_account(call, tx, b.account_id)
        for seq in dict.fromkeys(b.ids):
            row = _find(call, tx, seq, b.account_id)
            if row is None:
                missing.append(seq)
            elif (fact := _read_fact(call, row)) is not None:
                facts.append(fact)
    return await recorded(call, facts, lambda tx: NotificationsRead(read=len(facts), missing=missing))
