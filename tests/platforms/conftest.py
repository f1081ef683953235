"""Fixtures for the Douyin adapter tests: one sandbox and one Chromium per module (switching the
sandbox's variants between tests), and a fresh logged-in context per test."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
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
from hiscrm.sandbox.app import create_app
from hiscrm.sandbox.model import Variants
from hiscrm.sandbox.seed import demo_world
from hiscrm.sandbox.server import bind, serve
from hiscrm.sandbox.state import World
from hiscrm.worker import seen
from hiscrm.worker.browser import Chromium
from hiscrm.worker.seen import SeenIndex

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
    sock = bind("127.0.0.1", 0)
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    stop = asyncio.Event()
    task = asyncio.create_task(serve(create_app(world, traffic=False), sock, stop))
    async with httpx.AsyncClient(base_url=base) as http:
        for _ in range(100):
            try:
                await http.get("/__sandbox/variants")
                break
            except httpx.TransportError:
                await asyncio.sleep(0.05)
    chromium = Chromium()
    try:
        yield Site(base, world, chromium, create(PlatformOptions(base_url=base)))
    finally:
        await chromium.stop()
        stop.set()
        await asyncio.wait_for(task, 10)


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


KINDS = (ContentObserved, CommentObserved, ConversationObserved, MessageObserved, NotificationObserved)
