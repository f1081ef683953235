"""Fixtures for running at scale: a broker with least-privilege users, and a three-node cluster on loopback."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from hiscrm.config import REPO_ROOT
from hiscrm.store import streams
from hiscrm.store.auth import AuthSetup, ensure_auth
from hiscrm.store.broker import EmbeddedBroker
from hiscrm.store.cluster import LoopbackCluster
from hiscrm.store.connection import HiscrmClient, connect
from tests.conftest import free_port

STREAMS_DIR = REPO_ROOT / "streams"


async def eventually(check: Callable[[], object], timeout: float = 10.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what or check}")
        await asyncio.sleep(0.05)


class Secured:
    """One broker that admits only the users of `hiscrm auth`, with the streams applied by `admin`."""

    def __init__(self, broker: EmbeddedBroker, auth: AuthSetup) -> None:
        self.broker = broker
        self.auth = auth

    async def connect(self, user: str, **options: object) -> HiscrmClient:
        return await connect([self.broker.url], f"test-{user}", credentials=self.auth.role(user), **options)


@pytest.fixture
async def secured(tmp_path: Path) -> AsyncIterator[Secured]:
    auth = ensure_auth(tmp_path / "data", workers=["w1", "w2"])
    broker = EmbeddedBroker(tmp_path / "data", free_port(), auth=auth)
    await broker.start()
    admin = await connect([broker.url], "test-admin", credentials=auth.role("admin"))
    await streams.apply(admin, STREAMS_DIR)
    await admin.close()
    try:
        yield Secured(broker, auth)
    finally:
        await broker.stop()


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[LoopbackCluster]:
    c = LoopbackCluster(tmp_path)
    await c.start()
    try:
        yield c
    finally:
        await c.stop()
