"""dm_live_ms: a DM sent to an account on the sandbox → the message returned by the IM API.

The whole path as deployed: the sandbox site, a browser worker with the account logged in by QR
(coordinator in this process, Chromium), the projector and the API as processes. The account keeps
the default monitor interval (30 s), so a DM waiting for the next pass would take up to that; the
worker's chat page receives it over the site's push socket and appends it at once. Each DM is sent
after the previous one showed; the clock runs from just before the site stores it to the first API
answer that has it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from hiscrm.bench import stack
from hiscrm.bench.http_client import KeepAlive, percentile
from hiscrm.config import Settings
from hiscrm.coordinator.service import Coordinator
from hiscrm.facts import catalogue as c
from hiscrm.facts.base import Fact
from hiscrm.facts.codec import Recorded
from hiscrm.facts.subjects import aggregate_type_filter
from hiscrm.sandbox.app import create_app
from hiscrm.sandbox.seed import demo_world
from hiscrm.sandbox.server import bind, serve
from hiscrm.secrets.keystore import KeyStore
from hiscrm.secrets.sealing import load_master_key
from hiscrm.store import reader
from hiscrm.store.broker import free_port
from hiscrm.store.connection import HiscrmClient
from hiscrm.store.event_store import EventStore
from hiscrm.worker.service import WorkerOptions, run_worker

ACCOUNT = "bench-dm"
CREATOR = "2381749560317724160"  # the demo world's 林小满的厨房
POLL_S = 0.005
SETUP_TIMEOUT_S = 180.0
# An account created without one gets this interval: the poll the live path has to beat.
DEFAULT_INTERVAL_S = next(f.default for f in msgspec.structs.fields(c.AccountCreated) if f.name == "monitor_interval")


async def _fact(nc: HiscrmClient, aggregate: str, kind: type[Fact], where: Callable[[Any], bool]) -> Any:
    """The first fact of `kind` on the aggregate type matching `where`, waiting for it (setup only)."""
    deadline = time.monotonic() + SETUP_TIMEOUT_S
    while time.monotonic() < deadline:
        async for item in reader.read(nc, subject=aggregate_type_filter(aggregate)):
            if isinstance(item, Recorded) and isinstance(item.fact, kind) and where(item.fact):
                return item.fact
        await asyncio.sleep(0.25)
    raise RuntimeError(f"dm_live: no {kind.__name__} within {SETUP_TIMEOUT_S:.0f} s")


async def _until(ready: Callable[[], bool], what: str) -> None:
    for _ in range(int(SETUP_TIMEOUT_S / 0.1)):
        if ready():
            return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"dm_live: {what} did not happen within {SETUP_TIMEOUT_S:.0f} s")


async def measure(data_dir: Path, quick: bool) -> dict[str, Any]:
    """On a broker of its own: the suite's broker holds the other benchmarks' douyin accounts, which
    a worker taking one account would be given first."""
    async with stack.own_broker(data_dir, "hiscrm-bench-dm") as (nc, url):
        return await _run(nc, url, data_dir, quick)


async def _run(nc: HiscrmClient, nats_url: str, data_dir: Path, quick: bool) -> dict[str, Any]:
    world = demo_world()
    sock = bind("127.0.0.1", 0)
    site = f"http://127.0.0.1:{sock.getsockname()[1]}"
    stop = asyncio.Event()
    tasks = [asyncio.create_task(serve(create_app(world, traffic=False), sock, stop))]
    worker_dir = data_dir / "worker"
    master_key = load_master_key(worker_dir)
    store = EventStore(nc)
    tasks.append(asyncio.create_task(Coordinator(nc, master_key, coordinator_id="bench-dm").run(stop)))
    options = WorkerOptions(worker_id="bench-dm", platforms=("douyin",), max_accounts=1, base_urls={"douyin": site})
    tasks.append(asyncio.create_task(run_worker(Settings(data_dir=worker_dir, nats_urls=(nats_url,)), options, stop)))
    try:
        async with stack.running(data_dir / "api", nats_url, free_port()) as api:
            await KeyStore(nc, master_key).create(ACCOUNT)
            await store.append(c.AccountCreated(account_id=ACCOUNT, platform="douyin", account_name="DM bench"))
            await _fact(nc, "account", c.AccountAssigned, lambda f: f.account_id == ACCOUNT)
            expires = int(time.time() * 1000) + 300_000
            await store.append(c.LoginRequested(login_id=f"{ACCOUNT}-login", account_id=ACCOUNT, expires_at_ms=expires))
            await _fact(nc, "login", c.LoginQrcodeReady, lambda f: f.account_id == ACCOUNT)
            world.scan(None, CREATOR)
            await _fact(nc, "inbox", c.SnapshotSynced, lambda f: f.account_id == ACCOUNT)
            await _until(lambda: bool(world.message_listeners), "the worker's chat page opening its push socket")
            return await _measure(world, api, 5 if quick else 20)
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _measure(world: Any, api: stack.Stack, count: int) -> dict[str, Any]:
    """`count` DMs after one not counted: the socket seen open may still be the pass's own chat page,
    closing; once the first DM showed (live, or by the next pass), the worker's watch is running."""
    peers = list(world.conversations_of[CREATOR])
    client = await KeepAlive.open(api.url, api.im_token)
    samples: list[float] = []
    try:
        for n in range(-1, count):
            started = time.perf_counter()
            message = world.add_message(peers[n % len(peers)], CREATOR, f"第{n}条：请问还有货吗？")
            request = client.request(f"/api/im/messages/{message.msg_id}?account_id={ACCOUNT}")
            while (await client.send(request))[0] != 200:
                await asyncio.sleep(POLL_S)
                if time.perf_counter() - started > 2 * DEFAULT_INTERVAL_S + 30:
                    raise RuntimeError(f"dm_live: message {message.msg_id} never showed in the IM API")
            if n >= 0:
                samples.append((time.perf_counter() - started) * 1000)
    finally:
        await client.close()
    return {
        "messages": count,
        "monitor_interval_s": DEFAULT_INTERVAL_S,
        "p50": round(percentile(samples, 50), 1),
        "p99": round(percentile(samples, 99), 1),
    }
