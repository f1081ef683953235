"""Nothing HisCRM starts outlives what started it, whatever kills what.

Each test runs a parent in a process of its own, finds every process of it in /proc while they hang
together (its descendants, and whatever carries its environment: Chromium's crash handler is a
daemon reparented to init at once), SIGKILLs exactly one of them (no goodbye: the OOM killer, a CI
timeout, `kill -9`) and waits for the rest to be gone. What `up` and `hiscrm api --workers` start is
pinned the same way in tests/faults/test_up_faults.py, tests/api/test_api_processes.py and
tests/api/test_local_workers.py."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hiscrm.lifeline import command_for as lifeline_command
from hiscrm.procs import alive, command_line
from hiscrm.worker.browser import chromium_path
from hiscrm.worker.footprint import descendants
from tests.conftest import free_port
from tests.faults.up_process import clean_env, hiscrm_command, processes_of

GONE_S = 20

# A broker as every caller starts one (the tests' fixtures, LoopbackCluster's nodes, the bench's
# stages) and a soak child (hiscrm/bench/soak_procs.py), each left running when the parent dies.
SPAWNER = """
import asyncio, sys
from pathlib import Path
from hiscrm.bench.soak_procs import Children
from hiscrm.store.broker import EmbeddedBroker, free_port

async def main(root: Path) -> None:
    await EmbeddedBroker(root, free_port()).start()
    port = free_port()
    Children(root, {}).spawn("sandbox", "sandbox", "--port", str(port), "--seed", "empty")
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            break
        except OSError:
            await asyncio.sleep(0.1)
    print("ready", flush=True)
    await asyncio.sleep(600)

asyncio.run(main(Path(sys.argv[1])))
"""

# A worker's browser as hiscrm/worker/browser.py launches it, with a page open.
BROWSER = """
import asyncio
from hiscrm.worker.browser import Chromium

async def main() -> None:
    context = await Chromium().new_context("orphans", None, None)
    await (await context.new_page()).goto("about:blank")
    print("ready", flush=True)
    await asyncio.sleep(600)

asyncio.run(main())
"""


@contextlib.contextmanager
def parent(script: str, mark: Path) -> Iterator[tuple[subprocess.Popen[str], list[int]]]:
    """The script in a process of its own, once it printed `ready`, and every process of it; `mark`
    goes into their environment (HISCRM_DATA_DIR, as up_process.processes_of finds). Whatever of
    them is left is killed afterwards."""
    command = lifeline_command([sys.executable, "-c", script, str(mark)])
    env = clean_env(HISCRM_DATA_DIR=str(mark))
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env, start_new_session=True)
    tree: list[int] = []
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready", f"the parent did not start (exit {proc.wait()})"
        tree = sorted({*descendants(proc.pid), *processes_of(mark)})
        yield proc, tree
    finally:
        for pid in {*tree, *processes_of(mark)}:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        proc.wait()


def survivors(pids: list[int], timeout: float = GONE_S) -> list[str]:
    """Which of `pids` still run after `timeout` s, with their command lines."""
    deadline = time.monotonic() + timeout
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    return [f"{pid} {command_line(pid)}" for pid in pids if alive(pid)]


def named(pids: list[int], part: str) -> list[int]:
    return [pid for pid in pids if part in command_line(pid, limit=10_000)]


def test_a_broker_and_a_soak_child_die_with_the_process_that_started_them(tmp_path: Path) -> None:
    """What the lead found: a test's broker left on its port when pytest was killed."""
    with parent(SPAWNER, tmp_path) as (proc, tree):
        assert named(tree, "nats-server") and named(tree, "hiscrm sandbox"), [command_line(p) for p in tree]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert not survivors(tree), survivors(tree, 0)


@pytest.mark.skipif(not os.access(chromium_path(), os.X_OK), reason="no Chromium")
@pytest.mark.parametrize("victim", ["worker", "driver"])
def test_a_worker_s_browser_dies_with_the_worker_or_its_driver(victim: str, tmp_path: Path) -> None:
    """Playwright's driver closes the browsers it launched once its stdin closes (the worker gone) and
    Chromium exits once its pipe to the driver closes, so a SIGKILL of either leaves no Chromium."""
    with parent(BROWSER, tmp_path) as (proc, tree):
        driver = named(tree, "run-driver")
        browsers = named(tree, "chromium")
        assert len(driver) == 1 and len(browsers) > 1, [command_line(p) for p in tree]
        killed = proc.pid if victim == "worker" else driver[0]
        os.kill(killed, signal.SIGKILL)
        rest = [pid for pid in tree if pid != proc.pid]
        assert not survivors(rest), survivors(rest, 0)
        assert (proc.poll() is None) == (victim == "driver"), "only the process killed is gone by it"


def test_hiscrm_nats_goes_with_its_broker_and_its_broker_with_it(tmp_path: Path) -> None:
    """A broker killed under `hiscrm nats` ends it with the reason, not a command serving nothing; the
    command killed takes its broker along."""
    for victim in ("broker", "command"):
        data = tmp_path / victim
        nats = subprocess.Popen(
            hiscrm_command("nats", "--data-dir", str(data), "--nats-port", str(free_port())),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=clean_env(),
        )
        try:
            assert nats.stdout is not None and "nats-server with JetStream at" in nats.stdout.readline()
            (broker,) = named(descendants(nats.pid), "nats-server")
            if victim == "broker":
                os.kill(broker, signal.SIGKILL)
                _, err = nats.communicate(timeout=30)
                assert nats.returncode == 2, err
                assert f"nats-server (pid {broker}) was killed by SIGKILL" in err and "Traceback" not in err, err
                assert not (data / "nats" / "nats-server.pid").exists(), "the dead broker's pid file is left"
            else:
                os.kill(nats.pid, signal.SIGKILL)
                nats.wait()
                assert not survivors([broker]), survivors([broker], 0)
        finally:
            if nats.poll() is None:
                nats.kill()
            nats.communicate()
