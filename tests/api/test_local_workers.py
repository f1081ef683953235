"""The local worker supervisor on its own: SIGKILL after the grace period, log tails, stopping everything."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from hiscrm.api.local_workers import LocalWorkers, NotManaged, SpawnFailed, WorkerSpec, tail_lines
from hiscrm.lifeline import command_for as lifeline_command
from hiscrm.procs import alive
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
    await local.close()


async def until(check: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "not within the timeout"
        await asyncio.sleep(0.02)


async def test_a_worker_that_dies_is_started_again_after_a_doubling_backoff_and_a_stop_keeps_it_stopped(
    tmp_path: Path,
) -> None:
    local = LocalWorkers(tmp_path, stand_in_command("--no-such-flag"))
    await local.start(spec("flaky"))
    waits = []
    for restarts in (0, 1):
        await until(
            lambda r=restarts: local.status("flaky").restart_at is not None and local.status("flaky").restarts == r
        )  # type: ignore[misc]
        status = local.status("flaky")
        assert status.running is False and status.exit_code == 2
        waits.append((status.restart_at or 0) - (status.exited_at or 0))
        await until(lambda r=restarts: local.status("flaky").restarts == r + 1)  # type: ignore[misc]
    # 1 s, then 2 s, each ±10 %; what the API and the console show as restarts and restart_at.
    assert 850 <= waits[0] <= 1500 and 1750 <= waits[1] <= 2800, waits
    assert local.status("flaky").starts == 3

    # Stopped on purpose while waiting out its backoff: the restart is called off and stays off.
    await until(lambda: local.status("flaky").restart_at is not None)
    stopped = await local.stop("flaky")
    assert stopped.restart_at is None and stopped.running is False
    starts = stopped.starts
    await asyncio.sleep(5)
    assert local.status("flaky").starts == starts and not local.status("flaky").running
    await local.close()


async def test_a_run_that_lasted_a_healthy_while_starts_the_backoff_over(tmp_path: Path) -> None:
    local = LocalWorkers(tmp_path, stand_in_command("--exit-after", "1"), healthy_s=0.5)
    await local.start(spec("steady"))
    for restarts in (0, 1, 2):
        await until(
            lambda r=restarts: local.status("steady").restart_at is not None and local.status("steady").restarts == r
        )  # type: ignore[misc]
        status = local.status("steady")
        assert status.exit_code == 3
        assert (status.restart_at or 0) - (status.exited_at or 0) <= 1500, "the backoff grew after healthy runs"
        await until(lambda r=restarts: local.status("steady").restarts == r + 1)  # type: ignore[misc]
    await local.close()
    assert not local.status("steady").running


async def test_a_worker_stopped_on_purpose_is_not_started_again(tmp_path: Path) -> None:
    local = LocalWorkers(tmp_path, stand_in_command(), grace_s=5)
    await local.start(spec("calm"))
    await running(local, "calm")
    stopped = await local.stop("calm")
    assert stopped.exit_code == 0 and stopped.restart_at is None
    await asyncio.sleep(2)
    assert local.status("calm").starts == 1 and local.status("calm").restarts == 0


def test_every_worker_dies_with_the_process_that_started_it(tmp_path: Path) -> None:
    """The supervisor's process killed outright (SIGKILL): its worker gets SIGTERM from the kernel and stops."""
    script = (
        "import asyncio, sys\n"
        "from pathlib import Path\n"
        "from hiscrm.api.local_workers import LocalWorkers, WorkerSpec\n"
        "async def main():\n"
        f"    local = LocalWorkers(Path({str(tmp_path)!r}), {stand_in_command()!r})\n"
        "    status = await local.start(WorkerSpec(worker_id='orphan', platforms=['douyin'], max_accounts=1))\n"
        "    print(status.pid, flush=True)\n"
        "    await asyncio.sleep(600)\n"
        "asyncio.run(main())\n"
    )
    parent = subprocess.Popen(lifeline_command([sys.executable, "-c", script]), stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        pid = int(parent.stdout.readline())
        deadline = time.monotonic() + 10
        while "tick" not in (tmp_path / "orphan.log").read_text():
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        parent.kill()
        parent.wait()
    try:
        deadline = time.monotonic() + 10
        while alive(pid):
            assert time.monotonic() < deadline, f"worker {pid} outlived the process that started it"
            time.sleep(0.05)
    finally:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)
    assert "stopping on SIGTERM" in (tmp_path / "orphan.log").read_text()


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
