"""`hiscrm api --workers N` (and `hiscrm up --api-workers N`): N API processes answering on one port.

Each process is a whole `hiscrm api` — its own NATS connection, its own view of the LMDB read models
(LMDB is made for many reading processes; the projector stays the one writer), its own page cache —
so reads, writes (which wait for the projector's checkpoint in LMDB) and the live feed (read from
the stream) work the same from any of them. Each binds the port with SO_REUSEPORT, and the kernel
spreads new connections across them by address hash; one shared listening socket would let whichever
process woke first take a whole burst of connections. The parent first binds the port without
SO_REUSEPORT, so a port held by anything else is refused with its name, then keeps a SO_REUSEPORT
socket bound (never listening) for as long as it runs, so nothing outside the group takes the port
between a child's start and its bind.

The children die with the parent however it dies: each asks the kernel for SIGTERM when its parent
goes (hiscrm/lifeline.py, PR_SET_PDEATHSIG), which stops it cleanly, and the parent starts them
from its event loop's thread, whose end is the signal's trigger. One child ending on its own stops
the group, as one part of any HisCRM service does. Browser workers are not the API's children here: a
group has no single process to own them, so its processes answer the local-worker routes with 503.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
from collections.abc import Sequence

from hiscrm.config import Settings
from hiscrm.errors import HiscrmError
from hiscrm.procs import ensure_free

log = logging.getLogger(__name__)

GRACE_S = 10.0


def process_count(value: str) -> int:
    """The argparse type of --workers / --api-workers."""
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"expected a number of processes (1 or more), got {value!r}")
    return int(value)


def _shared(host: str, port: int, failure: str) -> socket.socket:
    """A socket bound to host:port with SO_REUSEPORT, so the group's other sockets may bind it too."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise HiscrmError(f"{failure} {host}:{port} ({exc.strerror})") from None
    return sock


def reserve(host: str, port: int) -> socket.socket:
    """The port checked free and held for the group: a bound SO_REUSEPORT socket that never listens."""
    ensure_free(host, port, "API", "--api-port")
    return _shared(host, port, "the API could not hold")


def member_socket(host: str, port: int) -> socket.socket:
    """One group member's socket on the shared port (the API's HTTP server listens on it)."""
    return _shared(host, port, "API process could not join")


def member_command(settings: Settings, host: str, port: int, index: int) -> list[str]:
    """The `hiscrm api` command line of group member `index`, reaching what this process reaches."""
    command = [
        sys.executable, "-m", "hiscrm", "api", "--data-dir", str(settings.data_dir),
        "--nats-url", ",".join(settings.servers), "--connect-timeout", str(settings.connect_timeout_s),
        "--host", host, "--api-port", str(port), "--member", str(index), "--parent", str(os.getpid()),
    ]  # fmt: skip
    if settings.nats_creds is not None:
        command += ["--nats-creds", str(settings.nats_creds)]
    return command


async def run_group(settings: Settings, host: str, port: int, workers: int, stop: asyncio.Event) -> None:
    """Run `workers` API processes on host:port until `stop` is set or one of them ends on its own."""
    held = reserve(host, port)
    procs: list[asyncio.subprocess.Process] = []
    try:
        for index in range(workers):
            procs.append(await asyncio.create_subprocess_exec(*member_command(settings, host, port, index)))
        await _until_stop_or_exit(procs, stop)
    finally:
        await _terminate(procs)
        held.close()


async def _until_stop_or_exit(procs: Sequence[asyncio.subprocess.Process], stop: asyncio.Event) -> None:
    exits = {asyncio.ensure_future(p.wait()): i for i, p in enumerate(procs)}
    stopper = asyncio.ensure_future(stop.wait())
    try:
        done, _ = await asyncio.wait({stopper, *exits}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (stopper, *exits):
            task.cancel()
    if stopper not in done:
        ended = next(t for t in exits if t in done)
        raise HiscrmError(f"API process {exits[ended]} exited with {ended.result()}; stopping the others")


async def _terminate(procs: Sequence[asyncio.subprocess.Process]) -> None:
    running = [p for p in procs if p.returncode is None]
    for proc in running:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(asyncio.gather(*(p.wait() for p in running)), GRACE_S)
    except TimeoutError:
        for proc in running:
            if proc.returncode is None:
                log.warning("API process %s did not stop within %.0f s; killing it", proc.pid, GRACE_S)
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
        await asyncio.gather(*(p.wait() for p in running))
