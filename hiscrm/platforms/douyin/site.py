"""Everything the adapter matches on the Douyin creator web: origins, page paths, API paths,
selectors and visible texts, as reference/douyin-web.md gives them. Nothing else in the adapter
spells a path or a selector, so a redesign of the site is an edit here.

Selectors use stable parts only: ids, `[class*=prefix-]` for hashed class names, data-* attributes
and visible text.
"""

from __future__ import annotations

import msgspec

CREATOR_ORIGIN = "https://creator.douyin.com"
WWW_ORIGIN = "https://www.douyin.com"


class Site(msgspec.Struct, frozen=True):
    """The two origins the adapter talks to; the sandbox serves both from one."""

    creator: str = CREATOR_ORIGIN
    www: str = WWW_ORIGIN

    @classmethod
    def at(cls, base_url: str | None) -> Site:
        if not base_url:
            return cls()
        base = base_url.rstrip("/")
        return cls(creator=base, www=base)

    def page(self, path: str) -> str:
        return self.creator + path


# --------------------------------------------------------------------------- pages

LOGIN = "/"
CREATOR_PREFIX = "/creator-micro/"
HOME = "/creator-micro/home"
WORKS = "/creator-micro/content/manage"
COMMENTS = "/creator-micro/interactive/comment"
CHAT = "/creator-micro/data/following/chat"

# --------------------------------------------------------------------------- the pages' own requests

QR_GET = "/passport/web/get_qrcode/"
USER_INFO = "/web/api/media/user/info/"
ITEM_LIST = "/aweme/v1/creator/item/list/"
WORK_LIST = "/janus/douyin/creator/pc/work_list"
_COMMENT_API = "/web/api/third_party/aweme/api/comment/read/aweme/v1/web/comment/list"
COMMENT_LIST = f"{_COMMENT_API}/select/"
REPLY_LIST = f"{_COMMENT_API}/reply/"
COMMENT_REPLY = "/aweme/v1/creator/comment/reply/"
IM_USERS = "/creator/im/user_detail/"
NOTICES = "/aweme/v1/web/notice/"
NOTICE_GROUP_ALL = 700
NOTICE_PAGE = 20

# --------------------------------------------------------------------------- login view

QR_IMAGES = (
    '#animate_qrcode_container img[src^="data:image"]',
    '[class*="animate_qrcode_container"] img[src^="data:image"]',
    '[class*="scan_qrcode_login_content"] img[src^="data:image"]',
    'img[aria-label="二维码"]',
)
TEXT_QR_LOGIN = "扫码登录"
TEXT_PHONE_LOGIN = "手机号登录"
TEXT_QR_EXPIRED = "二维码失效"
LOGIN_TEXTS = (TEXT_QR_LOGIN, TEXT_PHONE_LOGIN, TEXT_QR_EXPIRED)
SMS_INPUT = 'input[placeholder*="验证码"]'
# Identity verification after a scan: a dialog over the login view whose first screen is a choice of
# ways without any input; the SMS way then shows the code input, "获取验证码" and "验证".
SECOND_VERIFY = "#uc-second-verify"
TEXT_SMS_WAYS = ("接收短信验证码", "接收短信验证")
SMS_CODE_INPUT = '#uc-second-verify input[placeholder*="验证码"]'
SMS_SEND_BUTTON = "#uc-second-verify .uc-ui-verify_sms-input_button"
SMS_ERROR = '#uc-second-verify [class*="uc-ui-verify_error"]'
TEXT_SEND_CODE = "获取验证码"
TEXT_RESEND_WAIT = "后重新发送"  # "NNs 后重新发送": shown only once a code was sent
TEXT_VERIFY = "验证"
# A refused code that cannot be retried: a new one must be sent.
SMS_CODE_GONE_WORDS = ("过期", "失效", "重新获取")

# --------------------------------------------------------------------------- trouble

RISK_TEXTS = ("安全验证", "完成验证")
VERIFY_TEXTS = ("验证身份",)
LOGGED_OUT_CODE = 8

# --------------------------------------------------------------------------- creator pages

WORK_ITEM = ".work-item[data-aweme-id]"
WORKS_MORE = "#works-more"
TOP_COMMENT = "#comment-list > .comment-item"
COMMENTS_MORE = "#comments-more"
SHOW_REPLIES = ".comment-show-replies"
COMMENT_ITEM = ".comment-item"
REPLY_BUTTON = ".comment-reply-btn"
REPLY_BOX = ".reply-box"
EDITOR = 'div[contenteditable="true"]'
TEXT_SEND = "发送"
CONVERSATION_ITEM = ".conversation-item[data-conversation-id]"
CONVERSATION_NAME = ".conversation-name"
CHAT_PEER_NAME = '[class*="box-header-name"]'
MESSAGE_LIST = "#message-list"
MESSAGE_ITEM = ".message-item[data-msg-id]"
MESSAGE_CONTENT = ".message-content"
MESSAGE_OLDER = ".message-older"
TOAST = '[role="alert"], .semi-toast-content-text'

# A DM toast with one of these words is a refusal; this phrase is a rate limit.
REFUSAL_WORDS = ("无法", "失败", "禁", "限制")
RATE_LIMIT_TEXT = "操作过于频繁"
RATE_LIMIT_CODES = frozenset({2053})
