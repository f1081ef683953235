"""Direct messages: conversations from the page's user_detail answer, messages from the rendered list.

The history itself arrives as protobuf, so messages are read from the `.message-item` nodes the
page renders. A conversation is opened only when its last message differs from the last pass's.
"""

from __future__ import annotations

from hiscrm.facts.catalogue import Person
from hiscrm.platforms.base import PlatformError
from hiscrm.platforms.capture import Capture
from hiscrm.platforms.douyin import answers, parse, site
from hiscrm.platforms.douyin.pages import open_creator_page, wait_for_count
from hiscrm.platforms.douyin.run import CrawlRun

LAST_MESSAGE = "dm:"  # cursor key: + conversation_id -> the last message id the pass read
# Older history is paged in only while its oldest message is unknown, and never further than this.
MAX_HISTORY_PAGES = 20

_LAST_IDS = "els => Object.fromEntries(els.map(e => [e.dataset.conversationId, e.dataset.lastMsgId || '']))"
_MESSAGES = """(els, content) => els.map(e => ({
  msgId: e.dataset.msgId, conversationId: e.dataset.conversationId, fromMe: e.dataset.fromMe,
  createdMs: e.dataset.createdMs, senderId: e.dataset.senderId, content: (e.querySelector(content) || e).textContent,
}))"""


async def crawl_chat(run: CrawlRun) -> None:
    page = run.page
    with Capture(page, [site.IM_USERS]) as capture:
        await open_creator_page(page, run.site, site.CHAT)
        entries = answers.ok((await capture.wait_for(site.IM_USERS))[0])["user_list"]
    await wait_for_count(page, site.CONVERSATION_ITEM, len(entries))
    last_ids: dict[str, str] = await page.eval_on_selector_all(site.CONVERSATION_ITEM, _LAST_IDS)
    for entry in entries:
        conversation = parse.conversation(run.account_id, entry, run.now_ms())
        await run.observe(conversation)
        last = last_ids.get(conversation.conversation_id, "")
        if last and run.cursor.get(LAST_MESSAGE + conversation.conversation_id) != last:
            await _read_conversation(run, conversation.conversation_id, conversation.peer, last)
            run.cursor[LAST_MESSAGE + conversation.conversation_id] = last


def conversation_item(conversation_id: str) -> str:
    return f'{site.CONVERSATION_ITEM}[data-conversation-id="{conversation_id}"]'


def message_items(conversation_id: str) -> str:
    return f'{site.MESSAGE_LIST}[data-conversation-id="{conversation_id}"] {site.MESSAGE_ITEM}'


async def _read_conversation(run: CrawlRun, conversation_id: str, peer: Person, last_id: str) -> None:
    if run.me is None:
        raise PlatformError("the account's own profile must be read before its messages")
    page = run.page
    await page.locator(conversation_item(conversation_id)).click()
    items = message_items(conversation_id)
    await page.locator(f'{items}[data-msg-id="{last_id}"]').wait_for()
    nodes = await page.eval_on_selector_all(items, _MESSAGES, site.MESSAGE_CONTENT)
    for _ in range(MAX_HISTORY_PAGES):
        older = page.locator(site.MESSAGE_OLDER)
        if run.known.refs("message", nodes[0]["msgId"]) is not None or not await older.is_visible():
            break
        await older.click()
        await wait_for_count(page, items, len(nodes) + 1)
        nodes = await page.eval_on_selector_all(items, _MESSAGES, site.MESSAGE_CONTENT)
    now = run.now_ms()
    for node in nodes:
        await run.observe(parse.message(run.account_id, node, run.me, peer, now))
