"""Opening a creator page the way a person would, and refusing to read a page that shows trouble."""

from __future__ import annotations

from playwright.async_api import BrowserContext, Page

from hiscrm.platforms.douyin import detect
from hiscrm.platforms.douyin.site import Site

NAVIGATION_TIMEOUT_MS = 30_000


async def new_page(context: BrowserContext) -> Page:
    page = await context.new_page()
    page.set_default_timeout(NAVIGATION_TIMEOUT_MS)
    return page


async def open_creator_page(page: Page, site: Site, path: str) -> None:
    """Navigates to a creator page; raises SessionExpired or Blocked if that is what it shows."""
    await page.goto(site.page(path), wait_until="domcontentloaded")
    await detect.raise_page_trouble(page)


async def wait_for_count(page: Page, selector: str, count: int) -> None:
    """Until the page shows at least `count` nodes matching `selector`."""
    await page.wait_for_function(
        "([selector, count]) => document.querySelectorAll(selector).length >= count", arg=[selector, count]
    )
