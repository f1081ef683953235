"""A worker process killed while it holds three accounts: they move to the other worker, crawling goes
on there, and no item is observed more than twice in all."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path

import pytest

from hiscrm.config import REPO_ROOT
from hiscrm.facts.catalogue import AccountAssigned, SnapshotSynced, WorkerRegistered, WorkerWentOffline
from hiscrm.facts.subjects import aggregate_type_filter
from hiscrm.lifeline import command_for as lifeline_command
from hiscrm.store.connection import HiscrmClient
from hiscrm.worker import seen
from tests.worker.conftest import KITCHEN, RIDER, Cluster, Sandbox, all_facts, wait_for_facts

PRESENCE_TTL_S = 6
Spawn = Callable[[str], subprocess.Popen[bytes]]


@pytest.fixture
async def spawn(cluster: Cluster, master_env: dict[str, str], tmp_path: Path) -> AsyncIterator[Spawn]:
    """`hiscrm worker` processes, each in its own process group with its Chromium, killed at the end."""
    started: list[subprocess.Popen[bytes]] = []

    def start(worker_id: str) -> subprocess.Popen[bytes]:
        env = {
            **os.environ,
            **master_env,
            "HISCRM_WORKER_PRESENCE_TTL": str(PRESENCE_TTL_S),
            "HISCRM_WORKER_BACKOFF_BASE": "2",
        }
        args = ["--id", worker_id, "--nats-url", cluster.broker_url, "--data-dir", str(tmp_path / worker_id)]
        log = (tmp_path / f"{worker_id}.log").open("wb")
        started.append(
            subprocess.Popen(
                lifeline_command([sys.executable, "-m", "hiscrm", "worker", *args, "--base-url", cluster.sandbox.base]),
                cwd=REPO_ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
        return started[-1]

    yield start
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in started:
        try:
            await asyncio.to_thread(process.wait, 20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


async def passes_of_each(nc: HiscrmClient, worker_id: str, accounts: Iterable[str]) -> None:
    """Until the worker has closed a crawl pass of every one of the accounts; fails after the timeout."""
    for account_id in accounts:
        await wait_for_facts(
            nc,
            SnapshotSynced,
            where=lambda f, a=account_id: f.worker_id == worker_id and f.account_id == a,
            timeout=120,
        )


async def test_accounts_move_off_a_killed_worker_and_nothing_is_observed_three_times(  # type: ignore[no-untyped-def]
    nc, cluster: Cluster, sandbox: Sandbox, spawn: Spawn
) -> None:
    third = await sandbox.control(
        "POST", "/accounts", {"nickname": "小北的花园", "works": 4, "comments": 40, "conversations": 2, "seed": 7}
    )
    accounts = {"kitchen": KITCHEN, "rider": RIDER, "garden": third["uid"]}
    doomed = spawn("wa")
    await wait_for_facts(nc, WorkerRegistered, where=lambda f: f.worker_id == "wa")
    for account_id, uid in accounts.items():
        await cluster.logged_in(account_id, uid, interval=2)
    spawn("wb")
    await wait_for_facts(nc, WorkerRegistered, where=lambda f: f.worker_id == "wb")
    await passes_of_each(nc, "wa", accounts)

    # Something new for the survivor to find, then the first worker dies with its browser.
    work = next(w for w in sandbox.world.works.values() if w.owner_uid == KITCHEN and not w.private)
    await sandbox.control("POST", "/comments", {"aweme_id": work.aweme_id, "text": "换了台机器还能看到我吗？"})
    os.killpg(doomed.pid, signal.SIGKILL)
    await wait_for_facts(nc, WorkerWentOffline, where=lambda f: f.worker_id == "wa", timeout=60)
    moved = await wait_for_facts(nc, AccountAssigned, 3, where=lambda f: f.worker_id == "wb", timeout=60)
    assert {f.account_id for f in moved} == set(accounts)
    await passes_of_each(nc, "wb", accounts)  # crawling resumed on the second worker

    observed = Counter(
        (r.fact.account_id, seen.item_key(r.fact))  # type: ignore[attr-defined]
        for r in await all_facts(nc, aggregate_type_filter("inbox"))
        if r.type_name.endswith("_observed")
    )
    assert max(observed.values()) <= 2, observed.most_common(3)
    new_comment = [k for k in observed if k[0] == "kitchen" and k[1].startswith("comment:")]
    assert len(new_comment) == 121, "the comment added as the first worker died was observed"
