"""One crawl pass: home (the session works), works, comments of active works, chat, notices."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from playwright.async_api import BrowserContext, Page
from playwright.async_api import Error as PlaywrightError

from hiscrm.facts.catalogue import ContentObserved, CrawlSwitches
from hiscrm.platforms.base import Cursor, Known, Observation, Observe, PlatformError
from hiscrm.platforms.douyin import detect
from hiscrm.platforms.douyin.chat import crawl_chat
from hiscrm.platforms.douyin.comments import crawl_comments
from hiscrm.platforms.douyin.notices import crawl_notices
from hiscrm.platforms.douyin.pages import new_page
from hiscrm.platforms.douyin.profile import read_profile
from hiscrm.platforms.douyin.run import CrawlRun
from hiscrm.platforms.douyin.site import Site
from hiscrm.platforms.douyin.works import crawl_works


async def crawl_pass(
    context: BrowserContext,
    st: Site,
    account_id: str,
    cursor: Cursor,
    known: Known,
    observe: Observe,
    parts: CrawlSwitches | None = None,
) -> None:
    parts = parts or CrawlSwitches()
    if not parts.works:
        observe = _without(ContentObserved, observe)  # the works are still read when comments need them
    async with explained_page(context) as page:
        run = CrawlRun(page=page, site=st, account_id=account_id, cursor=cursor, known=known, sink=observe)
        await read_profile(run)
        if parts.works or parts.comments:
            works = await crawl_works(run)
            if parts.comments:
                await crawl_comments(run, works)
        if parts.dms:
            await crawl_chat(run)
        if parts.notifications:
            await crawl_notices(run)


def _without(kind: type[Observation], observe: Observe) -> Observe:
    async def sink(observation: Observation) -> None:
        if not isinstance(observation, kind):
            await observe(observation)

    return sink


@contextlib.asynccontextmanager
async def explained_page(context: BrowserContext) -> AsyncIterator[Page]:
    """A fresh page, closed afterwards. When something fails on it, what the page shows explains why:
    a page that turned into the login view or a security check raises that trouble instead."""
    page = await new_page(context)
    try:
        yield page
    except (PlaywrightError, TimeoutError) as exc:
        await detect.raise_page_trouble(page)
        first_line = str(exc).strip().splitlines()[:1]
        raise PlatformError(f"{type(exc).__name__} at {page.url}: {''.join(first_line)}") from exc
    finally:
        await page.close()
