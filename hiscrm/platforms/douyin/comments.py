"""Comments and replies of the works whose comment count moved since the last pass.

The comment page lists top-level comments newest first, 20 at a time, and loads a thread's
replies when "查看N条回复" is clicked. A pass pages on only until it has found as many new
comments and replies as the work's count grew by, and opens only threads whose reply total moved.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from hiscrm.facts.catalogue import ContentObserved
from hiscrm.platforms.capture import Capture
from hiscrm.platforms.douyin import answers, parse, site
from hiscrm.platforms.douyin.pages import open_creator_page, wait_for_count
from hiscrm.platforms.douyin.run import CrawlRun

# Cursor keys: what the last pass saw, so the next one reads only what moved.
WORK_TOTAL = "comments:"  # + aweme_id -> comment_count (replies included)
THREAD_TOTAL = "replies:"  # + top-level cid -> reply_comment_total

_THREADS_OPEN = """([item, show, cids]) => cids.every(cid =>
  !document.querySelector(`${item}[data-cid="${cid}"] > ${show}`))"""


async def crawl_comments(run: CrawlRun, works: list[ContentObserved]) -> None:
    for work in works:
        before = run.cursor.get(WORK_TOTAL + work.content_id, 0)
        if work.stats.comments != before:
            await _crawl_work(run, work.content_id, work.stats.comments - before)
            run.cursor[WORK_TOTAL + work.content_id] = work.stats.comments


def comments_url(aweme_id: str) -> str:
    return f"{site.COMMENTS}?aweme_id={quote(aweme_id)}"


async def _crawl_work(run: CrawlRun, aweme_id: str, grown_by: int) -> None:
    page = run.page
    title = run.titles.get(aweme_id)
    with Capture(page, [site.COMMENT_LIST, site.REPLY_LIST]) as capture:
        await open_creator_page(page, run.site, comments_url(aweme_id))
        to_open: list[dict[str, Any]] = []
        found = shown = pages = 0
        while True:
            data = answers.ok((await capture.wait_for(site.COMMENT_LIST, pages + 1))[pages])
            pages += 1
            for c in data["comments"]:
                found += _news_in(run, c, to_open)
                await run.observe(parse.comment(run.account_id, c, title, run.now_ms()))
            shown += len(data["comments"])
            await wait_for_count(page, site.TOP_COMMENT, shown)
            if not data.get("has_more") or found >= grown_by:
                break
            await page.locator(site.COMMENTS_MORE).click()
        await _open_threads(run, [c["cid"] for c in to_open])
        await capture.settle()
        for answer in capture.of(site.REPLY_LIST):
            for reply in answers.ok(answer)["comments"]:
                await run.observe(parse.comment(run.account_id, reply, title, run.now_ms()))
    for c in to_open:
        run.cursor[THREAD_TOTAL + c["cid"]] = c["reply_comment_total"]


def _news_in(run: CrawlRun, c: dict[str, Any], to_open: list[dict[str, Any]]) -> int:
    """How many new items this top-level comment accounts for: itself if unseen, plus replies added
    to its thread (the thread is queued to be opened)."""
    new = run.known.refs("comment", c["cid"]) is None
    total = int(c.get("reply_comment_total") or 0)
    before = run.cursor.get(THREAD_TOTAL + c["cid"], 0)
    if total and total != before:
        to_open.append(c)
    return int(new) + max(total - before, 0)


async def _open_threads(run: CrawlRun, cids: list[str]) -> None:
    """Clicks every thread's "查看N条回复" and waits until the page has loaded them all (it removes the button)."""
    for cid in cids:
        await run.page.locator(f'{site.COMMENT_ITEM}[data-cid="{cid}"] > {site.SHOW_REPLIES}').click()
    if cids:
        await run.page.wait_for_function(_THREADS_OPEN, arg=[site.COMMENT_ITEM, site.SHOW_REPLIES, cids])
