"""One pass through the sandbox in real Chromium, the way the Douyin adapter will crawl it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from playwright.async_api import Response, async_playwright

from hiscrm.sandbox.seed import demo_world
from hiscrm.sandbox.state import World
from tests.sandbox.sandbox_helpers import KITCHEN, serving

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
QR_SELECTOR = '#animate_qrcode_container img[src^="data:image"]'


@pytest.fixture
async def served() -> AsyncIterator[tuple[str, World]]:
    world = demo_world()
    async with serving(world) as base:
        yield base, world


async def test_login_works_comments_and_chat_in_chromium(served: tuple[str, World]) -> None:
    base, world = served
    control = httpx.AsyncClient(base_url=base)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        context = await browser.new_context(locale="zh-CN")
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)

        # Login view, an expired QR refreshed by clicking it, then a confirmed scan.
        await page.goto(base + "/")
        await page.get_by_text("扫码登录").first.wait_for()
        first_src = await (await page.wait_for_selector(QR_SELECTOR)).get_attribute("src")
        assert first_src.startswith("data:image/png;base64,")
        await control.post("/__sandbox/qr/expire", json={})
        await page.get_by_text("二维码失效").click(timeout=5000)
        await page.wait_for_function(f"document.querySelector('{QR_SELECTOR}')?.src !== {first_src!r}", timeout=5000)
        scanned = (await control.post("/__sandbox/qr/scan", json={"uid": KITCHEN})).json()
        assert scanned["status"] == "confirmed"
        await page.wait_for_url("**/creator-micro/**", timeout=10000)
        cookies = {c["name"]: c for c in await context.cookies()}
        assert {"sessionid", "sessionid_ss", "sid_guard"} <= set(cookies)
        assert world.session(cookies["sessionid"]["value"]).uid == KITCHEN
        assert await page.evaluate("localStorage.HasUserLogin") == "1"
        assert not await page.get_by_text("扫码登录").is_visible()

        # Home: the 抖音号 element and the header avatar.
        unique = await page.wait_for_selector('[class*="unique_id-"]')
        assert await unique.inner_text() == "抖音号：linxiaoman.kitchen"
        assert await page.locator("#header-avatar img").count() == 1

        # Works: the page's own item/list answer, read through page.on("response"); rows carry no ids.
        captured: list[Response] = []
        page.on("response", lambda r: captured.append(r) if "/aweme/v1/creator/item/list/" in r.url else None)
        await page.goto(base + "/creator-micro/content/manage")
        await page.wait_for_selector('[class*="video-card-"]')
        body = await captured[0].json()
        assert [i["item_id_plain"] for i in body["item_info_list"]] == [w.aweme_id for w in world.newest_works(KITCHEN)]
        assert await page.locator("[data-aweme-id]").count() == 0
        assert body["item_info_list"][0]["create_time"].startswith("发布于")

        # Comments (older page): pick the work in 选择作品, reply through the div 回复, the editor and 发送.
        work = world.newest_works(KITCHEN)[0]
        await page.goto(f"{base}/creator-micro/interactive/comment")
        await page.get_by_text("选择作品", exact=True).click()
        await page.locator('[class^="container-"]:has(> [class^="title-"])').first.click()
        target = world.top_comments[work.aweme_id][-1]
        row = (
            page.locator('[class^="container-"]')
            .filter(has=page.locator('[class*="comment-content-text-"]', has_text=target.text))
            .first
        )
        await row.wait_for()
        await row.locator('[class*="operations-"]').first.get_by_text("回复", exact=True).click()
        await row.locator('div[contenteditable="true"]').fill("谢谢支持～")
        async with page.expect_response("**/aweme/v1/creator/comment/reply/") as reply_info:
            await row.locator("button.douyin-creator-interactive-button").click()
        reply = await (await reply_info.value).json()
        assert reply["status_code"] == 0 and reply["comment_info"]["comment_id"].startswith("@j/")
        assert world.comment(reply["comment_info"]["comment_id"]).reply_id == target.cid

        # Chat: rows without ids, messages in the page's data, own ones under an isFromMe class; send; a toast.
        await page.goto(base + "/creator-micro/data/following/chat")
        first = page.locator('li[role="listitem"]').first
        name = (await first.locator('[class*="item-header-name-"]').inner_text()).strip()
        await first.click()
        header = page.locator('[class*="box-header-name"]')
        await header.wait_for()
        assert await header.inner_text() == name
        await page.wait_for_selector('[class*="box-content-"] > [class*="box-item-"]')
        conv = next(
            c for c in world.conversations_of[KITCHEN].values() if world.users[c.peer_of(KITCHEN)].nickname == name
        )
        mine = await page.locator('[class*="box-content-"] [class*="isFromMe"]').count()
        assert mine == sum(1 for m in conv.messages if m.sender_uid == KITCHEN)
        editor = page.locator('[class*="chat-input-"] [contenteditable="true"]')
        await editor.fill("收到，我看一下档期")
        await page.get_by_role("button", name="发送").click()
        await page.locator('[class*="isFromMe"]').filter(has_text="收到，我看一下档期").wait_for()
        sent = world.sent[-1]
        assert sent.kind == "dm" and sent.text == "收到，我看一下档期" and sent.conversation_id == conv.conversation_id
        await control.post(f"/__sandbox/accounts/{KITCHEN}/arm", json={"mode": "rate_limit", "times": 1})
        await editor.fill("再发一条")
        await page.get_by_role("button", name="发送").click()
        await page.get_by_role("alert").filter(has_text="操作过于频繁").wait_for(timeout=5000)

        # A message from a fan arrives over the push socket while the chat is open.
        await control.post("/__sandbox/messages", json={"uid": KITCHEN, "text": "刚看到回复，谢谢！",
                                                        "sender": {"uid": conv.peer_of(KITCHEN)}})  # fmt: skip
        await page.locator('[class*="box-content-"]').get_by_text("刚看到回复，谢谢！").wait_for(timeout=5000)

        assert errors == []
        await browser.close()
    await control.aclose()
