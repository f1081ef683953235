"""Fixtures for the Douyin adapter tests: one sandbox and one Chromium per module (switching the
sandbox's variants between tests), and a fresh logged-in context per test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
import pytest_asyncio
from playwright.async_api import BrowserContext

from hiscrm.facts.catalogue import (
    CommentObserved,
    ContentObserved,
    ConversationObserved,
    MessageObserved,
    NotificationObserved,
)
from hiscrm.platforms.base import Observation, PlatformOptions
from hiscrm.platforms.douyin import Douyin, create
from hiscrm.sandbox import ids
from hiscrm.sandbox.model import Variants
from hiscrm.sandbox.seed import demo_world
from hiscrm.sandbox.state import World
from hiscrm.worker import seen
from hiscrm.worker.browser import Chromium
from hiscrm.worker.seen import SeenIndex
from tests.sandbox.sandbox_helpers import serving

KITCHEN = "2381749560317724160"  # 林小满的厨房 in the demo world
MODULE = pytest.mark.asyncio(loop_scope="module")


class Site(msgspec.Struct):
    base: str
    world: World
    chromium: Chromium
    douyin: Douyin


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def site() -> AsyncIterator[Site]:
    world = demo_world()
    async with serving(world) as base:
        chromium = Chromium()
        try:
            yield Site(base, world, chromium, create(PlatformOptions(base_url=base)))
        finally:
            await chromium.stop()


def logged_in_state(world: World, base: str, uid: str = KITCHEN) -> dict[str, Any]:
    """A storage state holding a fresh session of the account, as a login leaves it."""
    session = world.open_session(uid)
    host = base.split("//", 1)[1].split(":")[0]
    cookie = {"domain": host, "path": "/", "expires": -1, "httpOnly": True, "secure": False, "sameSite": "Lax"}
    return {"cookies": [{**cookie, "name": "sessionid", "value": session.sessionid}], "origins": []}


@pytest_asyncio.fixture(loop_scope="module")
async def context(site: Site) -> AsyncIterator[BrowserContext]:
    site.world.variants = Variants()
    ctx = await site.chromium.new_context("kitchen", logged_in_state(site.world, site.base), None)
    try:
        yield ctx
    finally:
        await ctx.close()
        site.world.variants = Variants()


class Observed:
    """What a pass observed, and a dedupe index holding it (the adapter's `known`), as a worker keeps."""

    def __init__(self, path: Path) -> None:
        self.index = SeenIndex.load(path)
        self.items: list[Observation] = []

    async def __call__(self, obs: Observation) -> None:
        self.items.append(obs)
        self.index.record(obs, seen.content_hash(obs))

    def of(self, kind: type[Any]) -> list[Any]:
        return [o for o in self.items if isinstance(o, kind)]

    def by_id(self) -> dict[str, Observation]:
        return {seen.item_key(o): o for o in self.items}


VARIANTS = [
    pytest.param(Variants(comment_page="interactive", dm_history="protobuf"), id="interactive-protobuf"),
    pytest.param(Variants(comment_page="work_detail", dm_history="json"), id="work_detail-json"),
    pytest.param(Variants(comment_page="interactive", dm_history="json"), id="interactive-json"),
    pytest.param(Variants(comment_page="work_detail", dm_history="protobuf"), id="work_detail-protobuf"),
]


def comment_id(variants: Variants, cid: str) -> str:
    """The id the comment page of this generation shows for a comment."""
    return cid if variants.comment_page == "interactive" else ids.comment_token(cid)


KINDS = (ContentObserved, CommentObserved, ConversationObserved, MessageObserved, NotificationObserved)
