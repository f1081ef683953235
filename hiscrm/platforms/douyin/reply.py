"""Sending as the creator: a reply to a comment, or a DM. The target is checked on the page before
anything is typed, and a send counts only once the page confirms it."""

from __future__ import annotations

import random
from urllib.parse import urlsplit

from playwright.async_api import BrowserContext, Locator, Page
from playwright.async_api import TimeoutError as PlaywrightTimeout

from hiscrm.facts.messages import ReplySend
from hiscrm.platforms.base import Known, PlatformError, SendRefused
from hiscrm.platforms.capture import Capture, read_answer
from hiscrm.platforms.douyin import answers, detect, site
from hiscrm.platforms.douyin.chat import conversation_item, message_items
from hiscrm.platforms.douyin.comments import comments_url
from hiscrm.platforms.douyin.crawl import explained_page
from hiscrm.platforms.douyin.pages import open_creator_page, wait_for_count
from hiscrm.platforms.douyin.site import Site

CONFIRM_TIMEOUT_MS = 15_000

# After 发送 the page either renders our bubble (with the server's id) or shows a toast.
_DM_OUTCOME = """([items, toast, known, words, text]) => {
  const mine = Array.from(document.querySelectorAll(items)).find(e =>
    e.dataset.fromMe === 'true' && !known.includes(e.dataset.msgId) && e.textContent.includes(text));
  if (mine) return {id: mine.dataset.msgId};
  const alert = Array.from(document.querySelectorAll(toast)).map(e => e.textContent).find(t =>
    words.some(w => t.includes(w)));
  return alert ? {toast: alert} : null;
}"""


async def type_like_a_person(editor: Locator, text: str) -> None:
    await editor.click()
    await editor.press_sequentially(text, delay=random.uniform(20, 60))


def refusal(message: str, code: int | str | None) -> SendRefused:
    limited = code in site.RATE_LIMIT_CODES or site.RATE_LIMIT_TEXT in message
    return SendRefused(message, "rate_limited" if limited else str(code or "refused"), rate_limited=limited)


# --------------------------------------------------------------------------- comment replies


async def reply_to_comment(context: BrowserContext, st: Site, request: ReplySend, known: Known) -> str:
    refs = known.refs("comment", request.target_id) or ()
    aweme_id = request.video_id or (refs[0] if refs else None)
    if not aweme_id:
        raise SendRefused(f"comment {request.target_id} was never observed; name its work (video_id)", "unknown_target")
    thread = refs[1] if len(refs) > 1 and refs[1] else None
    async with explained_page(context) as page, _Comments(page, st, aweme_id) as comments:
        node = await comments.find(request.target_id, thread)
        if await node.get_attribute("data-aweme-id") != aweme_id:
            raise SendRefused(f"comment {request.target_id} is not on work {aweme_id}", "wrong_target")
        await node.locator(site.REPLY_BUTTON).first.click()
        box = node.locator(site.REPLY_BOX)
        await type_like_a_person(box.locator(site.EDITOR), request.content)
        async with page.expect_response(lambda r: urlsplit(r.url).path == site.COMMENT_REPLY) as sent:
            await box.get_by_role("button", name=site.TEXT_SEND).click()
        data = detect.read_json(await read_answer(await sent.value))
        if data.get("status_code") != 0:
            raise refusal(data.get("status_msg") or "reply refused", data.get("status_code"))
        cid = str(data["comment_info"]["comment_id"])
        await page.locator(f'{site.COMMENT_ITEM}[data-cid="{cid}"]').wait_for(timeout=CONFIRM_TIMEOUT_MS)
        return cid


class _Comments:
    """A work's comment page, paged on until a wanted comment shows."""

    def __init__(self, page: Page, st: Site, aweme_id: str) -> None:
        self.page, self.site, self.aweme_id = page, st, aweme_id
        self.capture = Capture(page, [site.COMMENT_LIST])

    async def __aenter__(self) -> _Comments:
        self.capture.__enter__()
        await open_creator_page(self.page, self.site, comments_url(self.aweme_id))
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.capture.__exit__()

    async def find(self, cid: str, thread: str | None) -> Locator:
        top = await self._top(thread or cid)
        if thread is None:
            return top
        show = top.locator(f":scope > {site.SHOW_REPLIES}")
        if await show.count():
            await show.click()
        reply = self.page.locator(f'{site.COMMENT_ITEM}[data-cid="{cid}"]')
        try:
            await reply.wait_for(timeout=CONFIRM_TIMEOUT_MS)
        except PlaywrightTimeout:
            raise SendRefused(f"reply {cid} is not in thread {thread} any more", "not_found") from None
        return reply

    async def _top(self, cid: str) -> Locator:
        wanted = self.page.locator(f'{site.TOP_COMMENT}[data-cid="{cid}"]')
        shown = pages = 0
        while True:
            data = answers.ok((await self.capture.wait_for(site.COMMENT_LIST, pages + 1))[pages])
            pages += 1
            shown += len(data["comments"])
            await wait_for_count(self.page, site.TOP_COMMENT, shown)
            if await wanted.count():
                return wanted
            if not data.get("has_more"):
                raise SendRefused(f"comment {cid} is not on work {self.aweme_id}", "not_found")
            await self.page.locator(site.COMMENTS_MORE).click()


# --------------------------------------------------------------------------- direct messages


def _conversation_of(request: ReplySend, known: Known) -> str:
    if request.conversation_id:
        return request.conversation_id
    refs = known.refs("message", request.target_id)
    return refs[0] if refs else request.target_id


async def send_dm(context: BrowserContext, st: Site, request: ReplySend, known: Known) -> str:
    conversation_id = _conversation_of(request, known)
    async with explained_page(context) as page:
        await open_creator_page(page, st, site.CHAT)
        item = page.locator(conversation_item(conversation_id))
        try:
            await item.wait_for()
        except PlaywrightTimeout:
            raise SendRefused(f"no conversation {conversation_id} on this account", "not_found") from None
        peer_uid = await item.get_attribute("data-peer-uid")
        if request.user_id and peer_uid != request.user_id:
            raise SendRefused(
                f"conversation {conversation_id} is with {peer_uid}, not {request.user_id}", "wrong_target"
            )
        peer_name = (await item.locator(site.CONVERSATION_NAME).inner_text()).strip()
        await item.click()
        header = page.locator(site.CHAT_PEER_NAME)
        await header.wait_for()
        if await header.get_attribute("data-peer-uid") != peer_uid or (await header.inner_text()).strip() != peer_name:
            raise SendRefused(f"the open chat is not the one with {peer_name}", "wrong_target")
        items = message_items(conversation_id)
        await page.locator(items).first.wait_for()
        before = await page.eval_on_selector_all(items, "els => els.map(e => e.dataset.msgId)")
        await type_like_a_person(page.locator(site.EDITOR), request.content)
        await page.get_by_role("button", name=site.TEXT_SEND).click()
        outcome = await page.wait_for_function(
            _DM_OUTCOME,
            arg=[items, site.TOAST, before, [*site.REFUSAL_WORDS, site.RATE_LIMIT_TEXT], request.content.strip()],
            timeout=CONFIRM_TIMEOUT_MS,
        )
        result: dict[str, str] = await outcome.json_value()
        if "toast" in result:
            raise refusal(result["toast"], None)
        if not result.get("id"):
            raise PlatformError("the page showed the message without a server id")
        return result["id"]
