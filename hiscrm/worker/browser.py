"""One Chromium per worker, one isolated context per account.

Chromium comes from the OS and is launched by path, never downloaded. Each account's context has
its own cookies and storage (restored from its credentials), its own fixed fingerprint and its own
proxy. If Chromium dies, the next context asked for relaunches it; contexts of the dead one are gone
and their runners open new ones.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

from playwright.async_api import Browser, BrowserContext, Playwright, async_playwright

from hiscrm.config import env
from hiscrm.worker.fingerprint import LOCALE, TIMEZONE, fingerprint_for

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


def chromium_path() -> str:
    return env("CHROMIUM") or DEFAULT_CHROMIUM


class Chromium:
    def __init__(self, executable: str | None = None, *, headless: bool = True) -> None:
        self.executable = executable or chromium_path()
        self.headless = headless
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._lock = asyncio.Lock()

    async def _running(self) -> Browser:
        async with self._lock:
            if self._browser is None or not self._browser.is_connected():
                if not os.access(self.executable, os.X_OK):
                    raise FileNotFoundError(f"no Chromium at {self.executable}; set HISCRM_CHROMIUM")
                if self._playwright is None:
                    self._playwright = await async_playwright().start()
                self._browser = await self._playwright.chromium.launch(
                    executable_path=self.executable, headless=self.headless, args=list(CHROMIUM_ARGS)
                )
                log.info("Chromium %s started from %s", self._browser.version, self.executable)
            return self._browser

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
            if self._browser is not None:
                await self._browser.close()
                self._browser = None
            if self._playwright is not None:
                await self._playwright.stop()
                self._playwright = None
