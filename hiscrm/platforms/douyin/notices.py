"""Notifications: the www notice API, newest first, read back to the newest one the last pass saw.

No creator page asks for notices, so the request is made from inside a page of the www origin with
the page's own fetch and the webapp parameters public callers send (is_new_notice=1 is what yields
notice_list_v2): on the real site the page's security SDK signs it like any of its requests.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode, urlsplit

from hiscrm.platforms.capture import answer_of
from hiscrm.platforms.douyin import answers, parse
from hiscrm.platforms.douyin import expectations as x
from hiscrm.platforms.douyin.run import CrawlRun

NEWEST = "notices:newest"  # cursor key: create_time (s) of the newest notice seen
MAX_PAGES = 50

_FETCH = "async url => (await fetch(url, {credentials: 'include'})).text()"


async def crawl_notices(run: CrawlRun) -> None:
    newest: int = run.cursor.get(NEWEST, 0)
    # A second is never split across pages, and notices of the newest second may still be arriving:
    # ask from one second before it and let the dedupe drop the repeats.
    after = newest - 1 if newest else 0
    before = 0
    for _ in range(MAX_PAGES):
        data = await notice_page(run, after, before)
        for notice in data["notice_list_v2"]:
            newest = max(newest, int(notice["create_time"]))
            await run.observe(parse.notification(run.account_id, notice, run.now_ms()))
        if not data.get("has_more") or not data["notice_list_v2"]:
            break
        before = int(data["min_time"])
    run.cursor[NEWEST] = newest


async def notice_page(run: CrawlRun, min_time: int, max_time: int) -> dict[str, Any]:
    """One page of notices, fetched from a www page (opened first if the run's page is elsewhere)."""
    if _origin(run.page.url) != _origin(run.site.www):
        await run.page.goto(run.site.www + "/", wait_until="domcontentloaded")
    query = {
        **x.NOTICE_QUERY,
        "notice_group": x.NOTICE_GROUP_ALL,
        "count": x.NOTICE_PAGE,
        "min_time": min_time,
        "max_time": max_time,
    }
    url = f"{run.site.www}{x.NOTICES}?{urlencode(query)}"
    body: str = await run.page.evaluate(_FETCH, url)
    data = answers.ok(answer_of(url, body.encode()))
    if "notice_list_v2" not in data:
        raise answers.missing(url, "notice_list_v2")
    return data


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
