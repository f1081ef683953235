"""The Douyin creator web's origins, page paths and the login view's selectors and texts.
Everything else the adapter matches on is in expectations.py, which lists these too.
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
COMMENTS = "/creator-micro/interactive/comment"  # the older comment page
CHAT = "/creator-micro/data/following/chat"

# --------------------------------------------------------------------------- the pages' own requests

QR_GET = "/passport/web/get_qrcode/"
USER_INFO = "/web/api/media/user/info/"

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
