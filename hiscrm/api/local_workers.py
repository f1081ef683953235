"""Browser workers running as child processes of this API (`hiscrm up`, or started through /api/v1).

Each runs `<command> --id W --platforms P --max-accounts N`, writes to `<data-dir>/workers/<id>.log`
and is stopped with SIGTERM, then SIGKILL to its whole process group after a grace period. It
runs in its own session so that a Ctrl-C in the terminal reaches `hiscrm up` first, which then
stops the workers in order instead of all of them dying at once; and it dies with this process
however that ends (hiscrm/lifeline.py), so no worker outlives the API that started it.

A worker that exits when nobody asked it to is started again after a backoff: 1 s, doubling to
60 s (±10 %), back to 1 s once a run has lasted a healthy minute. A worker stopped on purpose stays stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import msgspec

from hiscrm.config import Settings, env
from hiscrm.errors import HiscrmError
from hiscrm.lifeline import command_for as lifeline_command
from hiscrm.private import open_private
from hiscrm.worker.pacing import Backoff

DEFAULT_COMMAND = (sys.executable, "-m", "hiscrm", "worker")
BACKOFF_FIRST_S = 1.0
BACKOFF_CAP_S = 60.0
HEALTHY_S = 60.0

log = logging.getLogger(__name__)


class NotManaged(HiscrmError):
    """No local worker has this id."""


class AlreadyRunning(HiscrmError):
    pass


class NotRunning(HiscrmError):
    pass


class SpawnFailed(HiscrmError):
    """The worker command could not be run at all (missing, not executable)."""


class WorkerSpec(msgspec.Struct, kw_only=True):
    worker_id: str
    platforms: list[str]
    max_accounts: int


class ProcessStatus(msgspec.Struct, kw_only=True):
    """A local worker process as the supervisor sees it; times are Unix milliseconds."""

    worker_id: str
    running: bool
    pid: int | None
    platforms: list[str]
    max_accounts: int
    started_at: int | None
    exited_at: int | None
    exit_code: int | None
    starts: int
    # Starts after an exit nobody asked for, and when the next one is due while it waits out its backoff.
    restarts: int
    restart_at: int | None
    log_path: str
    command: list[str]


class _Child:
    def __init__(self, spec: WorkerSpec) -> None:
        self.spec = spec
        self.proc: asyncio.subprocess.Process | None = None
        self.exited: asyncio.Task[int] | None = None
        self.started_at: int | None = None
        self.exited_at: int | None = None
        self.exit_code: int | None = None
        self.starts = 0
        self.command: list[str] = []
        # start, stop and restart of one worker must not interleave.
        self.lock = asyncio.Lock()
        # Whether it should be running: set by start and restart, cleared by stop; an exit while set is a crash.
        self.wanted = False
        self.terminating: asyncio.subprocess.Process | None = None
        self.restarts = 0
        self.backoff = Backoff(BACKOFF_FIRST_S, BACKOFF_CAP_S)
        self.restart_at: int | None = None
        self.pending: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    def cancel_pending(self) -> None:
        if self.pending is not None:
            self.pending.cancel()
        self.pending, self.restart_at = None, None


def _now_ms() -> int:
    return int(time.time() * 1000)


def _append_line(path: Path, line: str) -> None:
    fd = open_private(path)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


def tail_lines(path: Path, lines: int, block: int = 64 * 1024) -> list[str]:
    """The last `lines` lines of `path`, reading backwards from the end so a long log costs little."""
    try:
        f = path.open("rb")
    except FileNotFoundError:
        return []
    with f:
        end = f.seek(0, os.SEEK_END)
        data = b""
        pos = end
        while pos > 0 and data.count(b"\n") <= lines:
            step = min(block, pos)
            pos -= step
            f.seek(pos)
            data = f.read(step) + data
    return [line.decode("utf-8", "replace") for line in data.splitlines()[-lines:]]


class LocalWorkers:
    def __init__(
        self,
        log_dir: Path,
        command: Sequence[str] = DEFAULT_COMMAND,
        environment: Mapping[str, str] | None = None,
        grace_s: float = 10.0,
        healthy_s: float = HEALTHY_S,
    ) -> None:
        self.log_dir = log_dir
        self.command = list(command)
        self.environment = dict(environment or {})
        self.grace_s = grace_s
        # A run this long before a crash counts as healthy: the next restart waits the first backoff again.
        self.healthy_s = healthy_s
        # Environment a worker needs of its own (its NATS credentials under `hiscrm up`), by worker id.
        self.prepare: Callable[[str], Mapping[str, str]] | None = None
        # Descriptors every worker inherits: `up`'s data-dir lock, held until its last child is gone.
        self.pass_fds: tuple[int, ...] = ()
        self._children: dict[str, _Child] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> LocalWorkers:
        """Workers reach the same broker and data dir as this process; HISCRM_WORKER_COMMAND may wrap them."""
        configured = env("WORKER_COMMAND")
        return cls(
            settings.data_dir / "workers",
            shlex.split(configured) if configured else DEFAULT_COMMAND,
            {"HISCRM_DATA_DIR": str(settings.data_dir), "HISCRM_NATS_URL": ",".join(settings.servers)},
        )

    def log_path(self, worker_id: str) -> Path:
        return self.log_dir / f"{worker_id}.log"

    def ids(self) -> list[str]:
        return sorted(self._children)

    def running_count(self) -> int:
        return sum(child.running for child in self._children.values())

    def _child(self, worker_id: str) -> _Child:
        child = self._children.get(worker_id)
        if child is None:
            raise NotManaged(f"worker {worker_id!r} is not a local worker of this API")
        return child

    def status(self, worker_id: str) -> ProcessStatus:
        child = self._child(worker_id)
        return ProcessStatus(
            worker_id=worker_id,
            running=child.running,
            pid=child.proc.pid if child.running and child.proc else None,
            platforms=child.spec.platforms,
            max_accounts=child.spec.max_accounts,
            started_at=child.started_at,
            exited_at=child.exited_at,
            exit_code=child.exit_code,
            starts=child.starts,
            restarts=child.restarts,
            restart_at=child.restart_at,
            log_path=str(self.log_path(worker_id)),
            command=child.command,
        )

    def statuses(self) -> dict[str, ProcessStatus]:
        return {worker_id: self.status(worker_id) for worker_id in self.ids()}

    async def start(self, spec: WorkerSpec) -> ProcessStatus:
        """Start a new local worker, or start a known one again with `spec`."""
        child = self._children.setdefault(spec.worker_id, _Child(spec))
        async with child.lock:
            if child.running:
                raise AlreadyRunning(f"worker {spec.worker_id!r} is already running (pid {child.proc.pid})")  # type: ignore[union-attr]
            child.spec = spec
            child.cancel_pending()
            child.backoff.reset()
            try:
                await self._spawn(child)
            except SpawnFailed:
                if not child.starts:
                    del self._children[spec.worker_id]
                raise
        return self.status(spec.worker_id)

    async def _spawn(self, child: _Child) -> None:
        spec = child.spec
        command = [
            *self.command,
            "--id",
            spec.worker_id,
            "--platforms",
            ",".join(spec.platforms),
            "--max-accounts",
            str(spec.max_accounts),
        ]
        # Checked here because the lifeline, not the worker command, is what the spawn itself runs.
        if shutil.which(command[0]) is None:
            raise SpawnFailed(f"cannot run the worker command {shlex.join(command)!r}: not found or not executable")
        path = self.log_path(spec.worker_id)
        own = await asyncio.to_thread(self.prepare, spec.worker_id) if self.prepare else {}
        fd = await asyncio.to_thread(open_private, path)
        try:
            os.write(fd, f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} starting: {shlex.join(command)}\n".encode())
            # Spawned from the event loop's thread: the parent-death signal follows the forking thread.
            proc = await asyncio.create_subprocess_exec(
                *lifeline_command(command),
                stdin=subprocess.DEVNULL,
                stdout=fd,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                pass_fds=self.pass_fds,
                # Unbuffered, so the log shows what the worker printed before it died.
                env={**os.environ, **self.environment, **own, "PYTHONUNBUFFERED": "1"},
            )
        except OSError as exc:
            raise SpawnFailed(f"cannot run the worker command {shlex.join(command)!r}: {exc}") from None
        finally:
            os.close(fd)
        child.proc, child.command, child.wanted = proc, command, True
        child.started_at, child.exited_at, child.exit_code = _now_ms(), None, None
        child.starts += 1
        child.exited = asyncio.create_task(self._reap(child, proc, path))

    async def _reap(self, child: _Child, proc: asyncio.subprocess.Process, path: Path) -> int:
        code = await proc.wait()
        if child.proc is proc:
            child.exited_at, child.exit_code = _now_ms(), code
        await asyncio.to_thread(_append_line, path, f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} exited with {code}")
        if child.proc is proc and child.wanted and child.terminating is not proc:
            self._schedule_restart(child, path)
        return code

    def _schedule_restart(self, child: _Child, path: Path) -> None:
        """After a crash: again in 1 s, doubling to 60 s; a run that lasted a healthy minute starts the count over."""
        assert child.started_at is not None and child.exited_at is not None
        if child.exited_at - child.started_at >= self.healthy_s * 1000:
            child.backoff.reset()
        delay = child.backoff.next_delay()
        child.restart_at = _now_ms() + int(delay * 1000)
        log.warning(
            "local worker %s exited with %s; starting it again in %g s", child.spec.worker_id, child.exit_code, delay
        )
        child.pending = asyncio.create_task(self._restart_after(child, delay, path))

    async def _restart_after(self, child: _Child, delay: float, path: Path) -> None:
        await asyncio.sleep(delay)
        async with child.lock:
            if child.pending is not asyncio.current_task() or not child.wanted or child.running:
                return
            child.pending, child.restart_at = None, None
            try:
                await self._spawn(child)
            except SpawnFailed as exc:
                log.error("local worker %s: %s", child.spec.worker_id, exc)
                child.exited_at = _now_ms()
                self._schedule_restart(child, path)
                return
            child.restarts += 1

    async def stop(self, worker_id: str) -> ProcessStatus:
        """Stop it and keep it stopped (a restart waiting out its backoff is called off too)."""
        child = self._child(worker_id)
        async with child.lock:
            waiting = child.pending is not None
            child.wanted = False
            child.cancel_pending()
            if not child.running:
                if waiting:
                    return self.status(worker_id)
                raise NotRunning(f"worker {worker_id!r} is not running")
            await self._terminate(child)
        return self.status(worker_id)

    async def _terminate(self, child: _Child) -> None:
        proc, exited = child.proc, child.exited
        assert proc is not None and exited is not None
        child.terminating = proc
        # SIGTERM to the worker alone: it closes its browser itself. SIGKILL goes to the whole group,
        # so a worker that hangs does not leave Chromium processes behind.
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(asyncio.shield(exited), self.grace_s)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            await exited

    async def restart(self, worker_id: str) -> ProcessStatus:
        child = self._child(worker_id)
        async with child.lock:
            child.cancel_pending()
            if child.running:
                await self._terminate(child)
            await self._spawn(child)
        return self.status(worker_id)

    async def tail(self, worker_id: str, lines: int) -> list[str]:
        self._child(worker_id)
        return await asyncio.to_thread(tail_lines, self.log_path(worker_id), lines)

    async def close(self) -> None:
        """Stop every worker, all at once, and call off every restart that was due."""
        for child in self._children.values():
            child.wanted = False
            child.cancel_pending()
        running = [worker_id for worker_id, child in self._children.items() if child.running]
        await asyncio.gather(*(self.stop(worker_id) for worker_id in running), return_exceptions=True)
