"""Shared fixtures: a real nats-server per test (its own port and store), streams applied from streams/."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from hiscrm.config import REPO_ROOT
from hiscrm.store import streams
from hiscrm.store.auth import AuthSetup
from hiscrm.store.broker import EmbeddedBroker, free_port
from hiscrm.store.connection import connect
from hiscrm.store.event_store import EventStore

STREAMS_DIR = REPO_ROOT / "streams"


async def eventually(check: Callable[[], Any], what: str = "", timeout: float = 10.0) -> Any:
    """Polls `check` (plain or async) until it gives something true, and returns that; fails after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if asyncio.iscoroutine(found):
            found = await found
        if found:
            return found
        assert time.monotonic() < deadline, f"{what or check}: not within {timeout} s"
        await asyncio.sleep(0.05)


@pytest.fixture
def nats_auth() -> AuthSetup | None:
    """The broker's users; None runs it open. A test package that checks permissions overrides this."""
    return None


@pytest.fixture
async def broker(tmp_path: Path, nats_auth: AuthSetup | None) -> AsyncIterator[EmbeddedBroker]:
    b = EmbeddedBroker(tmp_path / "data", free_port(), auth=nats_auth)
    await b.start()
    try:
        yield b
    finally:
        await b.stop()


@pytest.fixture
async def nc(broker: EmbeddedBroker, nats_auth: AuthSetup | None):  # type: ignore[no-untyped-def]
    """The test's own connection: the admin user when the broker has users."""
    client = await connect([broker.url], "test", credentials=nats_auth.role("admin") if nats_auth else None)
    await streams.apply(client, STREAMS_DIR)
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
async def store(nc) -> EventStore:  # type: ignore[no-untyped-def]
    return EventStore(nc)


def hiscrm_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the real console script, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "hiscrm", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        cwd=REPO_ROOT,
    )
