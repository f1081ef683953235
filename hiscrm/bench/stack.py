"""The projector and the API as their own processes, as deployed, on a benchmark's broker and data dir."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hiscrm.api.auth import Tokens
from hiscrm.bench import api_page, freshness, live_feed
from hiscrm.bench.http_client import KeepAlive
from hiscrm.config import REPO_ROOT
from hiscrm.lifeline import command_for as lifeline_command
from hiscrm.projector.live import LiveModels
from hiscrm.store import streams
from hiscrm.store.broker import EmbeddedBroker, free_port
from hiscrm.store.connection import HiscrmClient, connect
from hiscrm.store.event_store import EventStore
from projections import MODELS


@dataclass
class Stack:
    url: str
    im_token: str


def _spawn(*args: str) -> subprocess.Popen[bytes]:
    """`hiscrm <args>` in a group of its own, dying with the bench however the bench ends."""
    return subprocess.Popen(
        lifeline_command([sys.executable, "-m", "hiscrm", *args]),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


@contextlib.asynccontextmanager
async def own_broker(data_dir: Path, name: str) -> AsyncIterator[tuple[HiscrmClient, str]]:
    """A broker for one stage alone, streams applied: (a connection as `name`, its URL). A stage whose
    fresh projector would otherwise replay every fact the suite's earlier stages appended runs on one."""
    broker = EmbeddedBroker(data_dir / "nats", free_port())
    await broker.start()
    try:
        nc = await connect([broker.url], name)
        try:
            await streams.apply(nc, REPO_ROOT / "streams")
            yield nc, broker.url
        finally:
            await nc.close()
    finally:
        await broker.stop()


@contextlib.asynccontextmanager
async def running(data_dir: Path, nats_url: str, api_port: int) -> AsyncIterator[Stack]:
    common = ("--data-dir", str(data_dir), "--nats-url", nats_url)
    token = Tokens.load_or_create(data_dir).add("im", name="bench").secret
    procs = [_spawn("projector", *common), _spawn("api", *common, "--api-port", str(api_port))]
    url = f"http://127.0.0.1:{api_port}"
    try:
        for _ in range(300):
            with contextlib.suppress(OSError):
                client = await KeepAlive.open(url, token)
                status, _ = await client.send(client.request("/api/im/version"))
                await client.close()
                if status == 200:
                    break
            await asyncio.sleep(0.1)
        else:
            raise RuntimeError("the benchmark's API did not start")
        yield Stack(url, token)
    finally:
        for proc in procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                await asyncio.to_thread(proc.wait, 15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


async def measure(nc: HiscrmClient, nats_url: str, data_dir: Path, api_port: int, quick: bool) -> dict[str, Any]:
    """api_page, freshness_ms and live_feed_ms, against one projector and one API started for them."""
    store = EventStore(nc)
    async with running(data_dir, nats_url, api_port) as stack:
        models = LiveModels(data_dir / "read-models", MODELS)
        try:
            await api_page.seed(store, models)
        finally:
            models.close()
        readers = {"freshness_ms": freshness.poll_unified, "live_feed_ms": live_feed.follow}
        return {
            "api_page": await api_page.measure(stack, quick),
            **await freshness.measure(store, stack, quick, readers),
        }
