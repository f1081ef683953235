"""/api/im/unified-messages: comments, replies (discussions) and DMs of one account or all, newest first.

The cursor is the `seq` of the last item returned; `projections.paging.unified` resumes strictly after
it, so pages of one walk never repeat or skip an item while new facts arrive.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal, get_args

import msgspec

from hiscrm.api.envelopes import ImPage, ReadyResponse
from hiscrm.api.errors import ApiError, bad_request, not_found
from hiscrm.api.im.common import (
    Id,
    Paged,
    Shown,
    account_scope,
    im_router,
    item_id,
    owner,
    path_ident,
    recorded,
    visible_account,
    visible_account_id,
    visible_accounts,
)
from hiscrm.api.im.page_cache import account_page, accounts_scope_page
from hiscrm.api.im.queries import bad_cursor, work_title
from hiscrm.api.im.shaped import ShapedItems
from hiscrm.api.im.shapes import UnifiedItem, User, unified_comment, unified_message
from hiscrm.api.routing import Accepted, Call
from hiscrm.api.v1.common import caller
from hiscrm.facts import catalogue as c
from hiscrm.facts.base import Fact
from hiscrm.projector.model import Tx
from projections import comments, conversations, notifications, paging, unread
from projections.comments import CommentRow
from projections.conversations import MessageRow

router = im_router("im unified")

BusinessType = Literal["comment", "discussion", "direct_message"]
BUSINESS_TYPES: tuple[str, ...] = get_args(BusinessType)


class UnifiedQuery(Paged, kw_only=True):
    """`types`: a comma-separated subset of comment, discussion, direct_message (default all).
    Without `account_id`, every account the token may see."""

    account_id: Id | None = None
    types: str | None = None
    is_new: bool | None = None
    is_read: bool | None = None


class StatsQuery(msgspec.Struct, kw_only=True):
    account_id: Id | None = None


class MessagesData(msgspec.Struct, kw_only=True):
    """`data` of the inbox; `cursor` and `has_more` sit beside `data`."""

    messages: list[UnifiedItem]


class UnreadStats(msgspec.Struct, kw_only=True):
    """`total_unread` is comments, discussions and DMs, as the predecessor counted; `unread_notifications`
    (/api/im/notifications) is beside it, not in it, since most notifications point at those same items."""

    total_unread: int
    unread_comments: int
    unread_discussions: int
    unread_direct_messages: int
    unread_notifications: int


class AccountUnread(UnreadStats, kw_only=True):
    """One account's counts, with the id and name `/api/im/accounts` gives it."""

    user_id: str
    user_name: str


class UnreadByAccount(msgspec.Struct, kw_only=True):
    """`total`: the sum over `accounts`, every account the token sees, in the accounts list's order."""

    total: UnreadStats
    accounts: list[AccountUnread]


class ReadOne(msgspec.Struct, kw_only=True):
    business_type: BusinessType
    account_id: Id | None = None


class ReadMany(msgspec.Struct, kw_only=True):
    message_ids: Annotated[list[Id], msgspec.Meta(min_length=1, max_length=500)]
    business_type: BusinessType
    account_id: Id | None = None


class ReadResult(msgspec.Struct, kw_only=True):
    """`read`: how many of the named items were unread and are read now; `missing` names the unknown ids.
    The predecessor's clients read `marked` (every named item is read now) and `marked_count` (how many are)."""

    read: int
    missing: list[str]
    marked: bool
    marked_count: int


def _result(facts: list[Fact], found: int, missing: list[str]) -> ReadResult:
    return ReadResult(read=len(facts), missing=missing, marked=not missing, marked_count=found)


def business_types(raw: str | None) -> frozenset[str]:
    if raw is None or not raw.strip():
        return frozenset(BUSINESS_TYPES)
    chosen = frozenset(t.strip() for t in raw.split(",") if t.strip())
    unknown = chosen - set(BUSINESS_TYPES)
    if unknown:
        raise bad_request(f"types: unknown {', '.join(sorted(unknown))}; use {', '.join(BUSINESS_TYPES)}")
    return chosen


def _page(call: Call, tx: Tx, q: UnifiedQuery, account_id: str | None) -> ImPage:
    titles: dict[tuple[str, str], str | None] = {}
    types = business_types(q.types)
    # One account's page is of an account visible_account_id found shown; every account's asks per item.
    shows = None if account_id is not None else Shown(call, tx)
    want_comments, want_discussions = "comment" in types, "discussion" in types
    want_messages = "direct_message" in types
    shaped: ShapedItems = call.request.app.state.shaped
    items: list[Any] = []
    last_seq, has_more = q.cursor, False
    if q.cursor and shows is not None:
        # Every account's inbox holds only the shown accounts' items; the walk checks the rest of the cursor.
        at = comments.by_seq(tx, q.cursor) or conversations.message_by_seq(tx, q.cursor)
        if at is not None and not shows(at.account_id):
            raise bad_cursor(q.cursor)
    try:
        walk = paging.unified(tx, account_id, q.cursor)
        for kind, row_key in walk:
            if kind == "comment":
                if not (want_comments or want_discussions):
                    continue
                stored = shaped.load(tx, comments.ROWS, row_key, CommentRow)
                if stored is None:
                    continue
                row = stored.row
                if not (want_discussions if row.parent_comment_id else want_comments):
                    continue
            else:
                if not want_messages:
                    continue
                stored = shaped.load(tx, conversations.MESSAGES, row_key, MessageRow)
                if stored is None:
                    continue
                row = stored.row
            if (
                (q.is_new is not None and row.is_new != q.is_new)
                or (q.is_read is not None and row.is_read != q.is_read)
                or not (shows is None or shows(row.account_id))
            ):
                continue
            if len(items) == q.count:
                has_more = True
                break
            if isinstance(row, CommentRow):
                work = (row.account_id, row.content_id)
                if work not in titles:  # a page's comments are often on a few works
                    titles[work] = work_title(tx, row.account_id, row.content_id, row.content_title)
                items.append(shaped.json(stored, unified_comment, titles[work] or row.content_title))
            else:
                items.append(shaped.json(stored, unified_message))
            last_seq = row.seq
    except paging.UnknownCursor:
        raise bad_cursor(q.cursor) from None
    return ImPage({"messages": items}, last_seq, has_more)


@router.route(
    "GET",
    "/api/im/unified-messages",
    summary="the unified inbox, newest first",
    query=UnifiedQuery,
    response=MessagesData,
    cursor_beside=True,
)
async def inbox(call: Call) -> ReadyResponse:
    q: UnifiedQuery = call.query
    with call.services.models.read() as tx:
        if q.account_id is None:
            return accounts_scope_page(call, tx, account_scope(call, tx, None), lambda: _page(call, tx, q, None))
        account_id = visible_account_id(call, tx, q.account_id)
        return account_page(call, tx, account_id, lambda: _page(call, tx, q, account_id))


@router.route(
    "GET",
    "/api/im/unified-messages/stats",
    summary="unread counts of the inbox",
    query=StatsQuery,
    response=UnreadStats,
)
async def stats(call: Call) -> UnreadStats:
    q: StatsQuery = call.query
    with call.services.models.read() as tx:
        if q.account_id is not None:
            return _account_stats(tx, visible_account_id(call, tx, q.account_id))
        return _sum([_account_stats(tx, row.account_id) for row in visible_accounts(call, tx)])


@router.route(
    "GET",
    "/api/im/unified-messages/stats/accounts",
    summary="unread counts of every account the token sees, and their total",
    response=UnreadByAccount,
)
async def stats_by_account(call: Call) -> UnreadByAccount:
    # One request for the console's badges, however many accounts: each account's counters are two
    # key lookups in the unread and notification models, never a walk over items.
    with call.services.models.read() as tx:
        found = [
            AccountUnread(
                user_id=row.account_id,
                user_name=User.of(row).user_name,
                **msgspec.structs.asdict(_account_stats(tx, row.account_id)),
            )
            for row in visible_accounts(call, tx)
        ]
    return UnreadByAccount(total=_sum(found), accounts=found)


def _account_stats(tx: Tx, account_id: str) -> UnreadStats:
    found = unread.counts(tx, account_id)
    return UnreadStats(
        total_unread=found.total_unread,
        unread_comments=found.unread_comments,
        unread_discussions=found.unread_discussions,
        unread_direct_messages=found.unread_direct_messages,
        unread_notifications=notifications.unread(tx, account_id),
    )


def _sum(each: Sequence[UnreadStats]) -> UnreadStats:
    return UnreadStats(
        total_unread=sum(f.total_unread for f in each),
        unread_comments=sum(f.unread_comments for f in each),
        unread_discussions=sum(f.unread_discussions for f in each),
        unread_direct_messages=sum(f.unread_direct_messages for f in each),
        unread_notifications=sum(f.unread_notifications for f in each),
    )


def _read_fact(call: Call, tx: Tx, item_id: str, business_type: str, account_id: str | None) -> Fact | None:
    """The fact that reads one inbox item, None when it is read already; 404 for an unknown item."""
    who = caller(call)
    if business_type == "direct_message":
        found = owner(call, tx, conversations.accounts_of_message(tx, item_id), account_id, f"message {item_id!r}")
        message = tx.get(conversations.MESSAGES, conversations.message_key(found, item_id), MessageRow)
        if message is None:
            raise not_found(f"message {item_id!r}")
        return (
            None
            if message.is_read and not message.is_new
            else c.MessageRead(account_id=found, message_id=item_id, by=who)
        )
    found = owner(call, tx, comments.accounts_of(tx, item_id), account_id, f"{business_type} {item_id!r}")
    comment = tx.get(comments.ROWS, comments.row_key(found, item_id), CommentRow)
    if comment is None or (comment.parent_comment_id is not None) != (business_type == "discussion"):
        raise not_found(f"{business_type} {item_id!r}")
    return None if comment.is_read else c.CommentRead(account_id=found, comment_id=item_id, by=who)


@router.route(
    "PUT",
    "/api/im/unified-messages/{message_id}/read",
    summary="mark one inbox item read",
    body=ReadOne,
    response=ReadResult,
)
async def read_one(call: Call) -> ReadResult | Accepted:
    item_id = path_ident(call, "message_id", "message id")
    b: ReadOne = call.body
    with call.services.models.read() as tx:
        fact = _read_fact(call, tx, item_id, b.business_type, b.account_id)
    facts = [fact] if fact else []
    return await recorded(call, facts, lambda tx: _result(facts, 1, []))


@router.route(
    "PUT",
    "/api/im/unified-messages/read-many",
    summary="mark several inbox items read",
    body=ReadMany,
    response=ReadResult,
)
async def read_many(call: Call) -> ReadResult | Accepted:
    b: ReadMany = call.body
    facts: list[Fact] = []
    missing: list[str] = []
    named = list(dict.fromkeys(item_id(i, "message id") for i in b.message_ids))
    with call.services.models.read() as tx:
        if b.account_id is not None:
            visible_account(call, tx, b.account_id)
        for message_id in named:
            try:
                fact = _read_fact(call, tx, message_id, b.business_type, b.account_id)
            except ApiError as exc:
                if exc.status != 404:
                    raise
                missing.append(message_id)
                continue
            if fact is not None:
                facts.append(fact)
    return await recorded(call, facts, lambda tx: _result(facts, len(named) - len(missing), missing))
