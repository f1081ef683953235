"""Telling trouble from data: logged out, extra verification and risk control, on pages and in answers.

The signals are the public ones (expectations.py): the "验证码中间页" interstitial and the slider
captcha, the texts automations treat as "needs a human", the #uc-second-verify identity modal, and
HTTP 200 answers with status_code 8 ("用户未登录") or an empty body.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import msgspec
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page

from hiscrm.platforms.base import Blocked, PlatformTrouble, SessionExpired
from hiscrm.platforms.capture import Answer
from hiscrm.platforms.douyin import expectations as x
from hiscrm.platforms.douyin import site

_decoder = msgspec.json.Decoder(dict[str, Any])

# One round trip: what the page says, not how it is built. The modal floats above the page, so it is
# looked for as an element, not in the body's text.
_PAGE_STATE = """([captcha, modal]) => {
  const shown = (s) => Array.from(document.querySelectorAll(s)).some(e => e.offsetParent !== null
    || getComputedStyle(e).position === 'fixed' && getComputedStyle(e).display !== 'none' && !e.hidden);
  return {
    title: document.title,
    text: (document.body ? document.body.innerText : '').slice(0, 4000),
    captcha: !!document.querySelector(captcha),
    verify: shown(modal),
  };
}"""


def read_json(answer: Answer) -> dict[str, Any]:
    """The answer's JSON. An empty body is risk control and status_code 8 is a logged-out session,
    whatever request it was; other codes are the caller's to judge."""
    if not answer.body.strip():
        raise Blocked("risk_control", f"empty answer from {answer.path}")
    try:
        data = _decoder.decode(answer.body)
    except msgspec.DecodeError:
        raise Blocked("risk_control", f"{answer.path} answered something that is not JSON") from None
    if data.get("status_code") == x.LOGGED_OUT_CODE:
        raise SessionExpired(f"{answer.path}: {data.get('status_msg') or 'logged out'}")
    return data


async def page_trouble(page: Page) -> PlatformTrouble | None:
    """What keeps this creator page from showing the account's data, if anything."""
    try:
        state = await page.evaluate(_PAGE_STATE, [x.CAPTCHA, x.VERIFY_MODAL])
    except PlaywrightError:
        return None  # mid-navigation: the caller's next wait tells
    text: str = state["text"]
    if state["title"] == x.RISK_TITLE or state["captcha"] or any(t in text for t in x.RISK_TEXTS):
        return Blocked("risk_control", f"the page asks for a security check ({x.RISK_TITLE})")
    if state["verify"] or any(t in text for t in x.VERIFY_TEXTS):
        return Blocked("verification", "the page asks to verify the account's identity (身份验证)")
    if not urlsplit(page.url).path.startswith(site.CREATOR_PREFIX) or site.TEXT_QR_LOGIN in text:
        return SessionExpired("the creator page shows the login view")
    return None


async def raise_page_trouble(page: Page) -> None:
    trouble = await page_trouble(page)
    if trouble is not None:
        raise trouble
