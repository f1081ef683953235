"""The local worker supervisor on its own: SIGKILL after the grace period, log tails, stopping everything."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from hiscrm.api.local_workers import LocalWorkers, NotManaged, SpawnFailed, WorkerSpec, tail_lines
from tests.api.api_client import stand_in_command


def spec(worker_id: str) -> WorkerSpec:
    return WorkerSpec(worker_id=worker_id, platforms=["douyin"], max_accounts=3)


async def running(local: LocalWorkers, worker_id: str) -> None:
    """Until the stand-in has printed its first line: its signal handling is in place from then on."""
    deadline = time.monotonic() + 10
    while not any(line.startswith("stand-in worker") for line in await local.tail(worker_id, 100)):
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)


async def test_a_worker_that_ignores_sigterm_is_killed_after_the_grace_period(tmp_path: Path) -> None:
    local = LocalWorkers(tmp_path, stand_in_command("--ignore-term"), grace_s=0.5)
    started = await local.start(spec("stuck"))
    await running(local, "stuck")
    began = time.monotonic()
    stopped = await local.stop("stuck")
    assert 0.5 <= time.monotonic() - began < 5
    assert stopped.running is False and stopped.exit_code == -9
    with pytest.raises(ProcessLookupError):
        os.kill(started.pid or 0, 0)


async def test_close_stops_every_running_worker(tmp_path: Path) -> None:
    local = LocalWorkers(tmp_path, stand_in_command(), grace_s=5)
    for worker_id in ("a", "b"):
        await local.start(spec(worker_id))
        await running(local, worker_id)
    assert local.running_count() == 2
    await local.close()
    assert local.running_count() == 0
    assert all(s.exit_code == 0 for s in local.statuses().values())
    with pytest.raises(NotManaged):
        local.status("c")


async def test_a_worker_that_dies_by_itself_is_seen_as_stopped(tmp_path: Path) -> None:
    local = LocalWorkers(tmp_path, stand_in_command("--no-such-flag"))
    await local.start(spec("broken"))
    child = local._children["broken"]
    assert child.exited is not None and await child.exited == 2
    status = local.status("broken")
    assert status.running is False and status.exit_code == 2
    assert any("unrecognized arguments" in line for line in await local.tail("broken", 20))


async def test_a_command_that_cannot_run_is_a_clear_error_and_leaves_nothing_behind(tmp_path: Path) -> None:
    local = LocalWorkers(tmp_path, [str(tmp_path / "no-such-worker")])
    with pytest.raises(SpawnFailed, match="no-such-worker"):
        await local.start(spec("w1"))
    assert local.ids() == []


def test_tail_reads_the_end_of_a_long_log(tmp_path: Path) -> None:
    path = tmp_path / "w.log"
    path.write_text("".join(f"line {n}\n" for n in range(200_000)))
    assert tail_lines(path, 3) == ["line 199997", "line 199998", "line 199999"]
    assert tail_lines(path, 1) == ["line 199999"]
    assert tail_lines(tmp_path / "missing.log", 3) == []
    short = tmp_path / "short.log"
    short.write_text("only\n")
    assert tail_lines(short, 10) == ["only"]
