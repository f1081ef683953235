"""The soak run's child processes: `hiscrm <command>` each in its own process group, logs in the run dir.

A process group per child, because a worker is a tree (Python, Playwright's driver, a dozen Chromium
processes): a kill must take the whole tree, and nothing may outlive the run. Playwright starts
Chromium in a process group of its own, so the groups of every descendant are signalled too. A run
that dies without stopping them (killed, out of memory) takes them along: each is started through
the lifeline (hiscrm/lifeline.py), from the event loop's thread, and Playwright's driver closes
Chromium when its worker's pipe closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

from hiscrm.config import REPO_ROOT
from hiscrm.lifeline import command_for as lifeline_command
from hiscrm.worker.footprint import descendants


class Children:
    def __init__(self, log_dir: Path, env: dict[str, str]) -> None:
        self.log_dir = log_dir
        self.env = env
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def spawn(self, name: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        with (self.log_dir / f"{name}.log").open("ab") as log:
            proc = subprocess.Popen(
                lifeline_command([sys.executable, "-m", "hiscrm", *args]),
                cwd=REPO_ROOT,
                env={**os.environ, **self.env, **(env or {})},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.procs[name] = proc
        return proc

    def pid(self, name: str) -> int:
        return self.procs[name].pid

    def alive(self, name: str) -> bool:
        return self.procs[name].poll() is None

    def exited(self) -> dict[str, int]:
        """Children that ended without being asked to, with their exit codes."""
        return {name: code for name, proc in self.procs.items() if (code := proc.poll()) is not None}

    def groups(self, name: str) -> set[int]:
        """The process groups of the child's tree; read before signalling, while the tree still hangs together."""
        found = set()
        for pid in descendants(self.procs[name].pid):
            with contextlib.suppress(ProcessLookupError):
                found.add(os.getpgid(pid))
        return found

    @staticmethod
    def signal_groups(groups: set[int], sig: signal.Signals) -> None:
        for group in groups:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, sig)

    async def kill(self, name: str) -> None:
        """SIGKILL the child's whole tree: no goodbye, as if its machine died."""
        proc = self.procs[name]
        self.signal_groups(self.groups(name) | {proc.pid}, signal.SIGKILL)
        await asyncio.to_thread(proc.wait)

    async def stop(self, name: str, timeout: float = 20.0) -> int:
        """SIGTERM (the commands stop in order on it), then SIGKILL the group if it takes too long."""
        proc = self.procs[name]
        groups = self.groups(name) | {proc.pid}
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                await asyncio.to_thread(proc.wait, timeout)
            except subprocess.TimeoutExpired:
                await self.kill(name)
        # Whatever a child left behind (a browser its worker did not close) goes with it.
        self.signal_groups(groups, signal.SIGKILL)
        return proc.returncode

    async def stop_all(self) -> None:
        await asyncio.gather(*(self.stop(name) for name in list(self.procs)))

    def log_tail(self, name: str, lines: int = 15) -> str:
        try:
            return "\n".join((self.log_dir / f"{name}.log").read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"
