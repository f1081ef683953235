"""The creator site's JSON endpoints: profile, works, comments, replying, notices.

Paths, parameters and fields follow reference/douyin-web.md. Paging: `cursor` is an offset into
newest-first lists (oldest-first for replies); work_list's `max_cursor` and the notices' times are
time bounds.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hiscrm.sandbox import ids, shapes
from hiscrm.sandbox.auth import Caller, api, csrf_ok, form_or_json, int_param, json, str_param
from hiscrm.sandbox.model import Comment, Invalid, NotFound, Work
from hiscrm.sandbox.state import newest_first, time_page

COMMENT_PREFIX = "/web/api/third_party/aweme/api/comment/read/aweme/v1/web/comment/list"
NOTICE_GROUPS_WITH_COMMENTS = (700, 2)  # all, comments; likes, followers and mentions are not simulated


def _own_work(who: Caller, ref: str) -> Work:
    work = who.world.work(ref)
    if work.owner_uid != who.account.uid:
        raise NotFound(f"work {ref!r} is not this account's")
    return work


def _visible_work(who: Caller, ref: str) -> Work:
    work = who.world.work(ref)
    if work.private and work.owner_uid != who.account.uid:
        raise NotFound(f"no work {ref!r}")
    return work


@api
async def user_info(request: Request, who: Caller) -> Response:
    return json({"status_code": 0, "status_msg": "", "user": shapes.user_profile(who.user, who.world, who.base)})


@api
async def item_list(request: Request, who: Caller) -> Response:
    cursor = int_param(request, "cursor", 0)
    count = int_param(request, "count", 10, 1, 50)
    works = who.world.works_by_owner.get(who.account.uid, [])
    page = newest_first(works, cursor, count)
    next_cursor = cursor + len(page)
    return json(
        {
            "status_code": 0,
            "status_msg": "",
            "item_info_list": [shapes.creator_item(w, who.world, who.base) for w in page],
            "has_more": next_cursor < len(works),
            "cursor": next_cursor,
            "total_count": len(works),
        }
    )


@api
async def work_list(request: Request, who: Caller) -> Response:
    count = int_param(request, "count", 12, 1, 50)
    max_cursor = int_param(request, "max_cursor", 0)
    works = who.world.works_by_owner.get(who.account.uid, [])
    page, has_more = time_page(works, lambda w: w.create_time * 1000, count, 0, max_cursor)
    return json(
        {
            "status_code": 0,
            "status_msg": "",
            "aweme_list": [shapes.aweme(w, who.world, who.base) for w in page],
            "has_more": has_more,
            "max_cursor": page[-1].create_time * 1000 if page else max_cursor,
            "total": len(works),
        }
    )


@api
async def comment_list(request: Request, who: Caller) -> Response:
    work = _visible_work(who, str_param(request, "aweme_id"))
    cursor = int_param(request, "cursor", 0)
    count = int_param(request, "count", 20, 1, 50)
    tops = who.world.top_comments.get(work.aweme_id, [])
    return _v2_page(who, tops, newest_first(tops, cursor, count), cursor)


@api
async def reply_list(request: Request, who: Caller) -> Response:
    parent = who.world.comment(str_param(request, "comment_id"))
    item = request.query_params.get("item_id", "").strip()
    work = _visible_work(who, item or parent.aweme_id)
    if parent.aweme_id != work.aweme_id or parent.reply_id != "0":
        raise Invalid(f"comment {parent.cid} is not a top-level comment of work {work.aweme_id}")
    cursor = int_param(request, "cursor", 0)
    count = int_param(request, "count", 20, 1, 50)
    replies = who.world.replies.get(parent.cid, [])
    return _v2_page(who, replies, replies[cursor : cursor + count], cursor)


def _v2_page(who: Caller, comments: list[Comment], page: list[Comment], cursor: int) -> Response:
    """A page of the V2 comment API (top-level comments or one thread's replies) read from offset `cursor`."""
    next_cursor = cursor + len(page)
    return json(
        {
            "status_code": 0,
            "status_msg": "",
            "comments": [shapes.comment(c, who.world, who.base) for c in page],
            "cursor": next_cursor,
            "has_more": int(next_cursor < len(comments)),
            "total": len(comments),
        }
    )


def _creator_page(who: Caller, comments: list[Comment], page: list[Comment], cursor: int) -> Response:
    """A page of the creator comment API (top-level comments or one thread's replies) read from offset `cursor`."""
    next_cursor = cursor + len(page)
    return json(
        {
            "status_code": 0,
            "status_msg": "",
            "comment_info_list": [shapes.creator_comment(c, who.world, who.base) for c in page],
            "cursor": next_cursor,
            "has_more": next_cursor < len(comments),
            "total_count": len(comments),
            "has_vcd_filter": False,
        }
    )


@api
async def creator_comment_list(request: Request, who: Caller) -> Response:
    """The creator comment API the work-detail page uses: encrypted ids, newest first."""
    work = _own_work(who, str_param(request, "item_id"))
    cursor = int_param(request, "cursor", 0)
    count = int_param(request, "count", 20, 1, 50)
    tops = who.world.top_comments.get(work.aweme_id, [])
    return _creator_page(who, tops, newest_first(tops, cursor, count), cursor)


@api
async def creator_reply_list(request: Request, who: Caller) -> Response:
    parent = who.world.comment(str_param(request, "comment_id"))
    _own_work(who, parent.aweme_id)
    if parent.reply_id != "0":
        raise Invalid(f"comment {parent.cid} is not a top-level comment")
    cursor = int_param(request, "cursor", 0)
    count = int_param(request, "count", 20, 1, 50)
    replies = who.world.replies.get(parent.cid, [])
    return _creator_page(who, replies, replies[cursor : cursor + count], cursor)


@api
async def comment_reply(request: Request, who: Caller) -> Response:
    if not csrf_ok(request, who):
        return json({"status_code": 4, "status_msg": "csrf token 校验失败"}, 403)
    body = await form_or_json(request)
    comment_id = str(body.get("comment_Id") or body.get("comment_id") or "").strip()
    item_ref, text = str(body.get("item_id") or "").strip(), str(body.get("text") or "")
    if not comment_id:
        # An empty comment_Id comments on the work itself (douyin-web-public.md).
        if not item_ref:
            raise Invalid("missing comment_Id, and no item_id to comment on")
        _own_work(who, item_ref)
        reply = who.world.creator_comment(who.account.uid, item_ref, text)
    else:
        comment = who.world.comment(comment_id)
        _own_work(who, comment.aweme_id)
        reply = who.world.creator_reply(who.account.uid, comment_id, item_ref, text)
    return json(
        {
            "status_code": 0,
            "status_msg": "",
            "comment_info": {
                "comment_id": ids.comment_token(reply.cid),
                "text": reply.text,
                "create_time": reply.create_time,
            },
        }
    )


@api
async def notices(request: Request, who: Caller) -> Response:
    group = int_param(request, "notice_group", 700)
    count = int_param(request, "count", 20, 1, 50)
    min_time = int_param(request, "min_time", 0)
    max_time = int_param(request, "max_time", 0)
    if request.query_params.get("is_new_notice") != "1":
        # Public callers all send is_new_notice=1; what the older list looks like is not public.
        return json({"status_code": 0, "status_msg": "", "has_more": 0, "min_time": min_time, "max_time": max_time})
    page, has_more = [], False
    if group in NOTICE_GROUPS_WITH_COMMENTS:
        page, has_more = who.world.notices_page(who.account.uid, count, min_time, max_time)
    return json(
        {
            "status_code": 0,
            "status_msg": "",
            "notice_list_v2": [shapes.notice(n, who.world, who.base) for n in page],
            "has_more": int(has_more),
            "min_time": page[-1].create_time if page else min_time,
            "max_time": page[0].create_time if page else max_time,
        }
    )


routes = [
    Route("/web/api/media/user/info/", user_info),
    Route("/aweme/v1/creator/item/list/", item_list),
    Route("/janus/douyin/creator/pc/work_list", work_list),
    Route(f"{COMMENT_PREFIX}/select/", comment_list),
    Route(f"{COMMENT_PREFIX}/reply/", reply_list),
    Route("/aweme/v1/creator/comment/list/", creator_comment_list),
    Route("/aweme/v1/creator/comment/reply/list/", creator_reply_list),
    Route("/aweme/v1/creator/comment/reply/", comment_reply, methods=["POST"]),
    Route("/aweme/v1/web/notice/", notices),
]
