"""QR login: show the QR, follow refreshes and SMS verification, return the profile and storage state."""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import urlsplit

from playwright.async_api import BrowserContext, Page
from playwright.async_api import Error as PlaywrightError

from hiscrm.platforms.base import LoginFailed, LoginReport, LoginResult, PlatformTrouble
from hiscrm.platforms.capture import Capture
from hiscrm.platforms.douyin import detect, parse, site
from hiscrm.platforms.douyin.pages import new_page, open_creator_page
from hiscrm.platforms.douyin.site import Site

POLL_S = 0.5

# The login view's state in one round trip: the QR shown, and which texts are visible.
# innerText leaves out hidden elements, so a text in it is a text on screen.
_VIEW_STATE = """([selectors, texts, sms]) => {
  const img = selectors.map(s => document.querySelector(s)).find(e => e && (e.src || '').startsWith('data:image'));
  const body = document.body ? document.body.innerText : '';
  return {
    qr: img ? img.src : null,
    texts: texts.filter(t => body.includes(t)),
    sms: Array.from(document.querySelectorAll(sms)).some(e => e.offsetParent !== null),
  };
}"""


async def qr_login(context: BrowserContext, st: Site, deadline_ms: int, report: LoginReport) -> LoginResult:
    page = await new_page(context)
    try:
        with Capture(page, [site.QR_GET]) as qr_answers:
            await page.goto(st.page(site.LOGIN), wait_until="domcontentloaded")
            if not _logged_in(page.url):
                await _wait_for_login(page, qr_answers, deadline_ms, report)
        return await _result(context, page, st)
    finally:
        await page.close()


def _logged_in(url: str) -> bool:
    return urlsplit(url).path.startswith(site.CREATOR_PREFIX)


async def _wait_for_login(page: Page, qr_answers: Capture, deadline_ms: int, report: LoginReport) -> None:
    shown: str | None = None
    verification_reported = False
    while True:
        if time.time() * 1000 >= deadline_ms:
            raise TimeoutError("nobody completed the login before its deadline")
        state = await _view_state(page)
        if state is None:  # navigating: the page is moving to the creator home after the scan
            pass
        elif _logged_in(page.url) and not any(t in state["texts"] for t in site.LOGIN_TEXTS):
            return
        elif state["sms"]:
            if not verification_reported:
                verification_reported = True
                await report.verification_required("sms", "扫码后需要短信验证码验证身份")
        elif site.TEXT_QR_EXPIRED in state["texts"]:
            await page.get_by_text(site.TEXT_QR_EXPIRED).first.click()
        elif state["qr"] and state["qr"] != shown:
            await report.qrcode(state["qr"], await _expiry_ms(qr_answers), refreshed=shown is not None)
            shown = state["qr"]
        await asyncio.sleep(POLL_S)


async def _view_state(page: Page) -> dict[str, Any] | None:
    try:
        return await page.evaluate(_VIEW_STATE, [list(site.QR_IMAGES), list(site.LOGIN_TEXTS), site.SMS_INPUT])
    except PlaywrightError:  # the execution context is replaced while the page navigates
        return None


async def _expiry_ms(qr_answers: Capture) -> int | None:
    """When the QR on screen expires, from the get_qrcode answer that brought it."""
    await qr_answers.settle()
    answers = qr_answers.of(site.QR_GET)
    if not answers:
        return None
    try:
        data = detect.read_json(answers[-1]).get("data") or {}
    except PlatformTrouble:
        return None
    expires = data.get("expire_time")
    return int(expires) * 1000 if expires else None


async def _result(context: BrowserContext, page: Page, st: Site) -> LoginResult:
    with Capture(page, [site.USER_INFO]) as info:
        await open_creator_page(page, st, site.HOME)
        answers = await info.wait_for(site.USER_INFO)
    data = detect.read_json(answers[-1])
    if data.get("status_code") != 0 or "user" not in data:
        raise LoginFailed(f"the profile did not load after the scan: {data.get('status_msg')}", "profile")
    return LoginResult(profile=parse.profile(data["user"]), storage_state=await context.storage_state())
