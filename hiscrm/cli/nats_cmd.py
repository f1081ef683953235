"""`hiscrm nats`: only the embedded broker."""

from __future__ import annotations

import argparse
import asyncio

from hiscrm.cli.runtime import SubParsers, command, settings, stop_event
from hiscrm.config import Settings
from hiscrm.errors import HiscrmError
from hiscrm.private import private_dir
from hiscrm.procs import DataDirLock
from hiscrm.store.broker import EmbeddedBroker


def register(sub: SubParsers) -> None:
    parser = command(sub, "nats", "run the embedded nats-server with JetStream under the data dir")
    parser.set_defaults(func=run)


async def run(args: argparse.Namespace) -> int:
    s = settings(args)
    if not s.embedded:
        raise HiscrmError("--nats-url names an external server; `hiscrm nats` only runs the embedded one")
    stop = stop_event()
    lock = DataDirLock(private_dir(s.data_dir))
    await lock.acquire()
    try:
        await _serve(s, lock, stop)
    finally:
        lock.release()
    return 0


async def _serve(s: Settings, lock: DataDirLock, stop: asyncio.Event) -> None:
    monitor = s.monitor_port()
    async with EmbeddedBroker(s.data_dir, s.nats_port, pass_fds=(lock.fd,), monitor_port=monitor) as broker:
        print(f"nats-server with JetStream at {broker.url} (store {broker.dir}); Ctrl-C stops it", flush=True)
        await broker.watch(stop)
