"""Sending as the creator: a reply to a comment, a comment on a work, or a DM. The target is checked
on the page before anything is typed, and a send counts only once the page confirms it.

The id returned is what the platform gave: a comment's or reply's `comment_info.comment_id` from the
reply answer (an encrypted id, whatever form the list showed), a DM's server id from the page's data
once its answer filled it in, or None when the page confirmed the send without one.
"""

from __future__ import annotations

import random
from urllib.parse import urlsplit

from playwright.async_api import BrowserContext, Locator, Response

from hiscrm.facts.messages import ReplySend
from hiscrm.platforms.base import Known, SendRefused
from hiscrm.platforms.capture import Answer, Capture, matches, read_answer
from hiscrm.platforms.douyin import detect
from hiscrm.platforms.douyin import expectations as x
from hiscrm.platforms.douyin.chat import find_row, open_chat, open_conversation, read_messages
from hiscrm.platforms.douyin.comments import LAYOUTS, CommentPage, find_comment, layout_of_comment
from hiscrm.platforms.douyin.crawl import explained_page
from hiscrm.platforms.douyin.pages import FIBER_PROPS
from hiscrm.platforms.douyin.profile import read_me
from hiscrm.platforms.douyin.site import Site
from hiscrm.platforms.douyin.works import comment_generation

CONFIRM_TIMEOUT_MS = 15_000

# After 发送 the page either shows our message in its data or a toast. Ours: from the account (the
# from-me class; the peer may write the very same words at that moment), in this conversation, with our
# text, and not among the server ids shown before (`known`).
_DM_OUTCOME = (
    FIBER_PROPS
    + """([panel, fromMe, toast, known, words, text, conversationId]) => {
  const root = document.querySelector(panel);
  const texts = (m) => { try { return JSON.parse(m.content).text; } catch (e) { return m.content; } };
  for (const n of root ? Array.from(root.children) : []) {
    const m = fiberProps(n, (p) => (p.message ? p.message : (p.serverId !== undefined ? p : null)));
    if (m && n.closest(fromMe) && String(m.conversationId) === conversationId &&
        !known.includes(String(m.serverId)) && String(texts(m)).trim() === text) {
      return {id: m.serverId ? String(m.serverId) : null};
    }
  }
  const alert = Array.from(document.querySelectorAll(toast)).map((e) => e.textContent).find((t) =>
    words.some((w) => t.includes(w)));
  if (alert) return {toast: alert};
  return null;
}"""
)


async def type_like_a_person(editor: Locator, text: str) -> None:
    await editor.click()
    await editor.press_sequentially(text, delay=random.uniform(20, 60))


def refusal(message: str, code: int | str | None) -> SendRefused:
    limited = x.RATE_LIMIT_TEXT in message
    return SendRefused(message, "rate_limited" if limited else str(code or "refused"), rate_limited=limited)


def _is_reply_answer(response: Response) -> bool:
    return response.request.method == "POST" and matches(urlsplit(response.url).path, x.COMMENT_REPLY)


# --------------------------------------------------------------------------- comment replies


async def reply_to_comment(context: BrowserContext, st: Site, request: ReplySend, known: Known) -> str | None:
    refs = known.refs("comment", request.target_id) or ()
    aweme_id = request.video_id or (refs[0] if refs else None)
    if not aweme_id:
        raise SendRefused(f"comment {request.target_id} was never observed; name its work (video_id)", "unknown_target")
    thread = refs[1] if len(refs) > 1 and refs[1] else None
    layout = layout_of_comment(request.target_id)
    async with explained_page(context) as page, CommentPage(page, st, layout, aweme_id) as comments:
        row = await comments.open_reply(await find_comment(comments, request.target_id, thread))
        await type_like_a_person(layout.editor(row), request.content)
        async with page.expect_response(_is_reply_answer, timeout=CONFIRM_TIMEOUT_MS) as sent:
            await layout.send(row).click()
        return _comment_id(await read_answer(await sent.value))


async def comment_on_work(context: BrowserContext, st: Site, request: ReplySend, known: Known) -> str | None:
    """A top-level comment on the work `target_id`, typed in the editor above its comment list."""
    aweme_id = request.target_id
    if known.refs("content", aweme_id) is None:
        raise SendRefused(f"work {aweme_id} was never observed on this account", "unknown_target")
    async with explained_page(context) as page:
        layout = LAYOUTS[await comment_generation(page, st)]
        async with CommentPage(page, st, layout, aweme_id):
            editor = page.locator(x.TOP_EDITOR)
            await type_like_a_person(editor, request.content)
            async with page.expect_response(_is_reply_answer, timeout=CONFIRM_TIMEOUT_MS) as sent:
                await layout.send(editor.locator("xpath=..")).click()
            return _comment_id(await read_answer(await sent.value))


def _comment_id(answer: Answer) -> str | None:
    """The id the reply answer gave the comment, or the platform's refusal."""
    data = detect.read_json(answer)
    if data.get("status_code") != 0:
        raise refusal(data.get("status_msg") or "comment refused", data.get("status_code"))
    comment_id = (data.get("comment_info") or {}).get("comment_id")
    return str(comment_id) if comment_id else None


# --------------------------------------------------------------------------- direct messages


def _conversation_of(request: ReplySend, known: Known) -> str:
    if request.conversation_id:
        return request.conversation_id
    refs = known.refs("message", request.target_id)
    return refs[0] if refs else request.target_id


async def send_dm(context: BrowserContext, st: Site, request: ReplySend, known: Known) -> str | None:
    conversation_id = _conversation_of(request, known)
    async with explained_page(context) as page:
        me = await read_me(page, st)
        # Attached until the chat is open: the peer of a conversation new to the page, or of a row
        # scrolled to, is in a later answer.
        with Capture(page, [x.IM_USERS]) as capture:
            peers, _ = await open_chat(page, st, capture)
            row = await find_row(page, conversation_id)
            if row is None or row["conversation"] is None:
                raise SendRefused(f"no conversation {conversation_id} on this account", "not_found")
            conversation = row["conversation"]
            if request.user_id:
                peer = await peers.resolve(conversation, me, capture)
                if request.user_id not in (peer.user_id, peer.sec_uid):
                    raise SendRefused(f"conversation {conversation_id} is not with {request.user_id}", "wrong_target")
        # The conversation's row is found by its id when clicked, and its name read with it: the rows
        # move while the page gets messages.
        peer_name = await open_conversation(page, conversation_id)
        header = page.locator(x.CHAT_PEER_NAME)
        if (await header.inner_text()).strip() != peer_name:
            raise SendRefused(f"the open chat is not the one with {peer_name}", "wrong_target")
        before = [r["m"]["serverId"] for r in await read_messages(page)]
        await type_like_a_person(page.locator(x.DM_EDITOR), request.content)
        await page.get_by_role("button", name=x.TEXT_SEND, exact=True).click()
        outcome = await page.wait_for_function(
            _DM_OUTCOME,
            arg=[
                x.MESSAGE_PANEL,
                x.FROM_ME,
                x.TOAST,
                before,
                [*x.REFUSAL_WORDS, x.RATE_LIMIT_TEXT],
                request.content.strip(),
                conversation_id,
            ],
            timeout=CONFIRM_TIMEOUT_MS,
        )
        result: dict[str, str | None] = await outcome.json_value()
        if "toast" in result:
            raise refusal(result["toast"] or "refused", None)
        return result["id"]
