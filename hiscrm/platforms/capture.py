"""Reading a page's own API answers: the page makes (and signs) its requests, we keep the bodies.

Bodies are fetched as the responses arrive, because Chromium may drop a body once the page
navigates on; `settle()` waits for the reads still in flight.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from urllib.parse import urlsplit

import msgspec
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page, Response

log = logging.getLogger(__name__)


class Answer(msgspec.Struct, frozen=True):
    path: str
    body: bytes


async def read_answer(response: Response) -> Answer:
    return Answer(urlsplit(response.url).path, await response.body())


class Capture:
    """Collects the answers to requests whose URL path is one of `paths`, for as long as it is attached."""

    def __init__(self, page: Page, paths: Iterable[str]) -> None:
        self.page = page
        self.paths = frozenset(paths)
        self.answers: list[Answer] = []
        self._reads: set[asyncio.Task[None]] = set()
        self.arrived = asyncio.Condition()

    def __enter__(self) -> Capture:
        self.page.on("response", self._on_response)
        return self

    def __exit__(self, *exc: object) -> None:
        self.page.remove_listener("response", self._on_response)

    def _on_response(self, response: Response) -> None:
        path = urlsplit(response.url).path
        if path in self.paths:
            task = asyncio.create_task(self._read(path, response))
            self._reads.add(task)
            task.add_done_callback(self._reads.discard)

    async def _read(self, path: str, response: Response) -> None:
        try:
            body = await response.body()
        except PlaywrightError as exc:  # the page navigated away before the body was read
            log.debug("lost the body of %s: %s", response.url, exc)
            return
        async with self.arrived:
            self.answers.append(Answer(path, body))
            self.arrived.notify_all()

    async def settle(self) -> None:
        while self._reads:
            await asyncio.gather(*list(self._reads))

    def of(self, path: str) -> list[Answer]:
        return [a for a in self.answers if a.path == path]

    async def wait_for(self, path: str, count: int = 1, timeout: float = 20.0) -> list[Answer]:
        """Until at least `count` answers for `path` have arrived (bodies read)."""
        async with asyncio.timeout(timeout), self.arrived:
            await self.arrived.wait_for(lambda: len(self.of(path)) >= count)
        return self.of(path)
