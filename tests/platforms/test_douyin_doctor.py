"""`Platform.check` (what `hiscrm doctor` runs) against the sandbox: every expectation it can reach
holds on each comment-page generation, and a drifted variant is named, alone."""

from __future__ import annotations

import pytest
from playwright.async_api import BrowserContext

from hiscrm.sandbox.model import Variants
from tests.platforms.conftest import MODULE, Site

pytestmark = MODULE

# Reached on every sandbox account with works, comments, threads and conversations.
CORE = {
    "home.user_info", "home.unique_id", "works.item_list", "works.item_time", "works.work_list",
    "comments.reply_control", "send.text", "comments.top_editor", "comments.top_placeholder",
    "chat.user_detail", "chat.row", "chat.conversation_data",
    "chat.message_data", "chat.message_time", "chat.from_me", "chat.push_socket", "notices.list",
}  # fmt: skip
GENERATION = {
    "interactive": {"comments.v2_list", "comments.v2_replies", "comments.expand", "comments.row", "comments.author"},
    "work_detail": {"work_detail.list", "work_detail.replies", "work_detail.expand", "work_detail.row"},
}


@pytest.mark.parametrize("generation", ["interactive", "work_detail"])
async def test_everything_holds_on_the_sandbox(site: Site, context: BrowserContext, generation: str) -> None:
    site.world.variants = Variants(comment_page=generation)
    findings = {f.name: f for f in await site.douyin.check(context, "kitchen")}
    broken = {n: f.detail for n, f in findings.items() if f.status == "broken"}
    assert broken == {}
    holding = {n for n, f in findings.items() if f.status == "holds"}
    assert CORE | GENERATION[generation] <= holding
    other = "work_detail" if generation == "interactive" else "interactive"
    assert all(findings[n].status == "not_checked" for n in GENERATION[other])
    assert findings["works.detail_link"].detail.startswith("present" if generation == "work_detail" else "absent")


async def test_a_drifted_variant_is_named(site: Site, context: BrowserContext) -> None:
    site.world.variants = Variants(item_time="iso")
    findings = await site.douyin.check(context, "kitchen")
    broken = [f for f in findings if f.status == "broken"]
    assert [f.name for f in broken] == ["works.item_time"]
    assert "not parsed" in broken[0].detail and broken[0].source == "public"
