"""The Douyin adapter against every variant the sandbox serves: the older and newer comment pages
(numeric and encrypted comment ids), protobuf and JSON DM history. Real Chromium, the sandbox served
for real; what the adapter observes is compared with the sandbox's own records."""

from __future__ import annotations

import asyncio
from pathlib import Path

import msgspec
import pytest
from playwright.async_api import BrowserContext

from hiscrm.facts.catalogue import (
    CommentObserved,
    ContentObserved,
    ConversationObserved,
    MessageObserved,
    NotificationObserved,
)
from hiscrm.facts.messages import ReplySend
from hiscrm.platforms.base import SendRefused
from hiscrm.sandbox import ids
from hiscrm.sandbox.model import Variants
from hiscrm.worker import seen
from tests.platforms.conftest import KITCHEN, MODULE, VARIANTS, Observed, Site, comment_id

pytestmark = MODULE


async def crawl(site: Site, context: BrowserContext, tmp_path: Path, cursor: dict | None = None) -> Observed:
    observed = Observed(tmp_path / "seen.idx")
    await site.douyin.crawl(context, "kitchen", cursor if cursor is not None else {}, observed.index, observed)
    return observed


@pytest.mark.parametrize("variants", VARIANTS)
async def test_a_pass_observes_everything_the_site_holds(
    site: Site, context: BrowserContext, tmp_path: Path, variants: Variants
) -> None:
    world = site.world
    world.variants = variants
    observed = await crawl(site, context, tmp_path)

    works = {w.content_id: w for w in observed.of(ContentObserved)}
    truth = {w.aweme_id: w for w in world.newest_works(KITCHEN)}
    assert set(works) == set(truth)
    for aweme_id, work in works.items():
        assert work.publish_time_ms == truth[aweme_id].create_time * 1000
        assert work.content_type == ("image" if truth[aweme_id].aweme_type == 68 else "video")

    comments = {c.comment_id: c for c in observed.of(CommentObserved)}
    mine = [c for c in world.comments.values() if world.works[c.aweme_id].owner_uid == KITCHEN]
    assert set(comments) == {comment_id(variants, c.cid) for c in mine}
    for c in mine:
        got = comments[comment_id(variants, c.cid)]
        assert (got.text, got.create_time_ms, got.content_id) == (c.text, c.create_time * 1000, c.aweme_id)
        parent = None if c.reply_id == "0" else comment_id(variants, c.reply_id)
        assert got.parent_comment_id == parent and got.author.name == world.users[c.user_uid].nickname

    conversations = {c.conversation_id: c for c in observed.of(ConversationObserved)}
    assert set(conversations) == {c.conversation_id for c in world.conversations_of[KITCHEN].values()}
    for conv_id, conv in conversations.items():
        peer = world.users[world.conversations[conv_id].peer_of(KITCHEN)]
        assert (conv.peer.user_id, conv.peer.sec_uid, conv.peer.unique_id) == (peer.uid, peer.sec_uid, peer.unique_id)
        assert conv.short_id == world.conversations[conv_id].short_id

    messages = {m.message_id: m for m in observed.of(MessageObserved)}
    stored = [m for c in world.conversations_of[KITCHEN].values() for m in c.messages]
    assert set(messages) == {m.msg_id for m in stored}
    for m in stored:
        got = messages[m.msg_id]
        outbound = m.sender_uid == KITCHEN
        assert got.direction == ("outbound" if outbound else "inbound")
        assert (got.sender.user_id, got.content, got.create_time_ms) == (m.sender_uid, m.content, m.created_ms)
        assert got.conversation_id == m.conversation_id

    assert {n.notification_id for n in observed.of(NotificationObserved)} == {n.nid for n in world.notices_of[KITCHEN]}


async def test_a_second_pass_reads_only_what_moved(site: Site, context: BrowserContext, tmp_path: Path) -> None:
    """The cursor keeps a pass from opening unchanged works and conversations: the control is the
    first pass of the same run, the second one finds the same items without paging threads again."""
    cursor: dict = {}
    first = await crawl(site, context, tmp_path, cursor)
    site.world.requests.clear()
    again = Observed(tmp_path / "seen.idx")
    await site.douyin.crawl(context, "kitchen", cursor, first.index, again)
    paths = {path for (_, path) in site.world.requests}
    assert not any("comment/list" in p or "get_by_conversation" in p for p in paths), paths
    assert {seen.item_key(o) for o in again.items} < {seen.item_key(o) for o in first.items}


@pytest.mark.parametrize("variants", VARIANTS[:2])
async def test_replies_and_dms_are_sent_with_the_platforms_ids(
    site: Site, context: BrowserContext, tmp_path: Path, variants: Variants
) -> None:
    world = site.world
    world.variants = variants
    observed = await crawl(site, context, tmp_path)
    comments = observed.of(CommentObserved)
    top = next(c for c in comments if c.parent_comment_id is None and c.content_id != _private(site))
    reply = next(c for c in comments if c.parent_comment_id and c.content_id != _private(site))
    dm = next(m for m in observed.of(MessageObserved) if m.direction == "inbound")

    for n, target in enumerate((top, reply)):
        request = ReplySend(reply_id=f"R{n}", request_id=f"Q{n}", account_id="kitchen", target_type="comment",
                            target_id=target.comment_id, content=f"谢谢支持{n}")  # fmt: skip
        platform_id = await site.douyin.send(context, request, observed.index)
        sent = world.sent[-1]
        assert (sent.kind, sent.text) == ("comment_reply", f"谢谢支持{n}")
        assert comment_id(variants, sent.comment_id) == target.comment_id
        assert platform_id == ids.comment_token(sent.id)  # what the reply answer said, as it said it

    request = ReplySend(reply_id="R9", request_id="Q9", account_id="kitchen", target_type="direct_message",
                        target_id=dm.message_id, content="收到，马上安排")  # fmt: skip
    platform_id = await site.douyin.send(context, request, observed.index)
    sent = world.sent[-1]
    assert (sent.kind, sent.text, sent.conversation_id) == ("dm", "收到，马上安排", dm.conversation_id)
    assert platform_id == sent.id

    world.arm(KITCHEN, "dm", "refuse", 1)
    with pytest.raises(SendRefused) as refused:
        await site.douyin.send(context, request, observed.index)
    assert "无法" in refused.value.reason and refused.value.code == "refused"
    world.arm(KITCHEN, "comment_reply", "rate_limit", 1)
    again = ReplySend(reply_id="R8", request_id="Q8", account_id="kitchen", target_type="comment",
                      target_id=top.comment_id, content="再来")  # fmt: skip
    with pytest.raises(SendRefused) as limited:
        await site.douyin.send(context, again, observed.index)
    assert limited.value.rate_limited


@pytest.mark.parametrize("variants", VARIANTS[:2])
async def test_a_comment_on_a_work_is_posted_and_crawled_back_as_the_accounts_own(
    site: Site, context: BrowserContext, tmp_path: Path, variants: Variants
) -> None:
    """A top-level comment on the work itself: the same reply endpoint with an empty comment_Id, from the
    editor above the list; the next pass sees it at the top level with the author label."""
    world = site.world
    world.variants = variants
    cursor: dict = {}
    observed = await crawl(site, context, tmp_path, cursor)
    work = next(w for w in observed.of(ContentObserved) if w.content_id != _private(site))

    request = ReplySend(reply_id="W1", request_id="WQ1", account_id="kitchen", target_type="work",
                        target_id=work.content_id, content="新菜谱下周见")  # fmt: skip
    platform_id = await site.douyin.send(context, request, observed.index)
    sent = world.sent[-1]
    assert (sent.kind, sent.text, sent.aweme_id) == ("work_comment", "新菜谱下周见", work.content_id)
    assert world.comments[sent.id].reply_id == "0"  # top level, not under any comment
    assert platform_id == ids.comment_token(sent.id)

    again = Observed(tmp_path / "seen.idx")
    await site.douyin.crawl(context, "kitchen", cursor, observed.index, again)
    ours = next(c for c in again.of(CommentObserved) if c.comment_id == comment_id(variants, sent.id))
    assert (ours.parent_comment_id, ours.content_id, ours.text) == (None, work.content_id, "新菜谱下周见")
    assert ours.is_author and not ours.incoming  # never unread: the team wrote it

    private = ReplySend(reply_id="W2", request_id="WQ2", account_id="kitchen", target_type="work",
                        target_id=_private(site), content="看得到吗")  # fmt: skip
    with pytest.raises(SendRefused) as closed:
        await site.douyin.send(context, private, observed.index)
    assert closed.value.code == "15421"
    unknown = msgspec.structs.replace(private, target_id="7000000000000000000")
    with pytest.raises(SendRefused) as never_seen:
        await site.douyin.send(context, unknown, observed.index)
    assert never_seen.value.code == "unknown_target"
    assert world.sent[-1] is sent  # neither refusal sent anything


def _private(site: Site) -> str:
    return next(w.aweme_id for w in site.world.newest_works(KITCHEN) if w.comments_closed)


@pytest.mark.parametrize("variants", VARIANTS[:2])
async def test_pushed_dms_are_observed_as_the_crawl_would(
    site: Site, context: BrowserContext, tmp_path: Path, variants: Variants
) -> None:
    """A message pushed to the open chat page becomes the same observation a pass makes of it, for a
    known peer and for a first message from someone new."""
    world = site.world
    world.variants = variants
    live = Observed(tmp_path / "live.idx")
    watching = asyncio.create_task(site.douyin.watch(context, "kitchen", live))
    try:
        known_peer = next(iter(world.conversations_of[KITCHEN]))
        await _until(lambda: bool(world.message_listeners), watching)  # the page's push socket is open
        followup = world.add_message(known_peer, KITCHEN, "在吗？想问下上次那道菜")
        stranger = world.add_user("新来的粉丝")
        opener = world.add_message(stranger.uid, KITCHEN, "你好，第一次私信")
        wanted = {followup.msg_id, opener.msg_id}
        await _until(lambda: wanted <= {m.message_id for m in live.of(MessageObserved)}, watching)
    finally:
        watching.cancel()
        await asyncio.gather(watching, return_exceptions=True)
    crawled = (await crawl(site, context, tmp_path)).by_id()
    for obs in live.items:
        key = seen.item_key(obs)
        assert seen.content_hash(obs) == seen.content_hash(crawled[key]), key


async def _until(ready, task: asyncio.Task, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(timeout):
        while not ready():
            if task.done():
                task.result()
                raise AssertionError("the watch ended")
            await asyncio.sleep(0.05)


async def test_a_pass_reads_every_conversation_while_new_messages_reorder_the_list(
    site: Site, context: BrowserContext, tmp_path: Path
) -> None:
    """As under `hiscrm up`'s traffic: each time the pass opens a conversation, a message lifts the
    bottom conversation to the top of the list, and the first time someone new writes too (the page
    reloads the list and asks user_detail again). The pass still reads every conversation and message
    the demo world held when it began."""
    world = site.world
    before = {c.conversation_id: [m.msg_id for m in c.messages] for c in world.conversations_newest_first(KITCHEN)}
    opened = (KITCHEN, "/v1/message/get_by_conversation")

    def opens() -> int:
        return world.requests[opened].count if opened in world.requests else 0

    at_start = opens()

    async def move_rows() -> None:
        seen_opens = at_start
        while True:
            if opens() > seen_opens:
                if seen_opens == at_start:
                    world.add_message(world.add_user("路过的新粉丝").uid, KITCHEN, "你好，第一次私信")
                seen_opens = opens()
                bottom = world.conversations_newest_first(KITCHEN)[-1]
                world.add_message(bottom.peer_of(KITCHEN), KITCHEN, "还在吗？")
            await asyncio.sleep(0.02)

    mover = asyncio.create_task(move_rows())
    try:
        observed = await crawl(site, context, tmp_path)
    finally:
        mover.cancel()
        await asyncio.gather(mover, return_exceptions=True)
    assert opens() - at_start >= len(before)  # every conversation was opened, the rows moving under it
    assert set(before) <= {c.conversation_id for c in observed.of(ConversationObserved)}
    assert {m for ms in before.values() for m in ms} <= {m.message_id for m in observed.of(MessageObserved)}
