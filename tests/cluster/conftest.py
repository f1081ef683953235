"""Fixtures for running at scale: a broker with least-privilege users, and a three-node cluster on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hiscrm.store import streams
from hiscrm.store.auth import AuthSetup, ensure_auth
from hiscrm.store.broker import EmbeddedBroker
from hiscrm.store.cluster import LoopbackCluster
from hiscrm.store.connection import HiscrmClient, connect
from tests.conftest import STREAMS_DIR, free_port


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
