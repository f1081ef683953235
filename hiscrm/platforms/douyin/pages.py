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


async def scroll_past(page: Page, selector: str) -> None:
    """Scrolls the last node matching `selector` into view and on, as a person reaching a list's end;
    the page loads more by itself."""
    await page.locator(selector).last.scroll_into_view_if_needed()
    await page.mouse.wheel(0, 1200)


# The page's own data, as crawlers of the real site read it: the props of the React fiber hanging off
# a DOM node, walking up through `return`. `FIBER_PROPS` defines `fiberProps(node, test)` for the
# scripts below to use; `test(props)` returns what it looks for, or a falsy value to walk on.
FIBER_PROPS = """
const fiberProps = (node, test, depth = 12) => {
  const key = node && Object.keys(node).find(k => k.startsWith('__reactFiber$'));
  let fiber = key ? node[key] : null;
  for (let i = 0; fiber && i < depth; i++, fiber = fiber.return) {
    const found = test(fiber.memoizedProps || {});
    if (found) return found;
  }
  return null;
};
"""
