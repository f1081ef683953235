"""One coordinator leads: the lease in-process, then real coordinator processes and a SIGKILL."""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import msgspec

from hiscrm.config import REPO_ROOT
from hiscrm.coordinator.lease import Lease, LeaseValue
from hiscrm.facts import catalogue as c
from hiscrm.facts.subjects import COORDINATOR_LEASE, PRESENCE_BUCKET
from hiscrm.lifeline import command_for as lifeline_command
from hiscrm.store import kv
from hiscrm.store.broker import EmbeddedBroker
from hiscrm.store.connection import connect
from hiscrm.store.event_store import EventStore
from tests.conftest import eventually
from tests.coordinator.conftest import StartWorker
from tests.coordinator.coordinator_helpers import all_facts, assert_never_assigned_twice, create_accounts


async def test_one_lease_holder_at_a_time_and_takeover_after_expiry(nc, broker: EmbeddedBroker) -> None:  # type: ignore[no-untyped-def]
    clients = [await connect([broker.url], f"lease-{i}") for i in range(2)]
    leases = [Lease(client, f"c{i}", ttl_s=2.0, renew_s=0.5) for i, client in enumerate(clients)]
    tasks = [asyncio.create_task(lease.run()) for lease in leases]
    both: list[float] = []

    async def sample() -> None:
        while True:
            if all(lease.leading for lease in leases):
                both.append(time.monotonic())
            await asyncio.sleep(0.01)

    sampler = asyncio.create_task(sample())
    try:
        await eventually(lambda: any(lease.leading for lease in leases))
        await asyncio.sleep(1.5)  # several renewals: the leader keeps it
        leader = next(i for i, lease in enumerate(leases) if lease.leading)
        standby = 1 - leader
        assert leases[standby].leader_seen == f"c{leader}"

        # The leader's process "dies": its connection goes, nothing is released.
        lost = time.monotonic()
        await clients[leader].close()
        await eventually(lambda: leases[standby].leading, timeout=5)
        assert time.monotonic() - lost < 2.0 + 1.0
        assert not leases[leader].leading

        # A clean stop hands over at once.
        tasks[standby].cancel()
        await asyncio.gather(tasks[standby], return_exceptions=True)
        value = await kv.latest(nc.jetstream(), PRESENCE_BUCKET, COORDINATOR_LEASE)
        assert value[1] is None
    finally:
        sampler.cancel()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, sampler, return_exceptions=True)
        for client in clients:
            await client.close()
    assert both == []


def coordinator_process(broker: EmbeddedBroker, tmp_path: Path, name: str, env: dict[str, str]) -> subprocess.Popen:  # type: ignore[type-arg]
    log = (tmp_path / f"{name}.log").open("wb")
    return subprocess.Popen(
        lifeline_command([sys.executable, "-m", "hiscrm", "coordinator", "--id", name]),
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, **env, "HISCRM_NATS_URL": broker.url, "HISCRM_DATA_DIR": str(tmp_path / name)},
        cwd=REPO_ROOT,
    )


async def test_killing_the_leader_process_hands_over_within_10_s(
    nc, store: EventStore, broker: EmbeddedBroker, start_worker: StartWorker, master_key: bytes, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    env = {"HISCRM_MASTER_KEY": base64.b64encode(master_key).decode()}
    processes = {name: coordinator_process(broker, tmp_path, name, env) for name in ("ca", "cb")}
    presence = await nc.jetstream().key_value(PRESENCE_BUCKET)
    holder: list[str | None] = [None]

    async def watch_lease() -> None:
        async def seen(entry: kv.Entry) -> None:
            holder[0] = None if kv.removed(entry) else msgspec.json.decode(entry.value, type=LeaseValue).holder

        await kv.follow(presence, COORDINATOR_LEASE, seen)

    watcher = asyncio.create_task(watch_lease())
    try:
        one = await start_worker("w1")
        two = await start_worker("w2")
        await create_accounts(store, [f"a{i}" for i in range(10)])
        await eventually(lambda: len(one.held) + len(two.held) == 10, timeout=30, what="first leader assigns")

        leader = holder[0]
        assert leader in processes
        standby = next(name for name in processes if name != leader)
        killed = time.monotonic()
        processes[leader].send_signal(signal.SIGKILL)
        processes[leader].wait(5)
        await eventually(lambda: holder[0] == standby, timeout=10, what=f"{standby} leads")
        took_over = time.monotonic() - killed
        assert took_over < 10

        # The new leader acts: new accounts are placed, a crashed worker's accounts move.
        await create_accounts(store, [f"b{i}" for i in range(4)])
        await two.crash()
        await eventually(lambda: len(one.held) == 14, timeout=20, what="everything on w1")
        history = await all_facts(nc)
        assert_never_assigned_twice(history)
        offline = [r.fact for r in history if isinstance(r.fact, c.WorkerWentOffline)]
        assert [f.worker_id for f in offline] == ["w2"]
    finally:
        watcher.cancel()
        for process in processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes.values():
            process.wait(10)
    logs = {name: (tmp_path / f"{name}.log").read_text() for name in processes}
    assert "holds the lease" in logs[standby], logs[standby]
    assert processes[standby].returncode == 0, logs[standby]
