"""The sandbox site as the soak drives it: creator accounts, traffic, and the phone that scans a QR.

The site runs as its own process (`hiscrm sandbox`), so its control API is reached over HTTP; the
few dozen calls a run makes go through the standard library in a thread.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from typing import Any

from hiscrm.sandbox import qr


class Site:
    def __init__(self, base: str) -> None:
        self.base = base
        self._pngs: dict[str, str] = {}  # QR token -> its PNG in base64, as a worker reports it

    async def control(self, method: str, path: str, body: Any = None) -> Any:
        def call() -> Any:
            request = urllib.request.Request(
                f"{self.base}/__sandbox{path}",
                data=None if body is None else json.dumps(body).encode(),
                method=method,
                headers={"content-type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=15) as response:
                return json.loads(response.read())

        return await asyncio.to_thread(call)

    async def wait_up(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                await self.control("GET", "/settings")
                return
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)

    async def add_account(self, n: int) -> str:
        """A creator with some history to crawl at first (works, comments, conversations); its uid."""
        shape = {"works": 6, "comments": 60, "conversations": 6, "messages": 4, "seed": n}
        account = await self.control("POST", "/accounts", {"nickname": f"压测账号{n:03d}", **shape})
        return str(account["uid"])

    async def traffic(self, uid: str, comments_per_minute: float, messages_per_minute: float) -> None:
        rates = {"comments_per_minute": comments_per_minute, "messages_per_minute": messages_per_minute}
        await self.control("POST", f"/accounts/{uid}/traffic", rates)

    async def scan_shown(self, images: list[str], uid: str) -> bool:
        """Confirm, as `uid`, the waiting QR that one of `images` shows; False if none of them is waiting.

        Several logins wait at once, so "the latest QR" could be another account's: the QR is found by
        its picture, the way a phone would.
        """
        for login in await self.control("GET", "/qr"):
            token = login["token"]
            if login["status"] != "new":
                continue
            if token not in self._pngs:
                self._pngs[token] = await asyncio.to_thread(qr.png_base64, token)
            if any(self._pngs[token] in image for image in images):
                await self.control("POST", "/qr/scan", {"uid": uid, "token": token, "confirm": True})
                return True
        return False
