"""`hiscrm nats`: only the embedded broker."""

from __future__ import annotations

import argparse

from hiscrm.cli.runtime import SubParsers, command, settings, stop_event
from hiscrm.errors import HiscrmError
from hiscrm.store.broker import EmbeddedBroker


def register(sub: SubParsers) -> None:
    parser = command(sub, "nats", "run the embedded nats-server with JetStream under the data dir")
    parser.set_defaults(func=run)


async def run(args: argparse.Namespace) -> int:
    s = settings(args)
    if not s.embedded:
        raise HiscrmError("--nats-url names an external server; `hiscrm nats` only runs the embedded one")
    stop = stop_event()
    async with EmbeddedBroker(s.data_dir, s.nats_port, monitor_port=s.monitor_port()) as broker:
        print(f"nats-server with JetStream at {broker.url} (store {broker.dir}); Ctrl-C stops it", flush=True)
        await stop.wait()
    return 0
