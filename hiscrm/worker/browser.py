"""One Chromium per worker, one isolated context per account.

Chromium comes from the OS and is launched by path, never downloaded. Each account's context has
its own cookies and storage (restored from its credentials), its own fixed fingerprint and its own
proxy.

If Chromium dies, or Playwright's driver under it (the OOM killer, a crash), the next context asked for
starts both again; contexts of the dead pair are gone and their runners open new ones. A dead driver
shows at Playwright's API only as TargetClosedError from the next call: `is_connected()` stays True and
no "disconnected" event fires (playwright-dotnet #3280; the Python client rejects the calls in flight and
refuses new ones, nothing more). So a runner whose work failed asks `lost_since`, which makes a round trip
through driver and browser. Launches that fail, and browsers that die young, are paced by a backoff; after
`MAX_FAILURES` in a row the browser is given up (`gone`) and `on_gone` tells the worker, which stops
rather than hold accounts it cannot open.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable
from typing import Any

from playwright.async_api import Browser, BrowserContext, Playwright, async_playwright
from playwright.async_api import Error as PlaywrightError

from hiscrm.config import env
from hiscrm.errors import HiscrmError
from hiscrm.worker.fingerprint import LOCALE, TIMEZONE, fingerprint_for
from hiscrm.worker.pacing import Backoff

log = logging.getLogger(__name__)

DEFAULT_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-blink-features=AutomationControlled",
    "--blink-settings=imagesEnabled=false",
)
# Browser chrome (tabs, address bar) takes this much of the screen's height.
WINDOW_CHROME_PX = 120
# Failed launches and young deaths in a row before the browser is given up; the waits between them.
MAX_FAILURES = 4
RELAUNCH_BASE_S = 1.0
RELAUNCH_CAP_S = 8.0
# A browser that lived this long was healthy: the failures before it are forgotten.
STABLE_S = 60.0


class BrowserGone(HiscrmError):
    """Chromium cannot be started (again): this worker can open no account."""


def chromium_path() -> str:
    return env("CHROMIUM") or DEFAULT_CHROMIUM


class Chromium:
    def __init__(
        self,
        executable: str | None = None,
        *,
        headless: bool = True,
        on_gone: Callable[[BrowserGone], None] | None = None,
    ) -> None:
        self.executable = executable or chromium_path()
        self.headless = headless
        self.on_gone = on_gone
        self.gone: BrowserGone | None = None
        self.generation = 0  # launches so far: work that began under an older one ran in a browser now gone
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._lost: Browser | None = None  # the running browser, found dead by a probe
        self._launched_at = 0.0
        self._failures = Backoff(RELAUNCH_BASE_S, RELAUNCH_CAP_S)
        self._lock = asyncio.Lock()

    def holds(self, context: BrowserContext) -> bool:
        """Whether `context` lives in the running browser, as far as is known without asking it."""
        browser = context.browser
        return browser is not None and browser is self._browser and self._usable(browser)

    def _usable(self, browser: Browser) -> bool:
        return browser.is_connected() and browser is not self._lost

    async def lost_since(self, generation: int) -> bool:
        """Whether the browser running at `generation` is gone: replaced since, or no longer answering."""
        if generation != self.generation:
            return True
        browser = self._browser
        if browser is None:
            return False
        if self._usable(browser):
            try:
                session = await browser.new_browser_cdp_session()
                await session.detach()
                return False
            except PlaywrightError as exc:
                log.warning("Chromium %s does not answer (%s); it is started again", browser.version, exc)
        if browser is self._browser:
            self._lost = browser
        return True

    async def _running(self) -> Browser:
        async with self._lock:
            browser = self._browser
            if browser is not None and self._usable(browser):
                return browser
            if browser is not None:
                young = time.monotonic() - self._launched_at < STABLE_S
                await self._discard()
                if young:
                    await self._failed(f"Chromium died {time.monotonic() - self._launched_at:.0f} s after its start")
                else:
                    self._failures.reset()
            while True:
                try:
                    return await self._launch()
                except Exception as exc:  # a driver dying as it starts raises a bare Exception
                    await self._discard()
                    await self._failed(f"Chromium {self.executable} cannot be started: {exc}".splitlines()[0])

    async def _launch(self) -> Browser:
        if self.gone is not None:
            raise self.gone
        if not os.access(self.executable, os.X_OK):
            raise self._give_up(f"no Chromium at {self.executable}; set HISCRM_CHROMIUM")
        self._playwright = await async_playwright().start()
        browser = await self._playwright.chromium.launch(
            executable_path=self.executable, headless=self.headless, args=list(CHROMIUM_ARGS)
        )
        self._browser, self._launched_at = browser, time.monotonic()
        self.generation += 1
        log.info("Chromium %s started from %s", browser.version, self.executable)
        return browser

    async def _failed(self, why: str) -> None:
        """One more failure in a row: waited out, or the last one allowed."""
        if self._failures.failures + 1 >= MAX_FAILURES:
            raise self._give_up(f"{why}, {MAX_FAILURES} times in a row")
        delay = self._failures.next_delay()
        log.warning("%s; trying again in %.1f s", why, delay)
        await asyncio.sleep(delay)

    def _give_up(self, why: str) -> BrowserGone:
        self.gone = BrowserGone(f"the worker's browser is gone: {why}")
        log.error("%s", self.gone)
        if self.on_gone is not None:
            self.on_gone(self.gone)
        return self.gone

    async def _discard(self) -> None:
        """The browser and its driver, whatever state they are in (a dead driver refuses every call)."""
        browser, self._browser, self._lost = self._browser, None, None
        playwright, self._playwright = self._playwright, None
        if browser is not None:
            with contextlib.suppress(PlaywrightError):
                await browser.close()
        if playwright is not None:
            with contextlib.suppress(PlaywrightError):
                await playwright.stop()

    async def new_context(
        self, account_id: str, storage_state: dict[str, Any] | None, proxy: dict[str, str] | None
    ) -> BrowserContext:
        browser = await self._running()
        fp = fingerprint_for(account_id, browser.version)
        context = await browser.new_context(
            user_agent=fp.user_agent,
            viewport={"width": fp.width, "height": fp.height - WINDOW_CHROME_PX},
            screen={"width": fp.width, "height": fp.height},
            locale=LOCALE,
            timezone_id=TIMEZONE,
            storage_state=storage_state,  # type: ignore[arg-type]
            proxy=proxy,  # type: ignore[arg-type]
        )
        await context.add_init_script(fp.init_script())
        return context

    async def stop(self) -> None:
        async with self._lock:
            await self._discard()
