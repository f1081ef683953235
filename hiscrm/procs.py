"""What `hiscrm up` needs to own a data dir and its ports: a lock, live-or-stale pid files, port holders.

A start that finds something in its way says what it is (a pid and its command line, read from
/proc) and what to do, instead of starting half a stack on top of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import json
import os
import signal
import socket
import time
from pathlib import Path

from hiscrm.errors import HiscrmError
from hiscrm.private import open_private

LOCK_NAME = "up.lock"


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie, dead but not yet reaped, does not)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            # The state follows the command name in parentheses, which may itself hold spaces or ')'.
            return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def command_line(pid: int, limit: int = 160) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "?"
    text = " ".join(raw.replace(b"\0", b" ").decode(errors="replace").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe(pids: list[int]) -> str:
    return ", ".join(f"pid {pid} ({command_line(pid)})" for pid in pids) or "a process this user cannot see"


def _pids_with(targets: set[str]) -> list[int]:
    """Processes of this user with an open descriptor whose link is one of `targets` ("socket:[inode]", paths)."""
    found: list[int] = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            fds = os.scandir(f"/proc/{entry.name}/fd")
        except OSError:
            continue
        with fds:
            for fd in fds:
                with contextlib.suppress(OSError):
                    if os.readlink(fd.path) in targets:
                        found.append(int(entry.name))
                        break
    return sorted(found)


def listeners(port: int) -> list[int]:
    """Pids listening on TCP `port` (any address), from /proc/net/tcp{,6}; only this user's are visible."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as f:
            next(f, None)
            for line in f:
                fields = line.split()
                # local address is HEXIP:HEXPORT; state 0A is LISTEN
                if len(fields) > 9 and fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(f"socket:[{fields[9]}]")
    return _pids_with(inodes) if inodes else []


def port_taken(host: str, port: int, what: str, flag: str) -> HiscrmError:
    return HiscrmError(
        f"{what} port {host}:{port} is in use by {describe(listeners(port))}; stop that or choose another with {flag}"
    )


def bind(host: str, port: int, what: str, flag: str) -> socket.socket:
    """A listening socket on host:port for a server started later, or an error naming who holds the port."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise port_taken(host, port, what, flag) from None
        raise HiscrmError(f"cannot listen on {host}:{port} for the {what}: {exc.strerror}") from None
    sock.set_inheritable(False)
    return sock


def ensure_free(host: str, port: int, what: str, flag: str) -> None:
    """For a port bound later by another program (nats-server) or by other sockets (an API group's
    SO_REUSEPORT members): fail before starting them if the port is taken, naming its holder."""
    bind(host, port, what, flag).close()


class Claim:
    """An flock on a file that records its holder's pid: while it is held, nobody else claims the same thing."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd: int | None = None

    def owner(self) -> int | None:
        """The pid that took the claim, if that process still runs HisCRM (a pid may be reused)."""
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            pid = int(json.loads(self.path.read_text())["pid"])
            if alive(pid) and "hiscrm" in command_line(pid):
                return pid
        return None

    def try_take(self) -> bool:
        fd = open_private(self.path, os.O_RDWR | os.O_CREAT)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({"pid": os.getpid()}).encode(), 0)
        self.fd = fd
        return True

    def holders(self) -> list[int]:
        return _pids_with({str(self.path)})

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


class DataDirLock(Claim):
    """The claim of `hiscrm up` (or `hiscrm nats`) on a data dir, `<data>/up.lock`, held as long as it lives.

    Children get the descriptor too (`fd` in their pass_fds), so the claim lasts until the last of
    them is gone: a new `up` after a crash waits for the broker and workers of the dead one to finish
    stopping instead of starting a second broker on the same JetStream store.
    """

    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir / LOCK_NAME)
        self.data_dir = data_dir

    async def acquire(self, wait_s: float = 30.0) -> None:
        deadline = time.monotonic() + wait_s
        while not self.try_take():
            owner = self.owner()
            if owner is not None and owner != os.getpid():
                raise HiscrmError(
                    f"{self.data_dir} is in use by {describe([owner])}; stop it (Ctrl-C there, or "
                    f"kill -INT {owner}) or give this one another --data-dir"
                )
            # Its owner is dead: what still holds the lock are its children, stopping on their parent's death.
            if time.monotonic() >= deadline:
                raise HiscrmError(
                    f"processes of an earlier hiscrm up still hold {self.data_dir}: {describe(self.holders())}; "
                    "stop them (kill PID) and start again"
                )
            await asyncio.sleep(0.2)


def clear_stale_pid_file(pid_file: Path, program: str, grace_s: float = 15.0) -> str | None:
    """A pid file left by an earlier run: removed if its process is gone; if it still runs `program`
    (an orphan of a run without this lock), that process is stopped. Says what it did, or None."""
    try:
        pid = int(pid_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    if not alive(pid) or program not in command_line(pid):
        pid_file.unlink(missing_ok=True)
        return f"removed stale {pid_file.name} (pid {pid} is gone)"
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if alive(pid):
        os.kill(pid, signal.SIGKILL)
    pid_file.unlink(missing_ok=True)
    return f"stopped {program} pid {pid} left running by an earlier run"
