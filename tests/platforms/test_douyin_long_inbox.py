"""An inbox longer than the chat page renders: the page's grid holds only a window of rows (as the
real ReactVirtualized list does), so a pass must scroll it to the end, and a reply to a conversation
below the fold must scroll to its row. Real Chromium, the sandbox served for real; what the adapter
observes is compared with the sandbox's own list."""

from __future__ import annotations

from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import BrowserContext

from hiscrm.facts.catalogue import ConversationObserved, MessageObserved
from hiscrm.facts.messages import ReplySend
from hiscrm.platforms.base import PlatformError, SendRefused
from hiscrm.platforms.douyin import chat
from hiscrm.platforms.douyin import expectations as x
from hiscrm.platforms.douyin import site as douyin_site
from tests.platforms.conftest import KITCHEN, MODULE, Observed, Site

pytestmark = MODULE

WINDOW = 20  # the rows the sandbox's chat page renders at once
FANS = 3 * WINDOW  # conversations added to the account's inbox


@pytest_asyncio.fixture(loop_scope="module")
async def long_inbox(site: Site) -> Site:
    world = site.world
    if len(world.conversations_of[KITCHEN]) < FANS:
        for n in range(FANS):
            world.add_message(world.add_user(f"长列表粉丝{n}").uid, KITCHEN, f"第{n}位粉丝的私信")
    return site


def _request(n: int, conversation_id: str, user_id: str = "") -> ReplySend:
    return ReplySend(reply_id=f"L{n}", request_id=f"QL{n}", account_id="kitchen", target_type="direct_message",
                     target_id="-", conversation_id=conversation_id, user_id=user_id, content=f"收到{n}")  # fmt: skip


async def test_the_chat_page_renders_a_window_of_the_list(long_inbox: Site, context: BrowserContext) -> None:
    """The setup: fewer rows in the page than conversations, and scrolling asks user_detail again."""
    world = long_inbox.world
    asked = (KITCHEN, "/aweme/v1/creator/im/user_detail/")
    before = world.requests[asked].count if asked in world.requests else 0
    page = await context.new_page()
    try:
        await page.goto(f"{long_inbox.base}{douyin_site.CHAT}")
        await page.locator(x.CONVERSATION_ROW).first.wait_for()
        rows = await page.locator(x.CONVERSATION_ROW).count()
        assert 0 < rows < len(world.conversations_of[KITCHEN])
        assert await page.locator(x.CONVERSATION_SCROLLER).locator(x.NO_MORE).count() == 0
        first_ask = world.requests[asked].count
        await page.locator(x.CONVERSATION_SCROLLER).evaluate("s => { s.scrollTop = s.scrollHeight; }")
        await page.locator(x.CONVERSATION_SCROLLER).locator(x.NO_MORE).wait_for()
        assert first_ask == before + 1 and world.requests[asked].count > first_ask
    finally:
        await page.close()


async def test_a_pass_observes_every_conversation_of_a_long_inbox(
    long_inbox: Site, context: BrowserContext, tmp_path: Path
) -> None:
    world = long_inbox.world
    observed = Observed(tmp_path / "seen.idx")
    await long_inbox.douyin.crawl(context, "kitchen", {}, observed.index, observed)
    listed = [c.conversation_id for c in world.conversations_newest_first(KITCHEN)]
    conversations = {c.conversation_id: c for c in observed.of(ConversationObserved)}
    assert set(conversations) == set(listed)
    for conv_id, conv in conversations.items():
        assert conv.peer.user_id == world.conversations[conv_id].peer_of(KITCHEN)
    stored = {m.msg_id for c in listed for m in world.conversations[c].messages}
    assert {m.message_id for m in observed.of(MessageObserved)} == stored


async def test_a_dm_reply_reaches_the_conversation_at_the_bottom_of_the_list(
    long_inbox: Site, context: BrowserContext, tmp_path: Path
) -> None:
    world = long_inbox.world
    known = Observed(tmp_path / "seen.idx")
    listed = world.conversations_newest_first(KITCHEN)
    # The control is the top conversation, in the first window: both sends must reach their target.
    for n, target in enumerate((listed[0], listed[-1])):
        request = _request(n, target.conversation_id, target.peer_of(KITCHEN))
        platform_id = await long_inbox.douyin.send(context, request, known.index)
        sent = world.sent[-1]
        assert (sent.kind, sent.conversation_id, sent.text, sent.id) == (
            "dm",
            target.conversation_id,
            f"收到{n}",
            platform_id,
        )


async def test_a_reply_to_a_conversation_the_list_does_not_hold_is_refused(
    long_inbox: Site, context: BrowserContext, tmp_path: Path
) -> None:
    """The whole list walked (bounded), then a refusal naming the conversation; nothing sent."""
    world = long_inbox.world
    sent_before = len(world.sent)
    with pytest.raises(SendRefused) as refused:
        await long_inbox.douyin.send(context, _request(9, "0:1:1:2"), Observed(tmp_path / "seen.idx").index)
    assert refused.value.code == "not_found" and "0:1:1:2" in refused.value.reason
    assert len(world.sent) == sent_before


async def test_walks_of_the_list_are_bounded(
    long_inbox: Site, context: BrowserContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a single scroll allowed, a pass and a reply to the bottom conversation fail saying so,
    and nothing is sent; the list is the one the tests above walk whole."""
    world = long_inbox.world
    monkeypatch.setattr(chat, "MAX_LIST_STEPS", 1)
    bottom = world.conversations_newest_first(KITCHEN)[-1].conversation_id
    sent_before = len(world.sent)
    with pytest.raises(PlatformError, match=bottom):
        await long_inbox.douyin.send(context, _request(8, bottom), Observed(tmp_path / "a.idx").index)
    observed = Observed(tmp_path / "b.idx")
    with pytest.raises(PlatformError, match="did not end within 1 scrolls"):
        await long_inbox.douyin.crawl(context, "kitchen", {}, observed.index, observed)
    assert len(world.sent) == sent_before
