"""The agent workspace in real Chromium against a real `hiscrm up`, signed in with an `im` token that
`hiscrm tokens add` made: an agent's shift, step by step, on the demo account.

The steps share one `hiscrm up` and one browser page, in file order: sign in, filter, search, open a
thread and answer it (the sandbox confirms it got the text), a new comment arriving at the top while
the reader is scrolled down, the keyboard, notifications, mark all read down to zero; then a token
limited to another account, and the admin's Tokens page. The demo's own traffic is switched off so
every new item is one the test made. Each step keeps a screenshot; any browser console error fails it.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from hiscrm.config import REPO_ROOT
from hiscrm.worker.demo import ACCOUNT_ID as DEMO
from hiscrm.worker.demo import UID as DEMO_UID
from tests.console.console_helpers import Browser, Up
from tests.console.test_console import wait_until

ROW = 74  # px, app.css .items li


@pytest.fixture(scope="module")
def story() -> dict[str, Any]:
    return {}


def add_token(up: Up, *args: str) -> dict[str, Any]:
    """`hiscrm tokens add`, as an operator runs it beside the running stack."""
    done = subprocess.run(
        [sys.executable, "-m", "hiscrm", "tokens", "add", *args, "--json", "--data-dir", str(up.data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO_ROOT,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def im_get(up: Up, secret: str, path: str, **params: Any) -> Any:
    with httpx.Client(base_url=up.api, headers={"Authorization": f"Bearer {secret}"}, timeout=10) as http:
        return http.get(path, params=params).json()


def sign_in(browser: Browser, up: Up, secret: str) -> None:
    page = browser.page
    page.goto(f"{up.api}/admin/")
    if page.get_by_role("button", name="Sign out").is_visible():
        page.get_by_role("button", name="Sign out").click()
    page.get_by_label("Token").fill(secret)
    page.get_by_role("button", name="Sign in").click()


def new_comment(up: Up, story: dict[str, Any], text: str, nickname: str) -> None:
    up.control("POST", "/comments", {"aweme_id": story["work"], "text": text, "user": {"nickname": nickname}})


def test_sign_in_with_an_im_token_gets_the_workspace(up: Up, browser: Browser, story: dict[str, Any]) -> None:
    # Only what the test does arrives from now on.
    up.control("POST", f"/accounts/{DEMO_UID}/traffic", {"comments_per_minute": 0, "messages_per_minute": 0})
    agent = add_token(up, "--role", "im", "--name", "agent 1")
    story["agent"] = agent["token"]
    wait_until(
        "the demo account's first items",
        lambda: im_get(up, agent["token"], "/api/im/unified-messages", count=60)["data"]["messages"],
        120,
        up,
    )
    story["work"] = up.control("POST", "/works", {"uid": DEMO_UID, "desc": "工作台测试作品"})["aweme_id"]
    # Something unread of each kind, made by the test.
    new_comment(up, story, "第一条新评论", "观众甲")
    new_comment(up, story, "第二条新评论", "观众乙")
    up.control("POST", "/messages", {"uid": DEMO_UID, "text": "在吗？想咨询一下", "sender": {"nickname": "私信观众"}})
    wait_until("the new items unread", lambda: _stats(up, agent["token"])["total_unread"] >= 3, 120, up)
    page = browser.page
    sign_in(browser, up, agent["token"])
    expect(page.locator("main h1")).to_have_text("Inbox")
    expect(page.locator("#who")).to_have_text("agent 1 (im)")
    # The workspace only: the admin's pages are not offered, and their APIs refuse the token.
    for name in ("Dashboard", "Accounts", "Workers", "Proxies", "Plots", "Tokens"):
        expect(page.get_by_role("link", name=name)).to_have_count(0)
    expect(page.get_by_role("link", name="Notifications")).to_be_visible()
    with httpx.Client(base_url=up.api, headers={"Authorization": f"Bearer {agent['token']}"}) as http:
        assert http.get("/api/v1/accounts").status_code == 403
    page.goto(f"{up.api}/admin/#/accounts")  # a typed-in admin page falls back to the inbox
    expect(page.locator("main h1")).to_have_text("Inbox")
    expect(page.locator("ul.items li[data-key]").first).to_be_visible(timeout=20_000)
    expect(page.locator(f'.accounts-pick [data-account-id="{DEMO}"]')).to_be_visible()
    page.evaluate("window.__signedIn = true")
    browser.shot("workspace-signed-in")


def test_filters_with_live_counts(up: Up, browser: Browser) -> None:
    page = browser.page
    rows = page.locator("ul.items li[data-key]")
    expect(page.locator('.kinds [data-kind="comment"] .count')).to_have_text(str(_stats(up)["unread_comments"]))
    page.locator('.kinds [data-kind="direct_message"]').click()
    # The list is reloaded for the filter: wait until nothing else is in it.
    expect(page.locator('ul.items li[data-key]:not([data-type="direct_message"])')).to_have_count(0)
    expect(rows.first).to_have_attribute("data-type", "direct_message")
    browser.shot("workspace-filter-dms")
    page.locator('.kinds [data-kind="comment"]').click()
    page.locator("#unread-only").check()
    expect(page.locator('ul.items li[data-key]:not([data-type="comment"])')).to_have_count(0)
    expect(page.locator("ul.items li[data-key] .who:not(.unread)")).to_have_count(0)
    assert rows.count() >= 2  # the two comments the test made, both unread
    browser.shot("workspace-filter-unread-comments")
    page.locator("#unread-only").uncheck()
    page.locator('.kinds [data-kind=""]').click()
    expect(page.locator(f'.accounts-pick [data-account-id="{DEMO}"] .badge')).to_have_text(
        str(_stats(up)["total_unread"] or "")
    )


def _stats(up: Up, secret: str | None = None) -> dict[str, int]:
    return im_get(up, secret or up.token, "/api/im/unified-messages/stats")["data"]  # type: ignore[no-any-return]


def test_search_finds_a_new_comment_with_the_words_highlighted(up: Up, browser: Browser, story: dict[str, Any]) -> None:
    page = browser.page
    text = f"请问这款锅的价格是多少 zebra{int(time.time())}"
    new_comment(up, story, text, "搜索观众")
    story["comment"] = text
    wait_until(
        "the crawler seeing the new comment",
        lambda: text in str(im_get(up, story["agent"], "/api/im/unified-messages", count=5)),
        120,
        up,
    )
    # It arrives live, at the top of the list the reader is looking at.
    expect(page.locator("ul.items li").first).to_contain_text(text)
    page.keyboard.press("/")
    expect(page.locator("#search")).to_be_focused()
    page.keyboard.type("价格是 搜索观众")
    page.keyboard.press("Enter")
    hit = page.locator("ul.items li", has_text="搜索观众")
    expect(hit).to_have_count(1)
    expect(hit.locator(".text mark")).to_have_text("价格是")
    expect(hit.locator(".who mark")).to_have_text("搜索观众")  # the nickname matched too
    expect(page.locator(".scoped")).to_contain_text("search: 价格是 搜索观众")
    browser.shot("workspace-search")


def test_open_a_thread_and_reply_and_see_it_sent(up: Up, browser: Browser, story: dict[str, Any]) -> None:
    page = browser.page
    page.locator("ul.items li", has_text="搜索观众").get_by_role("button").click()
    thread = page.locator(".thread")
    expect(thread).to_contain_text(story["comment"])
    expect(thread.locator(".work-title")).to_contain_text("工作台测试作品")
    reply = f"您好，价格请看私信 {int(time.time())}"
    page.locator("#reply-text").fill(reply)
    page.locator("#reply-text").press("Enter")  # Enter sends
    sent = page.locator(".outbox li", has_text=reply)
    expect(sent).to_be_visible()
    browser.shot("workspace-reply-pending")
    expect(sent).to_have_attribute("data-status", "sent", timeout=90_000)
    assert any(s["text"] == reply for s in up.control("GET", f"/sent?uid={DEMO_UID}&kind=comment_reply"))
    story["reply"] = reply
    browser.shot("workspace-reply-sent")
    # Shift+Enter is a new line, not a send.
    page.locator("#reply-text").press("Shift+Enter")
    assert page.locator("#reply-text").input_value() == "\n"
    page.locator("#reply-text").fill("")
    page.locator("#search").fill("")
    page.locator("#search").press("Escape")


def _observed(up: Up, story: dict[str, Any], text: str) -> dict[str, Any] | None:
    hits = im_get(up, story["agent"], "/api/im/search", q=text.split()[0])["data"]["messages"]
    return next((m for m in hits if m["content"] == text), None)


def test_comment_on_the_work_from_a_thread_and_our_own_items_stay_read(
    up: Up, browser: Browser, story: dict[str, Any]
) -> None:
    page = browser.page
    page.locator("ul.items li", has_text="搜索观众").first.get_by_role("button").click()
    expect(page.locator(".thread")).to_contain_text(story["comment"])
    page.locator("#comment-work").click()
    expect(page.locator("#reply-mode")).to_be_visible()
    text = f"下周更新新菜谱 {int(time.time())}"
    page.locator("#reply-text").fill(text)
    page.locator("#reply-text").press("Enter")
    sent = page.locator(".outbox li", has_text=text)
    expect(sent).to_contain_text("on the work")
    browser.shot("workspace-work-comment-pending")
    expect(sent).to_have_attribute("data-status", "sent", timeout=90_000)
    got = [s for s in up.control("GET", f"/sent?uid={DEMO_UID}&kind=work_comment") if s["text"] == text]
    assert [s["aweme_id"] for s in got] == [story["work"]]
    browser.shot("workspace-work-comment-sent")
    page.locator("#reply-text").press("Escape")
    expect(page.locator("#reply-mode")).to_be_hidden()
    # The crawler sees our reply and our comment as new items of the account: they arrive read, and the
    # unread total does not move for them (the control: a fan's comment the same pass sees does).
    before = _stats(up, story["agent"])["total_unread"]
    fan = f"等更新 {int(time.time())}"
    new_comment(up, story, fan, "催更观众")
    for said in (story["reply"], text, fan):
        wait_until(f"{said!r} observed", lambda said=said: _observed(up, story, said) is not None, 120, up)
    assert _observed(up, story, story["reply"])["is_read"] and _observed(up, story, text)["is_read"]
    assert not _observed(up, story, fan)["is_read"]
    assert _stats(up, story["agent"])["total_unread"] == before + 1


def test_a_new_comment_arrives_at_the_top_while_the_reader_is_scrolled_down(
    up: Up, browser: Browser, story: dict[str, Any]
) -> None:
    page = browser.page
    scroller = page.locator(".vscroll")
    expect(page.locator(".scoped")).to_have_count(1)
    expect(page.locator("ul.items li[data-key]").first).to_be_visible()
    # The crawler sees our own reply as a new item: let it come before measuring.
    wait_until(
        "our reply observed",
        lambda: story["reply"] in str(im_get(up, story["agent"], "/api/im/search", q=story["reply"][:8])),
        90,
        up,
    )
    page.wait_for_timeout(1500)
    scroller.evaluate(f"el => {{ el.scrollTop = {ROW * 8}; }}")
    row = page.locator("ul.items li[data-key]").nth(10)
    key = row.get_attribute("data-key")
    row.get_by_role("button").click()  # selected and opened
    chosen = page.locator(f'ul.items li[data-key="{key}"]')
    expect(chosen.get_by_role("button")).to_have_attribute("aria-current", "true")
    y_before = chosen.bounding_box()["y"]  # type: ignore[index]
    before = scroller.evaluate("el => el.scrollTop")
    text = f"刚刚看到直播，想问问 {int(time.time())}"
    new_comment(up, story, text, "直播观众")
    wait_until(
        "the crawler seeing the new comment",
        lambda: text in str(im_get(up, story["agent"], "/api/im/unified-messages", count=5)),
        120,
        up,
    )
    pill = page.locator(".new-pill")
    expect(pill).to_be_visible()
    expect(pill).to_have_text(re.compile(r"\d+ new"))
    # What the reader was looking at stays where it was, and stays selected.
    assert scroller.evaluate("el => el.scrollTop") > before
    assert abs(chosen.bounding_box()["y"] - y_before) < 2  # type: ignore[index]
    expect(chosen.get_by_role("button")).to_have_attribute("aria-current", "true")
    browser.shot("workspace-new-pill")
    pill.click()
    expect(pill).to_be_hidden()
    expect(page.locator("ul.items li").first).to_contain_text(text)
    assert scroller.evaluate("el => el.scrollTop") == 0
    browser.shot("workspace-new-at-top")
    # Windowed: the list holds more items than rows in the page.
    shown = int(page.locator("#list-status").inner_text().split()[0].rstrip("+"))
    assert page.locator("ul.items li").count() < shown


def test_keyboard_moves_opens_replies_and_reads(up: Up, browser: Browser) -> None:
    page = browser.page
    rows = page.locator("ul.items li[data-key]")
    rows.first.get_by_role("button").click()
    page.locator("main h1").click()  # focus out of the list, as after reading
    page.keyboard.press("j")
    page.keyboard.press("j")
    expect(rows.nth(2).get_by_role("button")).to_have_attribute("aria-current", "true")
    page.keyboard.press("k")
    second = rows.nth(1)
    expect(second.get_by_role("button")).to_have_attribute("aria-current", "true")
    page.keyboard.press("Enter")
    expect(page.locator(".thread")).to_contain_text(second.locator(".text").inner_text())
    page.keyboard.press("e")
    expect(second.locator(".who")).not_to_have_class("who unread")
    page.keyboard.press("r")
    expect(page.locator("#reply-text")).to_be_focused()
    page.keyboard.press("Escape")
    browser.shot("workspace-keyboard")


def test_notifications_listed_and_marked_read(up: Up, browser: Browser) -> None:
    page = browser.page
    page.get_by_role("link", name="Notifications").click()
    expect(page.locator("main h1")).to_have_text("Notifications")
    unread = page.locator('ul.notes li[data-read="false"]')
    expect(unread.first).to_be_visible(timeout=20_000)
    n = unread.count()
    unread.first.get_by_role("button", name="Mark read").click()
    expect(page.locator('ul.notes li[data-read="false"]')).to_have_count(n - 1)
    browser.shot("workspace-notifications")
    page.locator('[data-nav="inbox"]').click()


def test_mark_all_read_brings_every_count_to_zero(up: Up, browser: Browser, story: dict[str, Any]) -> None:
    page = browser.page
    expect(page.locator("ul.items li[data-key]").first).to_be_visible()
    assert _stats(up, story["agent"])["total_unread"] > 0
    page.locator("#mark-all-read").click()
    expect(page.locator("#nav-unread")).to_have_attribute("data-n", "0")
    for kind in ("", "comment", "discussion", "direct_message"):
        expect(page.locator(f'.kinds [data-kind="{kind}"] .count')).to_have_text("0")
    expect(page.locator("ul.items li .who.unread")).to_have_count(0)
    assert _stats(up, story["agent"])["total_unread"] == 0
    assert page.title().startswith("Inbox")  # no "(N)" left in the tab title
    browser.shot("workspace-all-read")


def test_a_token_for_another_account_sees_nothing_of_the_demo(up: Up, browser: Browser) -> None:
    other = add_token(up, "--role", "im", "--account", "some-other-shop", "--name", "other desk")
    page = browser.page
    sign_in(browser, up, other["token"])
    expect(page.locator("#who")).to_have_text("other desk (im)")
    expect(page.locator("ul.items li.empty")).to_have_text("Nothing here.")
    expect(page.locator(f'.accounts-pick [data-account-id="{DEMO}"]')).to_have_count(0)
    page.locator("#search").fill("价格")
    page.locator("#search").press("Enter")
    expect(page.locator("ul.items li.empty")).to_be_visible()
    assert im_get(up, other["token"], "/api/im/search", q="价格")["data"]["messages"] == []
    browser.shot("workspace-other-account")


def test_admin_manages_tokens_and_a_revoked_one_is_refused(up: Up, browser: Browser, story: dict[str, Any]) -> None:
    page = browser.page
    sign_in(browser, up, up.token)
    page.get_by_role("link", name="Tokens").click()
    expect(page.locator("main h1")).to_have_text("Tokens")
    expect(page.locator("tr[data-token-id]", has_text="agent 1")).to_be_visible()
    page.get_by_role("button", name="Add token").click()
    dialog = page.locator("dialog[open]")
    dialog.locator('input[name="name"]').fill("desk 3")
    dialog.get_by_role("button", name="Add").click()
    secret = page.locator("#new-token-secret").input_value()
    assert secret.startswith("hcrm_")
    browser.shot("tokens-new-secret")
    page.locator("dialog[open]").get_by_role("button", name="Done").click()
    row = page.locator("tr[data-token-id]", has_text="desk 3")
    row.get_by_role("button", name="Revoke").click()
    page.locator("dialog[open]").get_by_role("button", name="Revoke token").click()
    expect(row).to_have_count(0)
    assert im_get(up, secret, "/api/im/accounts")["status_code"] == 401
    browser.shot("tokens")


# ---------------------------------------------------------------- an agent's day at a laptop, as they met it

LONG_NAME = "一位名字特别特别特别长的老顾客朋友您好呀"  # long enough to overflow a row's first line


def _row_lines_fit(page: Any) -> list[str]:
    """The texts of list rows whose lines wrap below the row's fixed height, where the reader cannot see them."""
    return page.evaluate(  # type: ignore[no-any-return]
        """() => [...document.querySelectorAll('ul.items li[data-key] button')].flatMap((b) => {
            const bottom = b.getBoundingClientRect().bottom;
            return [...b.querySelectorAll('*')].filter((e) => e.getBoundingClientRect().bottom > bottom + 1)
                .map((e) => e.textContent);
        })"""
    )


def test_a_dm_arriving_in_the_open_conversation_shows_there_and_answering_reads_it(
    up: Up, browser: Browser, story: dict[str, Any]
) -> None:
    page = browser.page
    sign_in(browser, up, story["agent"])
    first = f"请问还有货吗 {int(time.time())}"
    peer = up.control("POST", "/messages", {"uid": DEMO_UID, "text": "你好", "sender": {"nickname": LONG_NAME}})
    for said in [f"补充 {i}" for i in range(8)] + [first]:  # a conversation taller than the thread
        up.control("POST", "/messages", {"uid": DEMO_UID, "text": said, "sender": {"uid": peer["sender_uid"]}})
    row = page.locator("ul.items li[data-key]", has_text=first)
    expect(row).to_be_visible(timeout=120_000)  # live, at the top
    # A long name is cut with an ellipsis on its own line, not wrapped out of the row.
    assert _row_lines_fit(page) == []
    row.get_by_role("button").click()
    body = page.locator(".thread-body")
    expect(body).to_contain_text(first)
    # The customer writes again while the agent has the conversation open: the list (the control) and the
    # open conversation both show it, the conversation at its bottom where the reader is.
    again = f"我想要两件 {int(time.time())}"
    up.control("POST", "/messages", {"uid": DEMO_UID, "text": again, "sender": {"uid": peer["sender_uid"]}})
    expect(page.locator("ul.items li[data-key]").first).to_contain_text(again, timeout=120_000)
    story["dm"] = again
    expect(body.locator(".msg").last).to_contain_text(again, timeout=10_000)
    assert body.evaluate("e => e.scrollHeight - e.scrollTop - e.clientHeight") < 40
    browser.shot("workspace-dm-live-in-thread")
    # Answering the conversation reads it: no unread mark is left for the agent to clear by hand.
    unread_before = _stats(up, story["agent"])["unread_direct_messages"]
    assert unread_before >= 11
    page.locator("#reply-text").fill("有的，已为您预留两件")
    page.locator("#reply-text").press("Enter")
    expect(page.locator(".outbox li").last).to_have_attribute("data-status", "sent", timeout=90_000)
    answered = page.locator("ul.items li[data-key]", has_text=again).locator(".who")
    expect(answered).not_to_have_class(re.compile("unread"))
    wait_until(
        "the conversation read",
        lambda: _stats(up, story["agent"])["unread_direct_messages"] == unread_before - 11,
        20,
        up,
    )
    browser.shot("workspace-dm-answered-read")


def test_a_refused_answer_leaves_the_comment_unread(up: Up, browser: Browser, story: dict[str, Any]) -> None:
    page = browser.page
    text = f"能发个链接吗 {int(time.time())}"
    story["link"] = text
    new_comment(up, story, text, "要链接的观众")
    row = page.locator("ul.items li[data-key]", has_text=text)
    expect(row).to_be_visible(timeout=120_000)
    up.control("POST", f"/accounts/{DEMO_UID}/arm", {"mode": "refuse", "kind": "comment_reply", "times": 1})
    row.get_by_role("button").click()
    page.locator("#reply-text").fill("链接在主页")
    page.locator("#reply-text").press("Enter")
    failed = page.locator(".outbox li", has_text="链接在主页")
    expect(failed).to_have_attribute("data-status", "failed", timeout=90_000)
    expect(failed.locator(".error")).not_to_be_empty()  # the platform's words
    page.wait_for_timeout(1000)  # what a wrongly read item would take to lose its mark
    expect(row.locator(".who")).to_have_class(re.compile("unread"))
    # Retried and sent, it is read.
    failed.get_by_role("button", name="Retry").click()
    expect(failed).to_have_attribute("data-status", "sent", timeout=90_000)
    expect(row.locator(".who")).not_to_have_class(re.compile("unread"))
    browser.shot("workspace-refused-then-retried")


def test_a_reply_refused_while_the_agent_is_on_another_page_waits_there_to_be_retried(
    up: Up, browser: Browser, story: dict[str, Any]
) -> None:
    page = browser.page
    up.control("POST", f"/accounts/{DEMO_UID}/arm", {"mode": "refuse", "kind": "comment_reply", "times": 1})
    page.locator("ul.items li[data-key]", has_text=story["link"]).get_by_role("button").click()
    page.locator("#reply-text").fill("已私信您链接")
    page.locator("#reply-text").press("Enter")
    expect(page.locator(".outbox li", has_text="已私信您链接")).to_be_visible()
    page.get_by_role("link", name="Notifications").click()
    expect(page.locator("main h1")).to_have_text("Notifications")
    wait_until(
        "the platform refusing the reply",
        lambda: "comment_reply" not in up.control("GET", f"/accounts/{DEMO_UID}")["arms"],
        90,
        up,
    )
    page.wait_for_timeout(2000)  # the worker's report on its way to the read models
    page.locator('[data-nav="inbox"]').click()
    page.locator("ul.items li[data-key]", has_text=story["link"]).get_by_role("button").click()
    refused = page.locator(".outbox li", has_text="已私信您链接")
    expect(refused).to_have_attribute("data-status", "failed", timeout=30_000)
    expect(refused.get_by_role("button", name="Retry")).to_be_visible()
    browser.shot("workspace-refused-while-away")


def test_a_draft_waits_while_the_agent_reads_other_threads(up: Up, browser: Browser, story: dict[str, Any]) -> None:
    page = browser.page
    mine = page.locator("ul.items li[data-key]", has_text=story["dm"])
    mine.get_by_role("button").click()
    expect(page.locator(".thread-body")).to_contain_text(story["dm"])
    draft = "稍等，我帮您查一下库存\n明天"
    page.locator("#reply-text").fill(draft)
    page.locator('ul.items li[data-type="comment"]').first.get_by_role("button").click()
    expect(page.locator(".thread h2")).to_contain_text("comment from")
    expect(page.locator("#reply-text")).to_have_value("")  # another thread, another (empty) box
    mine.get_by_role("button").click()
    expect(page.locator("#reply-text")).to_have_value(draft)
    # Across pages of the console too.
    page.get_by_role("link", name="Notifications").click()
    expect(page.locator("main h1")).to_have_text("Notifications")
    page.locator('[data-nav="inbox"]').click()
    page.locator("ul.items li[data-key]", has_text=story["dm"]).get_by_role("button").click()
    expect(page.locator("#reply-text")).to_have_value(draft)
    browser.shot("workspace-draft-kept")
    page.locator("#reply-text").fill("")


def test_a_notification_opens_its_conversation(up: Up, browser: Browser, story: dict[str, Any]) -> None:
    page = browser.page
    page.get_by_role("link", name="Notifications").click()
    note = page.locator("ul.notes li", has_text=story["dm"])
    note.get_by_role("link", name="Open").click()
    expect(page.locator(".thread h2")).to_have_text(f"DM with {LONG_NAME}")
    expect(page.locator(".thread-body")).to_contain_text(story["dm"])
    expect(page.locator(f'.accounts-pick [data-account-id="{DEMO}"]')).to_have_attribute("aria-pressed", "true")
    browser.shot("workspace-opened-from-notification")


def test_a_keyboard_user_keeps_their_place_in_notifications_as_new_ones_arrive(
    up: Up, browser: Browser, story: dict[str, Any]
) -> None:
    page = browser.page
    page.get_by_role("link", name="Notifications").click()
    link = page.locator("ul.notes li", has_text=story["dm"]).get_by_role("link", name="Open")
    link.focus()
    key = link.get_attribute("data-key")
    assert key, "a control a live refresh can give focus back to"
    text = f"新的私信 {int(time.time())}"
    up.control("POST", "/messages", {"uid": DEMO_UID, "text": text, "sender": {"nickname": "又一位观众"}})
    expect(page.locator("ul.notes li").first).to_contain_text(text, timeout=120_000)  # the list was drawn again
    assert page.evaluate("document.activeElement.dataset.key") == key
    page.keyboard.press("Enter")  # and the key still does what the agent meant
    expect(page.locator(".thread h2")).to_have_text(f"DM with {LONG_NAME}")


def test_a_search_of_punctuation_alone_is_told_at_once(up: Up, browser: Browser) -> None:
    page = browser.page
    page.locator("#search").fill("？？")
    page.locator("#search").press("Enter")
    expect(page.locator(".toast.bad").last).to_contain_text("punctuation alone")
    expect(page.locator(".scoped")).not_to_contain_text("search:")  # the list is not passed off as results
    expect(page.locator("ul.items li[data-key]").first).to_be_visible()
    page.locator("#search").press("Escape")


def test_a_comment_the_crawler_sees_after_newer_items_still_arrives_live(
    up: Up, browser: Browser, story: dict[str, Any]
) -> None:
    page = browser.page
    expect(page.locator("ul.items li[data-key]").first).to_be_visible()
    # Written five minutes ago on the platform, seen only now: the list already holds newer items.
    text = f"五分钟前的评论 {int(time.time())}"
    late = {"aweme_id": story["work"], "text": text, "user": {"nickname": "迟到观众"}}
    late["create_time"] = int(time.time()) - 300
    up.control("POST", "/comments", late)
    wait_until(
        "the crawler seeing the late comment",
        lambda: text in str(im_get(up, story["agent"], "/api/im/search", q=text.split()[0])),
        120,
        up,
    )
    expect(page.locator("ul.items li[data-key]", has_text=text)).to_be_visible(timeout=15_000)
    browser.shot("workspace-late-comment-live")


def test_a_hundred_accounts_on_a_laptop_screen(up: Up, browser: Browser, story: dict[str, Any]) -> None:
    page = browser.page
    with up.http() as http:
        for i in range(100):
            body = {"platform": "douyin", "account_name": f"门店账号{i:03d}", "account_id": f"shop-{i:03d}"}
            res = http.post("/api/v1/accounts", json=body)
            assert res.status_code == 201, res.text
    page.set_viewport_size({"width": 1280, "height": 720})
    try:
        sign_in(browser, up, story["agent"])
        select = page.locator("#account-select")
        expect(select.locator("option")).to_have_count(1 + 100 + 1)  # every account, the demo's included
        # The list is where it was, in view: a few account buttons (those with unread) and the select.
        first = page.locator("ul.items li[data-key]").first
        expect(first).to_be_visible()
        assert page.locator(".accounts-pick button").count() <= 6
        box = first.bounding_box()
        assert box is not None and box["y"] + box["height"] < 720
        # An account of the hundred, chosen by name.
        select.select_option(label="门店账号042")
        expect(page.locator("ul.items li.empty")).to_have_text("Nothing here.")
        assert page.url.endswith("#/inbox/shop-042")
        select.select_option(value=DEMO)
        expect(first).to_be_visible()
        # A long conversation open at 720 px, found by a search (its chip one more line above the list): its
        # messages scroll inside the thread, and the reply box, Send and the outcomes under it stay in view
        # without scrolling the page.
        page.locator("#search").fill("补充")
        page.locator("#search").press("Enter")
        expect(page.locator(".scoped")).to_contain_text("search: 补充")
        page.locator("ul.items li[data-key]", has_text="补充").first.get_by_role("button").click()
        expect(page.locator(".thread-body .msg")).to_have_count(12)
        for part in ("#reply-send", ".panel.thread", ".panel.list"):
            box = page.locator(part).bounding_box()
            assert box is not None and box["y"] + box["height"] <= 720, (part, box)
        assert page.evaluate("document.documentElement.scrollHeight") <= 720
        page.locator("#search").press("Escape")
        browser.shot("workspace-hundred-accounts-720")
        # The operator's dashboard says who waits for a worker once per reason, not a hundred times.
        sign_in(browser, up, up.token)
        page.get_by_role("link", name="Dashboard").click()
        waiting = page.locator("#unassigned li")
        expect(waiting.first).to_contain_text("more")
        assert waiting.count() <= 3
        assert sum(int(li.get_attribute("data-count") or 0) for li in waiting.all()) >= 90
        browser.shot("dashboard-hundred-accounts-720")
        # The accounts page narrowed to those to log in, then to one by name.
        page.get_by_role("link", name="Accounts").click()
        page.locator("#login-filter").select_option("not_logged_in")
        expect(page.locator("tr[data-account-id]")).to_have_count(100)
        expect(page.locator('tr[data-account-id][data-login-status="logged_in"]')).to_have_count(0)
        page.locator("#account-filter").fill("门店账号042")
        expect(page.locator("tr[data-account-id]")).to_have_count(1)
        expect(page.locator("#accounts-shown")).to_have_text("1 of 101 shown")
        browser.shot("accounts-filtered-720")
    finally:
        page.set_viewport_size({"width": 1280, "height": 860})
