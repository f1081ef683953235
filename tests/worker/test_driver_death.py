"""A worker whose Playwright driver dies alone (the OOM killer, a crash) starts Playwright and Chromium
again and goes on with its accounts, without calling it the accounts' trouble; one whose browser
cannot be started again stops, saying why, so the coordinator moves its accounts elsewhere.

The driver's death shows at the public API only as TargetClosedError on the next call: the browser
still answers `is_connected()` True and no "disconnected" event fires (playwright-dotnet #3280)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from hiscrm.facts.catalogue import (
    AccountBlocked,
    AccountCrawlFailed,
    AccountSessionExpired,
    AccountUnassigned,
    MessageObserved,
    ReplySent,
    SnapshotSynced,
    WorkerStopped,
)
from hiscrm.procs import alive, command_line
from hiscrm.worker.browser import BrowserGone, chromium_path
from hiscrm.worker.footprint import descendants
from tests.conftest import eventually
from tests.worker.conftest import KITCHEN, Cluster, all_facts, wait_for_facts

pytestmark = pytest.mark.skipif(not os.access(chromium_path(), os.X_OK), reason="no Chromium")


def drivers() -> list[int]:
    """Playwright drivers this test process runs (the in-process worker's)."""
    return [pid for pid in descendants(os.getpid()) if "run-driver" in command_line(pid, limit=10_000)]


async def synced_since(cluster: Cluster, seq: int) -> bool:
    return any(r.seq > seq and isinstance(r.fact, SnapshotSynced) for r in await all_facts(cluster.nc))


async def test_a_killed_driver_is_replaced_until_chromium_cannot_start_and_the_worker_stops(
    cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Chromium by a path the test can take away later.
    chromium = tmp_path / "chromium"
    chromium.symlink_to(chromium_path())
    monkeypatch.setenv("HISCRM_CHROMIUM", str(chromium))
    cluster.start_worker()
    await cluster.logged_in("kitchen", KITCHEN)
    await wait_for_facts(cluster.nc, SnapshotSynced, timeout=90)
    (driver,) = drivers()
    browsers = [pid for pid in descendants(driver) if pid != driver]

    os.kill(driver, signal.SIGKILL)
    killed_at = (await all_facts(cluster.nc))[-1].seq
    await eventually(lambda: synced_since(cluster, killed_at), "a pass after the driver's death", timeout=60)

    dm = next(m for m in await wait_for_facts(cluster.nc, MessageObserved) if m.direction == "inbound")
    await cluster.request_reply(1, "kitchen", target_type="direct_message", target_id=dm.message_id, content="还在")
    await wait_for_facts(cluster.nc, ReplySent)
    on_site = await cluster.sandbox.control("GET", f"/sent?uid={KITCHEN}")
    assert [s["text"] for s in on_site] == ["还在"]

    trouble = (AccountBlocked, AccountSessionExpired, AccountCrawlFailed)
    found = [r.fact for r in await all_facts(cluster.nc) if isinstance(r.fact, trouble)]
    assert not found, found
    (new_driver,) = drivers()
    assert new_driver != driver
    assert not [pid for pid in browsers if alive(pid)], "the dead driver's Chromium is left running"

    # The driver killed again, and Chromium gone from its path: the worker says so and leaves, rather
    # than hold its account with no browser; the coordinator takes the account back at once.
    chromium.unlink()
    os.kill(new_driver, signal.SIGKILL)
    stopped = (await wait_for_facts(cluster.nc, WorkerStopped, timeout=60))[0]
    assert stopped.worker_id == "w1" and str(chromium) in (stopped.reason or ""), stopped
    await wait_for_facts(cluster.nc, AccountUnassigned, where=lambda f: f.account_id == "kitchen")
    ((_, task),) = cluster.stops
    with pytest.raises(BrowserGone, match="no Chromium at"):
        await task
    cluster.stops.clear()
    assert not drivers(), "the worker left Playwright's driver running"
