"""Real `hiscrm up` processes for the fault tests: started as an operator would (umask 022, no HISCRM_*
variables), watched through their output, and never left behind: `kill_everything` finds every
process of a data dir (the broker, the workers, their browsers) whether or not `up` still owns them,
and a test run killed before its teardown takes them along (`hiscrm_command`)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from hiscrm.lifeline import command_for as lifeline_command
from hiscrm.procs import alive, command_line
from tests.conftest import free_port

SETTLE_S = 150


def clean_env(**extra: str) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith("HISCRM_")}, **extra}


def hiscrm_command(*args: str) -> list[str]:
    """`hiscrm <args>` dying with this test process, however pytest ends (killed, timed out).
    Spawn it from the test's own thread: the lifeline follows the thread that forks."""
    return lifeline_command([sys.executable, "-m", "hiscrm", *args])


def hiscrm(*args: str, cwd: Path | None = None, timeout: float = 120, **env: str) -> subprocess.CompletedProcess[str]:
    """A one-shot `hiscrm` command; a hang is a failure (TimeoutExpired), not a stuck test run."""
    return subprocess.run(
        hiscrm_command(*args),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env=clean_env(**env),
    )


def processes_of(data: Path) -> list[int]:
    """Every live process working on `data`: whatever names it in its command line or its environment
    (the broker's config path, HISCRM_DATA_DIR of workers and their browsers), `up` itself excluded
    only when it is dead."""
    marker = str(data)
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        pid = int(entry.name)
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            continue
        if (marker in command_line(pid, limit=10_000) or f"HISCRM_DATA_DIR={marker}".encode() in environ) and alive(
            pid
        ):
            found.append(pid)
    return found


def kill_everything(data: Path) -> None:
    for pid in processes_of(data):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def wait_until(check: Callable[[], Any], what: str, timeout: float = SETTLE_S) -> Any:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except httpx.HTTPError as exc:
            last = exc
        if last and not isinstance(last, Exception):
            return last
        time.sleep(0.5)
    raise AssertionError(f"{what}: not within {timeout} s (last: {last!r})")


class Up:
    """One `hiscrm up` in its own session (so a SIGKILL of its group is what `kill -KILL -- -PID` does)."""

    def __init__(self, data: Path, *extra: str, ports: dict[str, int] | None = None, cwd: Path | None = None) -> None:
        self.data = data
        self.ports = ports or {"--api-port": free_port(), "--nats-port": free_port(), "--sandbox-port": free_port()}
        args = [a for flag, port in self.ports.items() for a in (flag, str(port))]
        data_args = [] if cwd is not None else ["--data-dir", str(data)]
        self.process = subprocess.Popen(
            hiscrm_command("up", *data_args, *args, *extra),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=cwd,
            env=clean_env(),
            start_new_session=True,
            umask=0o022,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.ports['--api-port']}"

    @property
    def nats_args(self) -> list[str]:
        """What a CLI command needs to reach this stack's broker as admin."""
        creds = self.data / "auth" / "creds" / "admin.json"
        return ["--data-dir", str(self.data), "--nats-port", str(self.ports["--nats-port"]), "--nats-creds", str(creds)]

    def wait_for(self, text: str, timeout: float = SETTLE_S) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output:
            if self.process.poll() is not None:
                self._reader.join(5)
                if text in self.output:
                    return
                code = self.process.returncode
                raise AssertionError(f"up exited with {code} before {text!r}:\n{self.output[-3000:]}")
            assert time.monotonic() < deadline, f"no {text!r} within {timeout} s:\n{self.output[-3000:]}"
            time.sleep(0.2)

    def client(self) -> httpx.Client:
        token = (self.data / "admin.token").read_text().strip()
        return httpx.Client(base_url=self.api, headers={"Authorization": f"Bearer {token}"}, timeout=10)

    def interrupt(self, timeout: float = 60) -> int:
        self.process.send_signal(signal.SIGINT)
        code = self.process.wait(timeout)
        self._reader.join(5)
        return code

    def kill_group(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self._reader.join(5)

    def finish(self) -> None:
        """Teardown: nothing of this stack survives the test, whatever state it is in."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        kill_everything(self.data)
