"""What one crawl pass carries from stage to stage."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from playwright.async_api import Page

from hiscrm.facts.catalogue import Person
from hiscrm.platforms.base import Cursor, Known, Observation, Observe
from hiscrm.platforms.douyin.site import Site


@dataclass
class CrawlRun:
    page: Page
    site: Site
    account_id: str
    cursor: Cursor
    known: Known
    sink: Observe
    me: Person | None = None
    titles: dict[str, str] = field(default_factory=dict)  # aweme_id -> title, for the comments' work_title
    generation: str = "interactive"  # of the comment pages, as the works page shows it

    @staticmethod
    def now_ms() -> int:
        return int(time.time() * 1000)

    async def observe(self, observation: Observation) -> None:
        await self.sink(observation)
