"""/api/im/search: comments, replies and DMs whose text or other party's nickname match `q`, newest first.

Answered from the `search` read model (projections/search.py): the postings of the query's rarest
term, never a scan of every item. Items come in the unified inbox's shape and order; `data.terms`
are the query's parts as they match (normalised), for a client to highlight. Paging as in the
unified inbox: the cursor is the `seq` of the last item returned.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from hiscrm.api.envelopes import ImPage, ReadyResponse
from hiscrm.api.errors import bad_request
from hiscrm.api.im.common import Count, Cursor, Id, account_scope, im_router, visible_account_id
from hiscrm.api.im.page_cache import account_page, accounts_scope_page
from hiscrm.api.im.queries import bad_cursor, work_title
from hiscrm.api.im.shaped import ShapedItems
from hiscrm.api.im.shapes import UnifiedItem, unified_comment, unified_message
from hiscrm.api.im.unified import business_types
from hiscrm.api.routing import Call
from hiscrm.projector.model import Tx
from projections import comments, conversations, search
from projections.comments import CommentRow
from projections.conversations import MessageRow

router = im_router("im search")


class SearchQuery(msgspec.Struct, kw_only=True):
    """`q`: words match whole words (case-insensitive); Chinese and other unspaced text matches anywhere
    inside the item. Every part of `q` must match. Without `account_id`, every account the token may see."""

    q: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    account_id: Id | None = None
    types: str | None = None
    is_read: bool | None = None
    cursor: Cursor = 0
    count: Count = 20


class SearchData(msgspec.Struct, kw_only=True):
    """`data` of a search page; `cursor` and `has_more` sit beside `data`."""

    messages: list[UnifiedItem]
    terms: list[str]


def _after(tx: Tx, cursor: int, account_ids: list[str]) -> bytes | None:
    """The cursor item's place in the results; 400 unless it is an item of these accounts' inboxes."""
    if not cursor:
        return None
    comment = comments.by_seq(tx, cursor)
    message = conversations.message_by_seq(tx, cursor) if comment is None else None
    if comment is not None:
        account_id, letter, item_id = comment.account_id, "c", comment.comment_id
    elif message is not None:
        account_id, letter, item_id = message.account_id, "m", message.message_id
    else:
        raise bad_cursor(cursor)
    at = search.position(tx, account_id, letter, item_id) if account_id in account_ids else None  # type: ignore[arg-type]
    if at is None:
        raise bad_cursor(cursor)
    return at


@router.route(
    "GET",
    "/api/im/search",
    summary="search comments, replies and DMs by text and the other party's nickname, newest first",
    query=SearchQuery,
    response=SearchData,
    cursor_beside=True,
)
async def find(call: Call) -> ReadyResponse:
    q: SearchQuery = call.query
    with call.services.models.read() as tx:
        if q.account_id is not None:
            account_id = visible_account_id(call, tx, q.account_id)
            return account_page(call, tx, account_id, lambda: _parsed(call, tx, q, [account_id]))
        # A page is a function of these accounts' inbox facts and the query string (q, types, is_read,
        # cursor, count): a kept page is found before q is parsed, and a query that fails is never kept.
        account_ids = account_scope(call, tx, None)
        return accounts_scope_page(call, tx, account_ids, lambda: _parsed(call, tx, q, account_ids))


def _parsed(call: Call, tx: Tx, q: SearchQuery, account_ids: list[str]) -> ImPage:
    query = search.parse(q.q)
    if query is None:
        raise bad_request(f"q {q.q!r} has no letters or digits to search for")
    return _page(call, tx, q, query, business_types(q.types), account_ids)


def _page(
    call: Call, tx: Tx, q: SearchQuery, query: search.Query, types: frozenset[str], account_ids: list[str]
) -> ImPage:
    items: list[Any] = []  # each item's JSON, shaped once per row version (hiscrm/api/im/shaped.py)
    shaped: ShapedItems = call.request.app.state.shaped
    titles: dict[tuple[str, str], str | None] = {}
    has_more = False
    last = q.cursor
    for hit in search.find(tx, account_ids, query, _after(tx, q.cursor, account_ids)):
        if hit.letter == "c":
            stored = shaped.load(tx, comments.ROWS, comments.row_key(hit.account_id, hit.item_id), CommentRow)
            kind = None if stored is None else ("discussion" if stored.row.parent_comment_id else "comment")
        else:
            message_key = conversations.message_key(hit.account_id, hit.item_id)
            stored = shaped.load(tx, conversations.MESSAGES, message_key, MessageRow)
            kind = "direct_message"
        if stored is None or kind not in types or (q.is_read is not None and stored.row.is_read != q.is_read):
            continue
        if len(items) == q.count:
            has_more = True
            break
        row = stored.row
        if isinstance(row, CommentRow):
            work = (row.account_id, row.content_id)
            if work not in titles:
                titles[work] = work_title(tx, row.account_id, row.content_id, row.content_title)
            items.append(shaped.json(stored, unified_comment, titles[work] or row.content_title))
        else:
            items.append(shaped.json(stored, unified_message))
        last = row.seq
    return ImPage({"messages": items, "terms": list(query.parts)}, last, has_more)
