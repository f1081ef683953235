"""Fixtures for the coordinator tests: coordinators in this process, test workers (the real worker agent
with a handler that records what it is told), and helpers over the facts. Broker and buckets are real."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field

import pytest

from hiscrm.coordinator.service import Coordinator
from hiscrm.facts.messages import AccountConfig
from hiscrm.secrets.keystore import KeyStore
from hiscrm.secrets.sealing import new_key
from hiscrm.store.event_store import EventStore
from hiscrm.worker.agent import WorkerAgent
from hiscrm.worker.handler import Command
from tests.conftest import eventually

PRESENCE_TTL_S = 3.0  # production: 30 s; short here so a crash is noticed within the test's patience


@dataclass
class Recorder:
    """A worker's handler that only remembers: the configs it runs, every config it was handed, its commands."""

    configs: dict[str, AccountConfig] = field(default_factory=dict)
    history: list[AccountConfig] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    commands: list[Command] = field(default_factory=list)

    async def on_config(self, config: AccountConfig) -> None:
        self.configs[config.account_id] = config
        self.history.append(config)

    async def on_removed(self, account_id: str) -> None:
        self.configs.pop(account_id, None)
        self.removed.append(account_id)

    async def on_command(self, command: Command) -> None:
        self.commands.append(command)


@dataclass
class RunningWorker:
    agent: WorkerAgent
    handler: Recorder
    stop_event: asyncio.Event
    task: asyncio.Task[None]

    @property
    def held(self) -> set[str]:
        return set(self.handler.configs)

    async def stop(self) -> None:
        """A clean stop: worker.stopped, presence deleted."""
        self.stop_event.set()
        await asyncio.wait_for(self.task, 10)

    async def crash(self) -> None:
        """As if the process died: nothing more is said, presence is left to expire."""
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


StartWorker = Callable[..., Awaitable[RunningWorker]]


@pytest.fixture
async def start_worker(nc, store: EventStore) -> AsyncIterator[StartWorker]:  # type: ignore[no-untyped-def]
    started: list[RunningWorker] = []

    async def start(worker_id: str, platforms: Iterable[str] = ("douyin",), max_accounts: int = 50) -> RunningWorker:
        handler = Recorder()
        agent = WorkerAgent(
            nc,
            worker_id,
            platforms=list(platforms),
            max_accounts=max_accounts,
            handler=handler,
            store=store,
            presence_interval_s=PRESENCE_TTL_S / 3,
            presence_ttl_s=PRESENCE_TTL_S,
        )
        stop = asyncio.Event()
        worker = RunningWorker(agent, handler, stop, asyncio.create_task(agent.run(stop)))
        started.append(worker)
        await asyncio.wait_for(agent.ready.wait(), 10)
        return worker

    yield start
    for worker in started:
        await worker.crash()


@pytest.fixture
def master_key() -> bytes:
    return new_key()


@pytest.fixture
def keys(nc, master_key: bytes) -> KeyStore:  # type: ignore[no-untyped-def]
    return KeyStore(nc, master_key)


StartCoordinator = Callable[..., Awaitable[Coordinator]]


@pytest.fixture
async def start_coordinator(nc, master_key: bytes) -> AsyncIterator[StartCoordinator]:  # type: ignore[no-untyped-def]
    running: list[tuple[asyncio.Event, asyncio.Task[None]]] = []

    async def start(coordinator_id: str = "c1") -> Coordinator:
        coordinator = Coordinator(nc, master_key, coordinator_id=coordinator_id, lease_ttl_s=3.0, lease_renew_s=1.0)
        stop = asyncio.Event()
        running.append((stop, asyncio.create_task(coordinator.run(stop))))
        return coordinator

    yield start
    for stop, task in running:
        stop.set()
        await asyncio.wait_for(task, 10)


@pytest.fixture
async def coordinator(start_coordinator: StartCoordinator) -> Coordinator:
    leader = await start_coordinator()
    await eventually(lambda: leader.term_started_ms is not None, timeout=10)
    return leader
