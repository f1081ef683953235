"""Every endpoint, selector, text, page-data shape and format the Douyin adapter depends on, in one
list (EXPECTATIONS), each with the page it is met on and whether public sources show it
(`../shared/reference/douyin-web-public.md`) or only the sandbox does.

The adapter uses the values defined here and nothing else, so a site redesign is an edit here, and
`hiscrm doctor` walks this list on a logged-in account to say which expectations still hold.
Login-view expectations live in site.py (login.py reads them there) and are listed here too.

Endpoints are URL-path tails (platforms/capture.py): they match whatever prefix, host or query the
site adds. Selectors use stable parts only: ids, `[class*=prefix-]` for hashed class names, roles and
visible text.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from hiscrm.platforms.douyin import site

Kind = Literal["endpoint", "selector", "text", "page_data", "format", "socket"]
Source = Literal["public", "sandbox"]
# The comment pages come in two generations; an expectation of one is not checked on the other.
Generation = Literal["interactive", "work_detail"]


class Expectation(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    kind: Kind
    page: str
    value: str
    fields: tuple[str, ...] = ()  # for endpoints and page data: dotted paths, `[]` for "every item of"
    source: Source = "public"
    generation: Generation | None = None
    note: str = ""


EXPECTATIONS: list[Expectation] = []


def _expect(name: str, kind: Kind, page: str, value: str, **more: object) -> str:
    EXPECTATIONS.append(
        msgspec.convert({"name": name, "kind": kind, "page": page, "value": value, **more}, Expectation)
    )
    return value


def by_name(name: str) -> Expectation:
    return next(e for e in EXPECTATIONS if e.name == name)


WORK_DETAIL_PREFIX = "/creator-micro/work-management/work-detail/"
WORK_DETAIL_QUERY = "?enter_from=content&tabKey=commentManagement"
WWW_PAGE = "www /"

# --------------------------------------------------------------------------- login view (site.py)

_expect("login.qr_image", "selector", site.LOGIN, site.QR_IMAGES[0], note="and three fallbacks in site.QR_IMAGES")
_expect("login.texts", "text", site.LOGIN, " / ".join(site.LOGIN_TEXTS))
_expect("login.qr_answer", "endpoint", site.LOGIN, site.QR_GET, fields=("data.expire_time",))

# --------------------------------------------------------------------------- trouble, on any page

RISK_TITLE = _expect("trouble.risk_title", "text", "any", "验证码中间页", note="the interstitial's document title")
CAPTCHA = _expect("trouble.captcha", "selector", "any", "#captcha-verify-image, #captcha_container")
RISK_TEXTS = ("安全验证", "环境异常")
_expect("trouble.risk_texts", "text", "any", " / ".join(RISK_TEXTS))
VERIFY_MODAL = _expect("trouble.verify_modal", "selector", "any", "#uc-second-verify")
VERIFY_TEXTS = ("身份验证",)
_expect("trouble.verify_texts", "text", "any", " / ".join(VERIFY_TEXTS))
LOGGED_OUT_CODE = 8
_expect("trouble.logged_out", "format", "any", '{"status_code": 8, "status_msg": "用户未登录"} with HTTP 200')

# --------------------------------------------------------------------------- home

USER_INFO = _expect(
    "home.user_info", "endpoint", site.HOME, site.USER_INFO, fields=("user.uid", "user.nickname", "user.avatar_thumb")
)
UNIQUE_ID = _expect("home.unique_id", "selector", site.HOME, '[class*="unique_id-"]')
HEADER_AVATAR = _expect("home.header_avatar", "selector", site.HOME, "#header-avatar")

# --------------------------------------------------------------------------- works

ITEM_LIST = _expect(
    "works.item_list",
    "endpoint",
    site.WORKS,
    "/creator/item/list/",
    fields=(
        "item_info_list[].item_id",
        "item_info_list[].item_id_plain",
        "item_info_list[].title",
        "item_info_list[].create_time",
        "item_info_list[].comment_count",
        "has_more",
        "cursor",
    ),
)
ITEM_TIME = _expect("works.item_time", "format", site.WORKS, "发布于2025年10月27日 10:42", note="item/list create_time")
WORK_LIST = _expect(
    "works.work_list",
    "endpoint",
    site.WORKS,
    "/creator/pc/work_list",
    fields=("aweme_list[].aweme_id", "aweme_list[].create_time", "aweme_list[].statistics.comment_count"),
)
WORK_ROW = _expect("works.row", "selector", site.WORKS, '[class*="video-card-"]', source="sandbox")
WORK_DETAIL_LINK = _expect(
    "works.detail_link",
    "selector",
    site.WORKS,
    f'a[href*="{WORK_DETAIL_PREFIX}"]',
    source="sandbox",
    note="present only where the work-detail generation is; public code opens that URL directly",
)

# --------------------------------------------------------------------------- comments: interactive/comment

SELECT_WORK = _expect("comments.select_work", "text", site.COMMENTS, "选择作品", generation="interactive")
WORK_OPTION = _expect(
    "comments.work_option",
    "selector",
    site.COMMENTS,
    '[class^="container-"]:has(> [class^="title-"])',
    generation="interactive",
)
MORE_WORKS = _expect(
    "comments.more_works", "text", site.COMMENTS, "加载更多", generation="interactive", source="sandbox"
)
V2_LIST = _expect(
    "comments.v2_list",
    "endpoint",
    site.COMMENTS,
    "/comment/list/select/",
    generation="interactive",
    fields=(
        "comments[].cid",
        "comments[].text",
        "comments[].create_time",
        "comments[].reply_comment_total",
        "comments[].user.uid",
        "comments[].user.nickname",
        "has_more",
        "cursor",
    ),
)
V2_REPLIES = _expect(
    "comments.v2_replies",
    "endpoint",
    site.COMMENTS,
    "/comment/list/reply/",
    generation="interactive",
    fields=("comments[].cid", "comments[].reply_id", "comments[].text", "has_more"),
)
OLD_TEXT = _expect(
    "comments.text", "selector", site.COMMENTS, '[class*="comment-content-text-"]', generation="interactive"
)
OLD_ROW = _expect("comments.row", "selector", site.COMMENTS, '[class^="container-"]', generation="interactive")
OLD_AUTHOR = _expect(
    "comments.author", "selector", site.COMMENTS, '[class^="username-"]', generation="interactive", source="sandbox"
)
OLD_OPERATIONS = _expect(
    "comments.operations", "selector", site.COMMENTS, '[class*="operations-"]', generation="interactive"
)
OLD_EXPAND = _expect("comments.expand", "text", site.COMMENTS, r"^查看\d+条回复$", generation="interactive")
OLD_EDITOR = _expect(
    "comments.editor", "selector", site.COMMENTS, 'div[contenteditable="true"]', generation="interactive"
)
OLD_SEND = _expect(
    "comments.send", "selector", site.COMMENTS, "button.douyin-creator-interactive-button", generation="interactive"
)

# --------------------------------------------------------------------------- comments: work-detail page

CREATOR_LIST = _expect(
    "work_detail.list",
    "endpoint",
    WORK_DETAIL_PREFIX,
    "/creator/comment/list/",
    generation="work_detail",
    fields=(
        "comment_info_list[].comment_id",
        "comment_info_list[].text",
        "comment_info_list[].create_time",
        "comment_info_list[].reply_count",
        "comment_info_list[].user_info.user_id",
        "comment_info_list[].user_info.screen_name",
        "has_more",
        "cursor",
    ),
)
CREATOR_REPLIES = _expect(
    "work_detail.replies",
    "endpoint",
    WORK_DETAIL_PREFIX,
    "/creator/comment/reply/list/",
    generation="work_detail",
    fields=("comment_info_list[].comment_id", "comment_info_list[].text", "has_more"),
)
NEW_ROW = _expect(
    "work_detail.row", "selector", WORK_DETAIL_PREFIX, '[class^="comment-main-"]', generation="work_detail"
)
NEW_AUTHOR = _expect(
    "work_detail.author", "selector", WORK_DETAIL_PREFIX, ':scope > [class^="username-"]', generation="work_detail"
)
NEW_TEXT = _expect(
    "work_detail.text", "selector", WORK_DETAIL_PREFIX, ':scope > [class^="text-"]', generation="work_detail"
)
NEW_EXPAND = _expect(
    "work_detail.expand", "selector", WORK_DETAIL_PREFIX, 'button[class^="load-reply-"]', generation="work_detail"
)
NEW_OPERATIONS = _expect(
    "work_detail.operations",
    "selector",
    WORK_DETAIL_PREFIX,
    'div[class^="comment-operation-wrap-"]',
    generation="work_detail",
)
NEW_EDITOR = _expect(
    "work_detail.editor",
    "selector",
    WORK_DETAIL_PREFIX,
    'div[class^="editable-input-"][contenteditable="true"]',
    generation="work_detail",
)

# Both generations: the control whose text is exactly 回复, then 发送; confirmed by the reply answer.
TEXT_REPLY = _expect("comments.reply_control", "text", site.COMMENTS, "回复")
TEXT_SEND = _expect("send.text", "text", "any", "发送")
COMMENT_REPLY = _expect(
    "comments.reply_answer",
    "endpoint",
    site.COMMENTS,
    "/creator/comment/reply/",
    fields=("status_code", "comment_info.comment_id"),
    note="only met when a reply is sent; the doctor never sends",
)
# A reply's thread rows are the row of a reply-* parent (work-detail), or rows inside a thread (interactive).

# A comment on the work itself: the editor above the list, then 发送 beside it; the same reply endpoint
# with an empty comment_Id answers it.
TOP_PLACEHOLDER = _expect(
    "comments.top_placeholder",
    "text",
    site.COMMENTS,
    "有爱评论，说点好听的~",
    note="the placeholder of the editor for a comment on the work itself (interactive page)",
)
TOP_EDITOR = _expect(
    "comments.top_editor",
    "selector",
    site.COMMENTS,
    f'div[contenteditable="true"][data-placeholder="{TOP_PLACEHOLDER}"]',
    source="sandbox",
    note="public sources give the placeholder's text, not the attribute holding it, nor the work-detail page's editor",
)

# --------------------------------------------------------------------------- chat

IM_USERS = _expect(
    "chat.user_detail",
    "endpoint",
    site.CHAT,
    "/creator/im/user_detail/",
    fields=(
        "user_list[].user_id",
        "user_list[].user.nickname",
        "user_list[].user.sec_uid",
        "user_list[].user.avatar_thumb",
    ),
)
IM_HISTORY = _expect(
    "chat.history",
    "endpoint",
    site.CHAT,
    "/message/get_by_conversation",
    note="protobuf on the real site (JSON in one sandbox variant); never read, the page's data is",
)
CONVERSATION_GRID = _expect("chat.grid", "selector", site.CHAT, ".ReactVirtualized__Grid__innerScrollContainer")
CONVERSATION_SCROLLER = _expect(
    "chat.scroller",
    "selector",
    site.CHAT,
    '.ReactVirtualized__Grid[role="grid"]',
    note="renders only a window of rows; the end marker (chat.no_more) shows at the list's end",
)
CONVERSATION_ROW = _expect("chat.row", "selector", site.CHAT, 'li[role="listitem"]')
CONVERSATION_NAME = _expect("chat.row_name", "selector", site.CHAT, '[class*="item-header-name-"]')
CONVERSATION_DATA = _expect(
    "chat.conversation_data",
    "page_data",
    site.CHAT,
    "fiber props of a conversation row",
    fields=("id", "firstPageParticipant.participants[].sec_uid"),
)
CHAT_PEER_NAME = _expect("chat.header_name", "selector", site.CHAT, '[class*="box-header-name"]')
MESSAGE_PANEL = _expect("chat.messages", "selector", site.CHAT, '[class*="box-content-"]')
MESSAGE_DATA = _expect(
    "chat.message_data",
    "page_data",
    site.CHAT,
    "fiber props of a message row",
    fields=("serverId", "conversationId", "sender", "content", "createdAt"),
)
FROM_ME = _expect(
    "chat.from_me", "selector", site.CHAT, '[class*="isFromMe"]', note="www's MessageBoxContentisFromMe; on an ancestor"
)
MESSAGE_TIME = _expect("chat.message_time", "format", site.CHAT, "createdAt: µs, ms or s number, or an ISO string")
NO_MORE = _expect("chat.no_more", "selector", site.CHAT, '[class*="no-more-tip-"]')
DM_EDITOR = _expect("chat.editor", "selector", site.CHAT, '[class*="chat-input-"] [contenteditable="true"]')
PUSH_SOCKET = _expect(
    "chat.push_socket",
    "socket",
    site.CHAT,
    "/ws/v2",
    fields=(
        "payload.new_message_notify.message.server_message_id",
        "payload.new_message_notify.message.conversation_id",
        "payload.new_message_notify.message.sender",
        "payload.new_message_notify.message.content",
        "payload.new_message_notify.message.create_time",
    ),
    source="sandbox",
    note="the socket path is public (frontier /ws/v2); frames on the real site are protobuf PushFrames",
)
TOAST = _expect("send.toast", "selector", "any", '[role="alert"], .semi-toast-content-text')

# --------------------------------------------------------------------------- notices (www origin)

NOTICES = _expect(
    "notices.list",
    "endpoint",
    WWW_PAGE,
    "/aweme/v1/web/notice/",
    fields=("notice_list_v2", "has_more", "min_time"),
    note="asked with is_new_notice=1, which is what yields notice_list_v2",
)
NOTICE_QUERY = {
    "is_new_notice": 1,
    "is_mark_read": 1,
    "aid": 6383,
    "device_platform": "webapp",
    "channel": "channel_pc_web",
}
NOTICE_GROUP_ALL = 700
NOTICE_PAGE = 20

# --------------------------------------------------------------------------- outcomes

# A DM toast with one of these words is a refusal; this phrase is a rate limit.
REFUSAL_WORDS = ("无法", "失败", "禁", "限制")
RATE_LIMIT_TEXT = "操作过于频繁"
