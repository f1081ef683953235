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


class Cluster:
    """Three nats-servers routed to each other on loopback, each with its own JetStream store."""

    def __init__(self, root: Path) -> None:
        ports = [(free_port(), free_port()) for _ in range(3)]
        routes = ", ".join(f'"nats://127.0.0.1:{cluster_port}"' for _, cluster_port in ports)
        self.nodes = [
            EmbeddedBroker(
                root / f"n{i + 1}",
                client_port,
                name=f"n{i + 1}",
                extra_config=(
                    f'cluster {{\n  name: "hiscrm"\n  listen: "127.0.0.1:{cluster_port}"\n  routes: [{routes}]\n}}\n'
                ),
            )
            for i, (client_port, cluster_port) in enumerate(ports)
        ]

    @property
    def urls(self) -> list[str]:
        return [node.url for node in self.nodes]

    def node(self, name: str) -> EmbeddedBroker:
        return next(n for n in self.nodes if n.name == name)

    async def start(self) -> None:
        await asyncio.gather(*(node.start(wait_s=30) for node in self.nodes))

    async def stop(self) -> None:
        await asyncio.gather(*(node.stop() for node in self.nodes))


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    c = Cluster(tmp_path)
    await c.start()
    try:
        yield c
    finally:
        await c.stop()
