"""Works: the works page pages through item/list (and work_list for exact times and statistics),
loading more as its end is scrolled into view. It also tells which comment page the account has."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Page

from hiscrm.facts.catalogue import ContentObserved
from hiscrm.platforms.capture import Capture
from hiscrm.platforms.douyin import answers, parse, site
from hiscrm.platforms.douyin import expectations as x
from hiscrm.platforms.douyin.pages import open_creator_page, scroll_past, wait_for_count
from hiscrm.platforms.douyin.run import CrawlRun
from hiscrm.platforms.douyin.site import Site


async def _generation_shown(page: Page) -> str:
    """The works page links to work-detail pages only where the account has them."""
    return "work_detail" if await page.locator(x.WORK_DETAIL_LINK).count() else "interactive"


async def comment_generation(page: Page, st: Site) -> str:
    """Which comment page the account has, from the first page of its works."""
    with Capture(page, [x.ITEM_LIST]) as capture:
        await open_creator_page(page, st, site.WORKS)
        data = answers.ok((await capture.wait_for(x.ITEM_LIST))[0])
        await wait_for_count(page, x.WORK_ROW, len(data["item_info_list"]))
    return await _generation_shown(page)


async def crawl_works(run: CrawlRun) -> list[ContentObserved]:
    page = run.page
    with Capture(page, [x.ITEM_LIST, x.WORK_LIST]) as capture:
        await open_creator_page(page, run.site, site.WORKS)
        items: list[dict[str, Any]] = []
        pages = 0
        while True:
            data = answers.ok((await capture.wait_for(x.ITEM_LIST, pages + 1))[pages])
            pages += 1
            items.extend(data["item_info_list"])
            # Scrolling on is only safe once the page has rendered this answer and moved its cursor.
            await wait_for_count(page, x.WORK_ROW, len(items))
            if not data.get("has_more"):
                break
            await scroll_past(page, x.WORK_ROW)
        run.generation = await _generation_shown(page)
        await capture.settle()
    awemes = {str(a["aweme_id"]): a for answer in capture.of(x.WORK_LIST) for a in answers.ok(answer)["aweme_list"]}
    works = []
    now = run.now_ms()
    for item in items:
        work = parse.content(run.account_id, item, awemes.get(str(item["item_id_plain"])), now)
        run.titles[work.content_id] = work.title or ""
        await run.observe(work)
        works.append(work)
    return works
