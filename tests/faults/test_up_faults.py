"""Faults an operator meets with `hiscrm up` (issue 13): a crash of `up` and a start on top of what it
left, ports already taken, a broker that is not there. Every test runs real `hiscrm up` processes and
kills whatever is left of them in teardown."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from hiscrm.procs import alive, command_line
from tests.conftest import free_port
from tests.faults.up_process import Up, hiscrm, kill_everything, processes_of, wait_until

PORT_FLAGS = ("--api-port", "--nats-port", "--sandbox-port")


@pytest.fixture
def data(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "var"
    yield path
    kill_everything(path)


def held_port() -> tuple[socket.socket, int]:
    """A port this test process listens on, as another program would hold it."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock, sock.getsockname()[1]


@pytest.mark.parametrize(
    ("part", "flag"), [("API", "--api-port"), ("broker", "--nats-port"), ("sandbox", "--sandbox-port")]
)
def test_a_busy_port_stops_up_before_anything_runs_and_names_who_holds_it(data: Path, part: str, flag: str) -> None:
    sock, port = held_port()
    with sock:
        ports = {f: free_port() for f in PORT_FLAGS} | {flag: port}
        extra = [] if part == "sandbox" else ["--no-demo"]
        up = Up(data, "--no-worker", *extra, ports=ports)
        try:
            code = up.process.wait(timeout=90)
        except subprocess.TimeoutExpired:
            up.finish()
            raise AssertionError(f"up runs on with its {part} port taken:\n{up.output[-3000:]}") from None
        finally:
            up.finish()
    assert code == 2, up.output[-3000:]
    assert f"{part} port 127.0.0.1:{port} is in use by pid {os.getpid()}" in up.output, up.output[-3000:]
    assert f"choose another with {flag}" in up.output
    assert "Traceback" not in up.output, up.output[-3000:]
    assert not processes_of(data), "something of the failed start still runs"


@pytest.mark.parametrize(
    "command", [("events", "replay"), ("events", "tail"), ("streams", "status"), ("projections", "status")]
)
def test_a_command_facing_no_broker_says_so_in_one_line_and_exits_2(tmp_path: Path, command: tuple[str, ...]) -> None:
    port = free_port()
    done = hiscrm(*command, "--data-dir", str(tmp_path), "--nats-port", str(port), "--connect-timeout", "1", timeout=60)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hiscrm: error: "), done.stderr
    assert f"nats://127.0.0.1:{port}" in lines[0] and "within 1 s" in lines[0]


def test_by_default_a_command_gives_up_on_a_missing_broker_within_seconds(tmp_path: Path) -> None:
    """Without any timeout named (nats-py alone would retry the first connect forever)."""
    port = free_port()
    done = hiscrm("events", "replay", "--data-dir", str(tmp_path), "--nats-port", str(port), timeout=60)
    assert done.returncode == 2 and f"nats://127.0.0.1:{port} within 5 s" in done.stderr, done.stderr


def test_the_connect_timeout_comes_from_the_environment_too(tmp_path: Path) -> None:
    url = f"nats://127.0.0.1:{free_port()}"
    done = hiscrm("streams", "status", "--nats-url", url, timeout=60, HISCRM_CONNECT_TIMEOUT="0.5")
    assert done.returncode == 2 and url in done.stderr and "within 0.5 s" in done.stderr, done.stderr
    bad = hiscrm("streams", "status", "--nats-url", url, "--connect-timeout", "0", timeout=60)
    assert bad.returncode == 2 and "--connect-timeout" in bad.stderr and "Traceback" not in bad.stderr


def worker_processes(data: Path, worker_id: str) -> list[int]:
    """`hiscrm worker --id W` processes on `data` (not their browsers, which carry the same environment)."""
    return [
        pid
        for pid in processes_of(data)
        if " -m hiscrm worker " in command_line(pid, limit=10_000) + " "
        and f"--id {worker_id} " in command_line(pid, limit=10_000) + " "
    ]


def private_everywhere(root: Path) -> list[str]:
    """Paths under `root` (itself included) that anyone but their owner may read, write or enter."""
    loose = []
    for path in [root, *root.rglob("*")]:
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode):
            continue  # a symlink's own mode means nothing; its target is checked where it lives
        if stat.S_IMODE(info.st_mode) & 0o077:
            loose.append(f"{oct(stat.S_IMODE(info.st_mode))} {path}")
    return loose


def observed_msg_ids(up: Up) -> list[str]:
    done = hiscrm("events", "replay", "--subject", "hiscrm.evt.inbox.>", *up.nats_args)
    assert done.returncode == 0, done.stderr
    facts = [json.loads(line) for line in done.stdout.splitlines()]
    return [f["msg_id"] for f in facts if f["event"].endswith("_observed")]


def test_a_killed_up_leaves_nothing_running_and_a_restart_runs_alone(data: Path, tmp_path: Path) -> None:
    """kill -KILL -- -<up pid>: the broker, the worker and its browser go too; `up` again on the same data
    dir runs one broker and one worker, adds no duplicate items, and the read models verify. On the
    way: a second `up` and a second worker on the same data dir refuse, and every file is private."""
    first = Up(data)
    try:
        first.wait_for("Ctrl-C stops everything")
        token = (data / "admin.token").read_text().strip()
        assert token in first.output, "the admin token is shown at the first start"
        api = first.client()

        def crawled() -> bool:
            status = api.get("/api/v1/accounts/status/all").json()["data"]
            return any(row["runtime"]["passes"] > 0 and row["runtime"]["seen"] for row in status)

        wait_until(crawled, "a crawl pass of the demo account")

        again = hiscrm("up", "--data-dir", str(data), *(str(a) for p in first.ports.items() for a in p), timeout=60)
        assert again.returncode == 2 and f"kill -INT {first.process.pid}" in again.stderr, again.stderr
        twin = hiscrm(
            "worker", "--id", "local-1", "--data-dir", str(data), "--nats-port", str(first.ports["--nats-port"])
        )
        assert twin.returncode == 2 and "worker local-1 already runs" in twin.stderr, twin.stderr
        assert len(worker_processes(data, "local-1")) == 1

        before = processes_of(data)
        assert len(before) >= 3, "up, the broker, the worker (and its browser) run"
        first.kill_group()
        wait_until(lambda: not processes_of(data), "every process of the killed up is gone", timeout=30)
        leftovers = [f"{pid} {command_line(pid)}" for pid in before if alive(pid)]
        assert not leftovers, leftovers
    finally:
        first.finish()

    second = Up(data, ports=first.ports)
    try:
        second.wait_for("Ctrl-C stops everything")
        assert token not in second.output, "the admin token is shown once, at the first start only"
        api = second.client()

        def passes() -> int:
            status = api.get("/api/v1/accounts/status/all").json()["data"]
            return sum(row["runtime"]["passes"] for row in status)

        wait_until(lambda: passes() >= 2, "the restarted worker crawls the demo account again")
        assert len(worker_processes(data, "local-1")) == 1
        workers = api.get("/api/v1/workers").json()["data"]
        local = [w for w in workers if w["local"] is not None]
        assert [w["id"] for w in local] == ["local-1"] and local[0]["local"]["running"]

        ids = observed_msg_ids(second)
        assert ids and len(ids) == len(set(ids)), "an item observed before the crash was appended again"
        verified = hiscrm("projections", "verify", *second.nats_args)
        assert verified.returncode == 0, verified.stdout + verified.stderr
        backup = tmp_path / "backup"
        saved = hiscrm("backup", str(backup), *second.nats_args)
        assert saved.returncode == 0, saved.stderr

        assert second.interrupt() == 0, second.output[-3000:]
        assert "Traceback" not in second.output and second.output.rstrip().endswith("stopped")
        assert not processes_of(data)
    finally:
        second.finish()

    # Everything up wrote, under umask 022: the data dir 0700 and no file or directory open to others.
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert not private_everywhere(data), private_everywhere(data)
    assert not private_everywhere(backup), private_everywhere(backup)
    for name in ("admin.token", "tokens.json", "master.key", "sandbox.json", "workers/local-1.log"):
        assert stat.S_IMODE((data / name).stat().st_mode) == 0o600, name
    models = (data / "read-models" / "CURRENT").resolve()
    assert {stat.S_IMODE(p.stat().st_mode) for p in models.glob("*.mdb")} == {0o600}


def test_an_orphaned_broker_from_an_earlier_run_is_stopped_before_up_starts_its_own(data: Path) -> None:
    """What a crash of an `up` without a lifeline left: a broker on the data dir and its pid file. Then
    that up's own broker killed under it: up stops, naming it, rather than serve on without a broker."""
    first = Up(data, "--no-demo", "--no-worker")
    try:
        first.wait_for("Ctrl-C stops everything")
        assert first.interrupt() == 0
    finally:
        first.finish()
    # The same broker again, outside any up, as an earlier version's crash would have left it.
    orphan = subprocess.Popen(
        [str(Path(sys.executable).parent / "nats-server"), "-c", str(data / "nats" / "nats-server.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_until(lambda: (data / "nats" / "nats-server.pid").exists(), "the orphan writes its pid file", 30)
        second = Up(data, "--no-demo", "--no-worker", ports=first.ports)
        try:
            second.wait_for("Ctrl-C stops everything")
            assert f"stopped nats-server pid {orphan.pid} left running by an earlier run" in second.output
            assert orphan.wait(10) is not None
            (broker,) = [pid for pid in processes_of(data) if "nats-server" in command_line(pid)]
            os.kill(broker, signal.SIGKILL)
            assert second.process.wait(60) == 2, second.output[-3000:]
            assert f"nats-server (pid {broker}) was killed by SIGKILL" in second.output, second.output[-3000:]
            assert "Traceback" not in second.output, second.output[-3000:]
            wait_until(lambda: not processes_of(data), "every process of the stopped up is gone", timeout=30)
        finally:
            second.finish()
    finally:
        if orphan.poll() is None:
            orphan.kill()
        orphan.wait()
