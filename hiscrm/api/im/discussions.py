"""/api/im/discussions: comments on an account's works and the replies under them, newest first; replying for real."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from hiscrm.api.envelopes import ImPage, ReadyResponse
from hiscrm.api.errors import bad_request, not_found
from hiscrm.api.im.common import (
    Id,
    ItemQuery,
    PageQuery,
    im_router,
    item_id,
    maybe_ident,
    owner,
    path_ident,
    recorded,
    visible_account,
)
from hiscrm.api.im.page_cache import account_page
from hiscrm.api.im.queries import Page, after_key, index, under, walk, work_title
from hiscrm.api.im.sending import RequestId, Text, account_of, send, sent_by_api
from hiscrm.api.im.shaped import ShapedItems, Stored
from hiscrm.api.im.shapes import Discussion, DiscussionStats
from hiscrm.api.routing import Accepted, Call
from hiscrm.api.v1.common import caller
from hiscrm.facts import catalogue as c
from hiscrm.projector.model import Tx
from projections import comments, contents
from projections.comments import CommentRow

router = im_router("im discussions")


class DiscussionQuery(PageQuery, kw_only=True):
    """Without `account_id`, the account is the one holding `parent_comment_id` or `content_id`."""

    content_id: Id | None = None
    parent_comment_id: Id | None = None
    is_read: bool | None = None
    is_new: bool | None = None
    platform: str | None = None


class DiscussionsData(msgspec.Struct, kw_only=True):
    """`data` of the list; `cursor` and `has_more` sit beside `data`."""

    discussions: list[Discussion]


class ThreadData(DiscussionsData, kw_only=True):
    stats: DiscussionStats


class ReplySend(msgspec.Struct, kw_only=True):
    """Reply to a comment (`parent_comment_id`), or comment on a work at the top level (`content_id` without
    `parent_comment_id`). Answers the send with send_status pending; it turns sent or failed when the worker
    reports (GET /api/im/discussions/{discussion_id}, or the events feed)."""

    parent_comment_id: Id | None = None
    content_id: Id | None = None
    content: Text
    account_id: Id | None = None
    request_id: RequestId | None = None


def _account(call: Call, tx: Tx, q: DiscussionQuery) -> str:
    if q.account_id is not None:
        return visible_account(call, tx, q.account_id).account_id
    if q.parent_comment_id is not None:
        return owner(call, tx, comments.accounts_of(tx, q.parent_comment_id), None, f"comment {q.parent_comment_id!r}")
    if q.content_id is not None:
        return owner(call, tx, contents.accounts_of(tx, q.content_id), None, f"work {q.content_id!r}")
    raise bad_request("account_id is required (or name content_id or parent_comment_id)")


def _walk(call: Call, tx: Tx, q: DiscussionQuery, keep: Callable[[CommentRow], bool]) -> Page[Stored]:
    account_id = _account(call, tx, q)
    parent, content_id = maybe_ident(q.parent_comment_id, "parent_comment_id"), maybe_ident(q.content_id, "content_id")
    cursor_row = comments.by_seq(tx, q.cursor) if q.cursor else None
    if parent is not None:
        table, prefix, position = comments.BY_PARENT, under(account_id, parent), comments.parent_key
    elif content_id is not None:
        table, prefix, position = comments.BY_CONTENT, under(account_id, content_id), comments.content_key
    else:
        table, prefix, position = comments.INBOX, under(account_id), comments.inbox_key
    after = after_key(q.cursor, position(cursor_row) if cursor_row else None, prefix)

    def accepted(stored: Stored) -> bool:
        row: CommentRow = stored.row
        return (
            (content_id is None or row.content_id == content_id)
            and (q.is_read is None or row.is_read == q.is_read)
            and (q.is_new is None or row.is_new == q.is_new)
            and (q.platform is None or row.platform == q.platform)
            and keep(row)
        )

    shaped: ShapedItems = call.request.app.state.shaped
    return walk(
        index(tx, table, prefix, after),
        lambda k: shaped.load(tx, comments.ROWS, k, CommentRow),
        accepted,
        q.count,
        q.cursor,
        lambda stored: stored.row.seq,
    )


def _items(call: Call, tx: Tx, page: Page[Stored]) -> list[Any]:
    """The page's discussions as JSON ready to embed; a work's title is looked up once per page."""
    shaped: ShapedItems = call.request.app.state.shaped
    titles: dict[str, str | None] = {}
    items = []
    for stored in page.rows:
        row: CommentRow = stored.row
        if row.content_id not in titles:
            titles[row.content_id] = work_title(tx, row.account_id, row.content_id, None)
        items.append(shaped.json(stored, Discussion.of, titles[row.content_id] or row.content_title))
    return items


@router.route(
    "GET",
    "/api/im/discussions",
    summary="comments and replies, newest first",
    query=DiscussionQuery,
    response=DiscussionsData,
    cursor_beside=True,
)
async def list_discussions(call: Call) -> ReadyResponse:
    q: DiscussionQuery = call.query
    with call.services.models.read() as tx:
        return account_page(call, tx, _account(call, tx, q), lambda: _discussions(call, tx, q))


def _discussions(call: Call, tx: Tx, q: DiscussionQuery) -> ImPage:
    page = _walk(call, tx, q, lambda row: True)
    return ImPage({"discussions": _items(call, tx, page)}, page.cursor, page.has_more)


@router.route(
    "GET",
    "/api/im/discussions/comments/{comment_id}/discussions",
    summary="the replies under a comment, with their counts",
    query=PageQuery,
    response=ThreadData,
    cursor_beside=True,
)
async def thread(call: Call) -> ReadyResponse:
    q: PageQuery = call.query
    comment_id = path_ident(call, "comment_id", "comment id")
    with call.services.models.read() as tx:
        parent = comment_row(call, tx, comment_id, q.account_id)
        return account_page(call, tx, parent.account_id, lambda: _thread(call, tx, q, parent))


def _thread(call: Call, tx: Tx, q: PageQuery, parent: CommentRow) -> ImPage:
    walked = DiscussionQuery(
        account_id=parent.account_id, parent_comment_id=parent.comment_id, cursor=q.cursor, count=q.count
    )
    page = _walk(call, tx, walked, lambda row: True)
    stats = DiscussionStats(total=0, new_count=0, unread_count=0)
    for _, k in tx.scan(comments.BY_PARENT, under(parent.account_id, parent.comment_id), bytes):
        row = tx.get(comments.ROWS, k, CommentRow)
        if row is not None:
            stats.total += 1
            stats.new_count += row.is_new
            stats.unread_count += not row.is_read
    return ImPage({"discussions": _items(call, tx, page), "stats": stats}, page.cursor, page.has_more)


def comment_row(call: Call, tx: Tx, comment_id: str, account_id: str | None) -> CommentRow:
    found = owner(call, tx, comments.accounts_of(tx, comment_id), account_id, f"comment {comment_id!r}")
    row = tx.get(comments.ROWS, comments.row_key(found, comment_id), CommentRow)
    if row is None:
        raise not_found(f"comment {comment_id!r}")
    return row


def _shown(call: Call, tx: Tx, discussion_id: str, account_id: str | None) -> Discussion:
    """An observed comment or reply, or a reply sent through the API that the crawler has not seen yet."""
    reply = sent_by_api(tx, discussion_id, "comment") or sent_by_api(tx, discussion_id, "work")
    if reply is None or (account_id is not None and reply.account_id != account_id):
        row = comment_row(call, tx, discussion_id, account_id)
        return Discussion.of(row, work_title(tx, row.account_id, row.content_id, row.content_title))
    visible_account(call, tx, reply.account_id)
    title = work_title(tx, reply.account_id, reply.video_id, None) if reply.video_id else None
    return Discussion.sending(reply, account_of(tx, reply.account_id), title)


@router.route("GET", "/api/im/discussions/{id}", summary="one comment or reply", query=ItemQuery, response=Discussion)
async def get_discussion(call: Call) -> Discussion:
    discussion_id = path_ident(call, "id", "discussion id")
    with call.services.models.read() as tx:
        return _shown(call, tx, discussion_id, call.query.account_id)


@router.route(
    "PUT", "/api/im/discussions/{id}/read", summary="mark a comment or reply read", query=ItemQuery, response=Discussion
)
async def read_discussion(call: Call) -> Discussion | Accepted:
    discussion_id = path_ident(call, "id", "discussion id")
    with call.services.models.read() as tx:
        row = comment_row(call, tx, discussion_id, call.query.account_id)
    account_id = row.account_id
    facts = [] if row.is_read else [c.CommentRead(account_id=account_id, comment_id=discussion_id, by=caller(call))]
    return await recorded(call, facts, lambda tx: _shown(call, tx, discussion_id, account_id))


@router.route(
    "POST",
    "/api/im/discussions",
    summary="reply to a comment, or comment on a work",
    body=ReplySend,
    response=Discussion,
    status=201,
)
async def reply(call: Call) -> Discussion | Accepted:
    b: ReplySend = call.body
    if b.parent_comment_id is None:
        if b.content_id is None:
            raise bad_request("name parent_comment_id to reply to a comment, or content_id to comment on a work")
        return await _comment_on_work(call, b, item_id(b.content_id, "content_id"))
    with call.services.models.read() as tx:
        parent = comment_row(call, tx, item_id(b.parent_comment_id, "parent_comment_id"), b.account_id)
        if b.content_id is not None and b.content_id != parent.content_id:
            raise bad_request(f"comment {parent.comment_id!r} is on work {parent.content_id!r}, not {b.content_id!r}")
        title = work_title(tx, parent.account_id, parent.content_id, parent.content_title)
    sent = await send(
        call,
        account_id=parent.account_id,
        target_type="comment",
        target_id=parent.comment_id,
        content=b.content,
        request_id=b.request_id,
        video_id=parent.content_id,
    )
    if isinstance(sent, Accepted):
        return sent
    return Discussion.sending(sent.reply, sent.account, title)


async def _comment_on_work(call: Call, b: ReplySend, content_id: str) -> Discussion | Accepted:
    with call.services.models.read() as tx:
        account_id = owner(call, tx, contents.accounts_of(tx, content_id), b.account_id, f"work {content_id!r}",
                           unique=True)  # fmt: skip
        title = work_title(tx, account_id, content_id, None)
    sent = await send(
        call,
        account_id=account_id,
        target_type="work",
        target_id=content_id,
        content=b.content,
        request_id=b.request_id,
        video_id=content_id,
    )
    if isinstance(sent, Accepted):
        return sent
    return Discussion.sending(sent.reply, sent.account, title)
