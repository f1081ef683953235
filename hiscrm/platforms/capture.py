"""Reading a page's own API answers: the page makes (and signs) its requests, we keep the bodies.

A request is matched on the stable tail of its URL path (`…/creator/im/user_detail/` matches
`/aweme/v1/creator/im/user_detail/` and whatever prefix a gateway adds), never on its host,
prefix or query, which change. Bodies are fetched as the responses arrive, because Chromium may
drop a body once the page navigates on; `settle()` waits for the reads still in flight.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from urllib.parse import parse_qsl, urlsplit

import msgspec
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page, Response

log = logging.getLogger(__name__)


def matches(path: str, tail: str) -> bool:
    """Whether a URL path ends with a tail, trailing slashes aside."""
    return path.rstrip("/").endswith(tail.rstrip("/"))


class Answer(msgspec.Struct, frozen=True):
    path: str
    body: bytes
    query: dict[str, str] = {}


def answer_of(url: str, body: bytes) -> Answer:
    parts = urlsplit(url)
    return Answer(parts.path, body, dict(parse_qsl(parts.query)))


async def read_answer(response: Response) -> Answer:
    return answer_of(response.url, await response.body())


class Capture:
    """Collects the answers to requests whose URL path ends with one of `tails`, while attached."""

    def __init__(self, page: Page, tails: Iterable[str]) -> None:
        self.page = page
        self.tails = tuple(tails)
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
        if any(matches(path, tail) for tail in self.tails):
            task = asyncio.create_task(self._read(response))
            self._reads.add(task)
            task.add_done_callback(self._reads.discard)

    async def _read(self, response: Response) -> None:
        try:
            answer = await read_answer(response)
        except PlaywrightError as exc:  # the page navigated away before the body was read
            log.debug("lost the body of %s: %s", response.url, exc)
            return
        async with self.arrived:
            self.answers.append(answer)
            self.arrived.notify_all()

    async def settle(self) -> None:
        while self._reads:
            await asyncio.gather(*list(self._reads))

    def of(self, tail: str) -> list[Answer]:
        return [a for a in self.answers if matches(a.path, tail)]

    async def wait_for(self, tail: str, count: int = 1, timeout: float = 20.0) -> list[Answer]:
        """Until at least `count` answers for `tail` have arrived (bodies read)."""
        await self.wait_until(lambda: len(self.of(tail)) >= count, timeout)
        return self.of(tail)

    async def wait_until(self, ready: Callable[[], bool], timeout: float = 20.0) -> None:
        """Until `ready()` holds, checked as answers arrive."""
        async with asyncio.timeout(timeout), self.arrived:
            await self.arrived.wait_for(ready)
