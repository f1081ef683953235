"""QR login: show the QR, follow refreshes and SMS verification, return the profile and storage state.

SMS verification is the `#uc-second-verify` dialog of reference/douyin-web-public.md §5b: its first
screen is a choice of ways with no input at all, so the flow picks "接收短信验证码", has the code sent,
and then types the codes an operator submits (reported back through the LoginReport) until the site
lets the login through, the session's deadline passes, or only face verification is offered."""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import urlsplit

from playwright.async_api import BrowserContext, Page
from playwright.async_api import Error as PlaywrightError

from hiscrm.platforms.base import LoginFailed, LoginReport, LoginResult, PlatformTrouble, SessionExpired
from hiscrm.platforms.capture import Capture
from hiscrm.platforms.douyin import detect, parse, site
from hiscrm.platforms.douyin.pages import new_page, open_creator_page
from hiscrm.platforms.douyin.site import Site

POLL_S = 0.5

# The login view's state in one round trip: the QR shown, which texts are visible, and the
# verification dialog if it is open. innerText leaves out hidden elements, so a text in it is a text
# on screen; the dialog is fixed-position, so visibility is told by its boxes, not offsetParent.
_VIEW_STATE = """([selectors, texts, dialog, input, error, send, ways]) => {
  const shown = e => !!e && e.getClientRects().length > 0 && getComputedStyle(e).visibility !== 'hidden';
  const img = selectors.map(s => document.querySelector(s)).find(e => e && (e.src || '').startsWith('data:image'));
  const body = document.body ? document.body.innerText : '';
  const modal = document.querySelector(dialog);
  let verify = null;
  if (shown(modal)) {
    const text = modal.innerText;
    const button = document.querySelector(send);
    verify = {
      text: text.slice(0, 1000),
      sms_way: ways.some(w => text.includes(w)) && !shown(document.querySelector(input)),
      input: shown(document.querySelector(input)),
      error: ((document.querySelector(error) || {}).innerText || '').trim(),
      send_text: button ? button.innerText.trim() : '',
      send_enabled: !!button && !button.disabled && shown(button),
    };
  }
  return {qr: img ? img.src : null, texts: texts.filter(t => body.includes(t)), verify};
}"""
SEND_RETRY_S = 10.0  # a send that brought no countdown is tried again after this, not on every poll


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
    sms = _SmsStep(page, report)
    while True:
        if time.time() * 1000 >= deadline_ms:
            raise TimeoutError("nobody completed the login before its deadline")
        state = await _view_state(page)
        if state is None:  # navigating: the page is moving to the creator home after the scan
            pass
        elif _logged_in(page.url) and not any(t in state["texts"] for t in site.LOGIN_TEXTS):
            return
        elif state["verify"] is not None:
            await sms.step(state["verify"])
        elif site.TEXT_QR_EXPIRED in state["texts"]:
            await page.get_by_text(site.TEXT_QR_EXPIRED).first.click()
        elif state["qr"] and state["qr"] != shown:
            await report.qrcode(state["qr"], await _expiry_ms(qr_answers), refreshed=shown is not None)
            shown = state["qr"]
        await asyncio.sleep(POLL_S)


class _SmsStep:
    """The verification dialog, one poll at a time: choose the SMS way, have a code sent (again when
    the last one is refused for good), type each code the operator submits and report its refusal."""

    def __init__(self, page: Page, report: LoginReport) -> None:
        self.page = page
        self.report = report
        self.need_code_sent = True
        self.send_clicked_at: float | None = None
        self.checking = False  # a code was typed and the dialog has not answered yet

    async def step(self, view: dict[str, Any]) -> None:
        dialog = self.page.locator(site.SECOND_VERIFY)
        if view["sms_way"]:
            await dialog.get_by_text(next(t for t in site.TEXT_SMS_WAYS if t in view["text"])).first.click()
            return
        if not view["input"]:
            raise LoginFailed(
                "the platform wants identity verification without SMS (face verification in the app): "
                "finish it on the phone, then start a new login",
                "verification_unsupported",
            )
        if self.checking and view["error"]:
            self.checking = False
            gone = any(w in view["error"] for w in site.SMS_CODE_GONE_WORDS)
            kind = ("too_many" if "次数" in view["error"] else "expired") if gone else "wrong"
            self.need_code_sent = self.need_code_sent or gone
            await self.report.sms_code_rejected(view["error"], kind)
        if self.need_code_sent:
            await self._send_code(view)
            return
        code = self.report.sms_code()
        if code is not None:
            await self.page.locator(site.SMS_CODE_INPUT).fill(code)
            await dialog.get_by_role("button", name=site.TEXT_VERIFY, exact=True).click()
            self.checking = True

    async def _send_code(self, view: dict[str, Any]) -> None:
        if site.TEXT_RESEND_WAIT in view["send_text"] and self.send_clicked_at is not None:
            # The countdown shows the site accepted the send: the code is on its way to the phone.
            self.need_code_sent, self.send_clicked_at = False, None
            await self.report.verification_required("sms", _sent_message(view["text"]))
            return
        now = time.monotonic()
        retry_due = self.send_clicked_at is None or now - self.send_clicked_at >= SEND_RETRY_S
        if view["send_enabled"] and site.TEXT_SEND_CODE in view["send_text"] and retry_due:
            await self.page.locator(site.SMS_SEND_BUTTON).click()
            self.send_clicked_at = now


def _sent_message(dialog_text: str) -> str:
    """What the dialog says about where the code went (its line naming the masked number), or a default."""
    for line in dialog_text.splitlines():
        if "****" in line:
            return f"扫码后需要短信验证：{line.strip()}"
    return "扫码后需要短信验证码验证身份"


async def _view_state(page: Page) -> dict[str, Any] | None:
    try:
        return await page.evaluate(
            _VIEW_STATE,
            [
                list(site.QR_IMAGES),
                list(site.LOGIN_TEXTS),
                site.SECOND_VERIFY,
                site.SMS_CODE_INPUT,
                site.SMS_ERROR,
                site.SMS_SEND_BUTTON,
                list(site.TEXT_SMS_WAYS),
            ],
        )
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


async def check_session(context: BrowserContext, st: Site) -> LoginResult:
    page = await new_page(context)
    try:
        return await _result(context, page, st)
    except SessionExpired as exc:
        raise LoginFailed(f"the imported session is not logged in: {exc.detail}", "import_rejected") from None
    finally:
        await page.close()


async def _result(context: BrowserContext, page: Page, st: Site) -> LoginResult:
    with Capture(page, [site.USER_INFO]) as info:
        await open_creator_page(page, st, site.HOME)
        answers = await info.wait_for(site.USER_INFO)
    data = detect.read_json(answers[-1])
    if data.get("status_code") != 0 or "user" not in data:
        raise LoginFailed(f"the profile did not load after the scan: {data.get('status_msg')}", "profile")
    return LoginResult(profile=parse.profile(data["user"]), storage_state=await context.storage_state())
