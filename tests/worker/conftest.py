"""Fixtures for the worker tests: the sandbox site served for real, the projector, the coordinator, and
workers (in this process, or as `hiscrm worker` processes), driven only through facts, as the API
would. Nothing here is mocked: broker, coordinator, Chromium, LMDB and the site are all real."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from hiscrm.config import Settings
from hiscrm.coordinator.service import Coordinator
from hiscrm.facts.base import Fact
from hiscrm.facts.catalogue import (
    AccountAssigned,
    AccountCreated,
    LoginQrcodeReady,
    LoginRequested,
    LoginSucceeded,
    ReplyRequested,
)
from hiscrm.facts.codec import Recorded
from hiscrm.facts.subjects import ALL_EVENTS
from hiscrm.projector.live import LiveModels
from hiscrm.projector.model import Tx, key
from hiscrm.projector.runner import Projector
from hiscrm.sandbox.seed import demo_world
from hiscrm.sandbox.state import World
from hiscrm.secrets.keystore import KeyStore
from hiscrm.secrets.sealing import new_key
from hiscrm.store import reader
from hiscrm.store.broker import EmbeddedBroker
from hiscrm.store.connection import HiscrmClient
from hiscrm.store.event_store import EventStore
from hiscrm.worker.account_runner import Timing
from hiscrm.worker.service import WorkerOptions, run_worker
from projections import MODELS
from tests.sandbox.sandbox_helpers import serving

KITCHEN = "2381749560317724160"  # 林小满的厨房 in the demo world
RIDER = "1093857263140582913"  # 阿杰骑行日记
FAST = Timing(backoff_base_s=2.0, backoff_cap_s=8.0)


# --------------------------------------------------------------------------- the site


@dataclass
class Sandbox:
    base: str
    world: World
    http: httpx.AsyncClient

    async def control(self, method: str, path: str, body: Any = None) -> Any:
        if body is None and method != "GET":
            body = {}  # the control API takes only JSON
        response = await self.http.request(method, "/__sandbox" + path, json=body)
        assert response.status_code < 300, response.text
        return response.json()


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    world = demo_world()
    async with serving(world) as base, httpx.AsyncClient(base_url=base, timeout=10) as http:
        yield Sandbox(base, world, http)


# --------------------------------------------------------------------------- keys, read models, coordinator


@pytest.fixture
def master_key() -> bytes:
    return new_key()


@pytest.fixture
def master_env(master_key: bytes, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The master key for workers in this process and in child processes alike."""
    env = {"HISCRM_MASTER_KEY": base64.b64encode(master_key).decode()}
    monkeypatch.setenv("HISCRM_MASTER_KEY", env["HISCRM_MASTER_KEY"])
    return env


@pytest.fixture
def keys(nc: HiscrmClient, master_key: bytes) -> KeyStore:
    return KeyStore(nc, master_key)


@pytest.fixture
async def models(nc: HiscrmClient, tmp_path: Path) -> AsyncIterator[LiveModels]:
    """The real projector running over the stream; the read models as the API reads them."""
    root = tmp_path / "read-models"
    stop = asyncio.Event()
    task = asyncio.create_task(Projector(nc, root, MODELS).run(stop))
    live = LiveModels(root, MODELS)
    yield live
    stop.set()
    await asyncio.wait_for(task, 10)
    live.close()


@pytest.fixture
async def coordinator(nc: HiscrmClient, master_key: bytes) -> AsyncIterator[Coordinator]:
    coord = Coordinator(nc, master_key, coordinator_id="c1")
    stop = asyncio.Event()
    task = asyncio.create_task(coord.run(stop))
    yield coord
    stop.set()
    await asyncio.wait_for(task, 10)


# --------------------------------------------------------------------------- the system, driven by facts


@dataclass
class Cluster:
    """Coordinator plus workers; accounts, logins and replies requested with the facts the API appends."""

    nc: HiscrmClient
    store: EventStore
    keys: KeyStore
    sandbox: Sandbox
    broker_url: str
    data_dir: Path
    stops: list[tuple[asyncio.Event, asyncio.Task[None]]] = field(default_factory=list)

    def start_worker(self, worker_id: str = "w1", max_accounts: int = 10, timing: Timing = FAST) -> None:
        """`run_worker` as `hiscrm worker` runs it, in this process."""
        settings = Settings(data_dir=self.data_dir / worker_id, nats_urls=(self.broker_url,))
        options = WorkerOptions(
            worker_id=worker_id,
            platforms=("douyin",),
            max_accounts=max_accounts,
            base_urls={"douyin": self.sandbox.base},
            timing=timing,
        )
        stop = asyncio.Event()
        self.stops.append((stop, asyncio.create_task(run_worker(settings, options, stop))))

    async def create_account(self, account_id: str, interval: int = 1) -> None:
        await self.keys.create(account_id)
        created = AccountCreated(
            account_id=account_id, platform="douyin", account_name=f"测试 {account_id}", monitor_interval=interval
        )
        await self.store.append(created)

    async def request_login(self, account_id: str, login_id: str) -> None:
        # A login for an account no live worker holds fails at once (as it should): wait for its worker.
        await wait_for_facts(self.nc, AccountAssigned, where=lambda f: f.account_id == account_id)
        expires = int(time.time() * 1000) + 300_000
        await self.store.append(LoginRequested(login_id=login_id, account_id=account_id, expires_at_ms=expires))

    async def logged_in(self, account_id: str, uid: str, interval: int = 1) -> LoginSucceeded:
        """Created, logged in by a confirmed scan of the QR its worker showed."""
        await self.create_account(account_id, interval)
        login_id = f"login-{account_id}"
        await self.request_login(account_id, login_id)
        await wait_for_facts(self.nc, LoginQrcodeReady, where=lambda f: f.login_id == login_id)
        await self.sandbox.control("POST", "/qr/scan", {"uid": uid})
        return (await wait_for_facts(self.nc, LoginSucceeded, where=lambda f: f.login_id == login_id))[0]

    async def request_reply(self, n: int, account_id: str, **fields: Any) -> None:
        await self.store.append(ReplyRequested(reply_id=f"R{n}", request_id=f"Q{n}", account_id=account_id, **fields))

    async def stop(self) -> None:
        for stop, _ in self.stops:
            stop.set()
        await asyncio.wait_for(asyncio.gather(*(task for _, task in self.stops)), 30)


@pytest.fixture
async def cluster(  # type: ignore[no-untyped-def]
    broker: EmbeddedBroker, nc, store, keys, sandbox, coordinator, master_env, tmp_path
) -> AsyncIterator[Cluster]:
    system = Cluster(nc, store, keys, sandbox, broker.url, tmp_path)
    yield system
    await system.stop()


# --------------------------------------------------------------------------- facts and rows


async def all_facts(nc: HiscrmClient, subject: str = ALL_EVENTS) -> list[Recorded]:
    return [item async for item in reader.read(nc, subject=subject) if isinstance(item, Recorded)]


async def wait_for_facts(
    nc: HiscrmClient,
    kind: type[Fact],
    count: int = 1,
    *,
    where: Callable[[Any], bool] = lambda f: True,
    timeout: float = 60.0,
    subject: str = ALL_EVENTS,
) -> list[Any]:
    """Until at least `count` facts of `kind` matching `where` are in the stream; returns them all."""
    deadline = time.monotonic() + timeout
    while True:
        everything = await all_facts(nc, subject)
        found = [r.fact for r in everything if isinstance(r.fact, kind) and where(r.fact)]
        if len(found) >= count:
            return found
        if time.monotonic() > deadline:
            recent = [f"{r.seq} {r.type_name} {r.fact}"[:300] for r in everything[-12:]]
            raise AssertionError(
                f"{len(found)} of {count} {kind.__name__} facts after {timeout} s: {found[-3:]}; the stream ends with\n"
                + "\n".join(recent)
            )
        await asyncio.sleep(0.25)


def rows(tx: Tx, table: str, *prefix: str, type_: Any = Any) -> list[Any]:
    """Every row of a read-model table under key(*prefix, "")."""
    return [row for _, row in tx.scan(table, key(*prefix, ""), type_)]
