"""config_propagation_ms: from the append of `login.succeeded` to the worker's config watcher holding it.

A coordinator and a worker agent run in this process against the suite's broker, as `hiscrm up`
runs them. Accounts are created and assigned first; then each login goes as in production: the
login is requested, the worker receives its `login_start`, and the clock starts as the success is
appended and stops when the worker's watcher hands over a config with the new sealed credentials.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
import uuid

from hiscrm.coordinator.service import Coordinator
from hiscrm.facts import catalogue as c
from hiscrm.facts.messages import AccountConfig
from hiscrm.secrets.sealing import new_key, seal
from hiscrm.store.connection import HiscrmClient
from hiscrm.store.event_store import EventStore
from hiscrm.worker.agent import WorkerAgent
from hiscrm.worker.handler import Command

PLATFORM = "bench"  # a platform of its own, so the accounts of the other benchmarks stay out of it


class _Watcher:
    """The worker's handler: resolves whoever waits for an account's config with given credentials."""

    def __init__(self) -> None:
        self.held: dict[str, AccountConfig] = {}
        self.expected: dict[tuple[str, str | None], asyncio.Future[None]] = {}
        self.commands: asyncio.Queue[Command] = asyncio.Queue()

    def expect(self, account_id: str, sealed: str | None) -> asyncio.Future[None]:
        future = self.expected[(account_id, sealed)] = asyncio.get_running_loop().create_future()
        held = self.held.get(account_id)
        if held is not None and held.sealed_credentials == sealed:
            future.set_result(None)
        return future

    async def on_config(self, config: AccountConfig) -> None:
        self.held[config.account_id] = config
        future = self.expected.pop((config.account_id, config.sealed_credentials), None)
        if future is not None and not future.done():
            future.set_result(None)

    async def on_removed(self, account_id: str) -> None:
        self.held.pop(account_id, None)

    async def on_command(self, command: Command) -> None:
        self.commands.put_nowait(command)


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


async def measure(nc: HiscrmClient, logins: int = 200, accounts: int = 50) -> dict[str, float]:
    run = uuid.uuid4().hex[:8]
    store = EventStore(nc)
    watcher = _Watcher()
    stop = asyncio.Event()
    coordinator = Coordinator(nc, new_key(), coordinator_id=f"bench-{run}")
    agent = WorkerAgent(nc, f"bench-{run}", platforms=[PLATFORM], max_accounts=accounts, handler=watcher)
    tasks = [asyncio.create_task(coordinator.run(stop)), asyncio.create_task(agent.run(stop))]
    try:
        ids = [f"bench-{run}-{n}" for n in range(accounts)]
        placed = [watcher.expect(a, None) for a in ids]
        await store.append_many(c.AccountCreated(account_id=a, platform=PLATFORM, account_name=a) for a in ids)
        await asyncio.wait_for(asyncio.gather(*placed), 60)
        key = new_key()
        samples: list[float] = []
        for n in range(logins):
            account_id, login_id = ids[n % accounts], f"bench-{run}-login-{n}"
            expires = int(time.time() * 1000) + 300_000
            await store.append(c.LoginRequested(login_id=login_id, account_id=account_id, expires_at_ms=expires))
            await asyncio.wait_for(watcher.commands.get(), 10)
            sealed = seal(key, f"sessionid={run}{n}".encode(), f"credentials:{account_id}")
            arrived = watcher.expect(account_id, sealed)
            success = c.LoginSucceeded(
                login_id=login_id, account_id=account_id, profile=c.Profile(uid=f"{n}"), sealed_credentials=sealed
            )
            start = time.perf_counter()
            await store.append(success)
            await asyncio.wait_for(arrived, 10)
            samples.append((time.perf_counter() - start) * 1000)
    finally:
        stop.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.gather(*tasks), 15)
    return {"logins": logins, "p50": round(percentile(samples, 50), 2), "p99": round(percentile(samples, 99), 2)}
