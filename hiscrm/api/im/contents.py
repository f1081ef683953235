"""/api/im/contents: an account's works, newest publish first, with their comment counts."""

from __future__ import annotations

import msgspec

from hiscrm.api.envelopes import ImPage, ReadyResponse
from hiscrm.api.errors import not_found
from hiscrm.api.im.common import (
    Id,
    ItemQuery,
    Paged,
    im_router,
    owner,
    path_ident,
    recorded,
    visible_account_id,
)
from hiscrm.api.im.page_cache import account_page
from hiscrm.api.im.queries import Page, after_key, index, under, walk
from hiscrm.api.im.shaped import ShapedItems, Stored
from hiscrm.api.im.shapes import Content, WorkStats, content_stats
from hiscrm.api.routing import Accepted, Call
from hiscrm.api.v1.common import caller
from hiscrm.facts import catalogue as c
from hiscrm.projector.model import Tx
from projections import contents
from projections.contents import ContentRow

router = im_router("im contents")


class ContentQuery(Paged, kw_only=True):
    account_id: Id | None = None
    platform: str | None = None
    content_type: str | None = None
    is_new: bool | None = None


class ContentsData(msgspec.Struct, kw_only=True):
    """`data` of the list; `cursor` and `has_more` sit beside `data`, as the predecessor put them."""

    contents: list[Content]


@router.route(
    "GET",
    "/api/im/contents",
    summary="an account's works",
    query=ContentQuery,
    response=ContentsData,
    cursor_beside=True,
)
async def list_contents(call: Call) -> ReadyResponse:
    q: ContentQuery = call.query
    with call.services.models.read() as tx:
        account_id = visible_account_id(call, tx, q.account_id)
        return account_page(call, tx, account_id, lambda: _contents(call, tx, q, account_id))


def _contents(call: Call, tx: Tx, q: ContentQuery, account_id: str) -> ImPage:
    prefix = under(account_id)
    cursor_row = contents.by_seq(tx, q.cursor) if q.cursor else None
    shaped: ShapedItems = call.request.app.state.shaped
    page: Page[Stored] = walk(
        index(
            tx,
            contents.ORDER,
            prefix,
            after_key(q.cursor, contents.order_key(cursor_row) if cursor_row else None, prefix),
        ),
        lambda k: shaped.load(tx, contents.ROWS, k, ContentRow),
        lambda stored: (
            (q.platform is None or stored.row.platform == q.platform)
            and (q.content_type is None or stored.row.content_type == q.content_type)
            and (q.is_new is None or stored.row.is_new == q.is_new)
        ),
        q.count,
        q.cursor,
        lambda stored: stored.row.seq,
    )
    return ImPage({"contents": [shaped.json(s, Content.of) for s in page.rows]}, page.cursor, page.has_more)


def content_row(call: Call, tx: Tx, content_id: str, account_id: str | None) -> ContentRow:
    found = owner(call, tx, contents.accounts_of(tx, content_id), account_id, f"work {content_id!r}")
    row = tx.get(contents.ROWS, contents.row_key(found, content_id), ContentRow)
    if row is None:
        raise not_found(f"work {content_id!r}")
    return row


@router.route("GET", "/api/im/contents/{work_id}", summary="one work", query=ItemQuery, response=Content)
async def get_content(call: Call) -> Content:
    content_id = path_ident(call, "work_id", "work id")
    with call.services.models.read() as tx:
        return Content.of(content_row(call, tx, content_id, call.query.account_id))


@router.route("GET", "/api/im/contents/{work_id}/stats", summary="a work's counts", query=ItemQuery, response=WorkStats)
async def content_stats_route(call: Call) -> WorkStats:
    content_id = path_ident(call, "work_id", "work id")
    with call.services.models.read() as tx:
        row = content_row(call, tx, content_id, call.query.account_id)
    return WorkStats(content_id=row.content_id, **msgspec.structs.asdict(content_stats(row)))


@router.route(
    "PUT",
    "/api/im/contents/{work_id}/read",
    summary="mark a work seen (is_new false)",
    query=ItemQuery,
    response=Content,
)
async def read_content(call: Call) -> Content | Accepted:
    content_id = path_ident(call, "work_id", "work id")
    with call.services.models.read() as tx:
        row = content_row(call, tx, content_id, call.query.account_id)
    account_id = row.account_id
    facts = [] if row.is_read else [c.ContentRead(account_id=account_id, content_id=content_id, by=caller(call))]
    return await recorded(call, facts, lambda tx: Content.of(content_row(call, tx, content_id, account_id)))
