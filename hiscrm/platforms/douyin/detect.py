"""Telling trouble from data: logged out, extra verification and risk control, on pages and in answers."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import msgspec
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page

from hiscrm.platforms.base import Blocked, PlatformTrouble, SessionExpired
from hiscrm.platforms.capture import Answer
from hiscrm.platforms.douyin import site

_decoder = msgspec.json.Decoder(dict[str, Any])

# One round trip: what the page says, not how it is built.
_PAGE_STATE = """sms => ({
  text: (document.body ? document.body.innerText : '').slice(0, 4000),
  sms: !!Array.from(document.querySelectorAll(sms)).find(e => e.offsetParent !== null),
})"""


def read_json(answer: Answer) -> dict[str, Any]:
    """The answer's JSON. An empty body is risk control and status_code 8 is a logged-out session,
    whatever request it was; other codes are the caller's to judge."""
    if not answer.body.strip():
        raise Blocked("risk_control", f"empty answer from {answer.path}")
    try:
        data = _decoder.decode(answer.body)
    except msgspec.DecodeError:
        raise Blocked("risk_control", f"{answer.path} answered something that is not JSON") from None
    if data.get("status_code") == site.LOGGED_OUT_CODE:
        raise SessionExpired(f"{answer.path}: {data.get('status_msg') or 'logged out'}")
    return data


async def page_trouble(page: Page) -> PlatformTrouble | None:
    """What keeps this creator page from showing the account's data, if anything."""
    try:
        state = await page.evaluate(_PAGE_STATE, site.SMS_INPUT)
    except PlaywrightError:
        return None  # mid-navigation: the caller's next wait tells
    text: str = state["text"]
    if any(t in text for t in site.RISK_TEXTS):
        return Blocked("risk_control", "the page asks for a security check (安全验证)")
    if state["sms"] or any(t in text for t in site.VERIFY_TEXTS):
        return Blocked("verification", "the page asks to verify the account's identity")
    if not urlsplit(page.url).path.startswith(site.CREATOR_PREFIX) or site.TEXT_QR_LOGIN in text:
        return SessionExpired("the creator page shows the login view")
    return None


async def raise_page_trouble(page: Page) -> None:
    trouble = await page_trouble(page)
    if trouble is not None:
        raise trouble
