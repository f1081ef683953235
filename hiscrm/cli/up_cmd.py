"""`hiscrm up`: everything on one machine, stopped in reverse order on Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging

from hiscrm.cli.runtime import SubParsers, command, settings, setup_logging, stop_event
from hiscrm.projector.runner import Projector
from hiscrm.store import streams
from hiscrm.store.broker import EmbeddedBroker
from hiscrm.store.connection import connect
from projections import MODELS

log = logging.getLogger("hiscrm.up")


def register(sub: SubParsers) -> None:
    parser = command(sub, "up", "run broker, streams, projector (and the rest as it exists) on this machine")
    parser.add_argument("--api-port", type=int, default=None)
    parser.add_argument("--no-demo", action="store_true", help="do not start the sandbox and its demo account")
    parser.set_defaults(func=run)


async def run(args: argparse.Namespace) -> int:
    setup_logging()
    s = settings(args)
    stop = stop_event()
    async with contextlib.AsyncExitStack() as stack:
        if s.embedded:
            broker = await stack.enter_async_context(EmbeddedBroker(s.data_dir, s.nats_port))
            print(f"broker      {broker.url} (embedded, store {broker.dir})", flush=True)
        else:
            print(f"broker      {', '.join(s.servers)} (external)", flush=True)
        nc = await connect(s.servers, "hiscrm-up")
        stack.push_async_callback(nc.drain)
        for row in await streams.apply(nc, s.streams_dir):
            log.info("stream %s: %s", row["name"], row["action"])
        projector = Projector(nc, s.read_models_dir, MODELS)
        tasks = [asyncio.create_task(projector.run(stop), name="projector")]
        print(f"projector   {s.read_models_dir}", flush=True)
        print("not yet part of `up`: coordinator, API, worker, sandbox demo", flush=True)
        print("Ctrl-C stops everything", flush=True)
        stopper = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait({stopper, *tasks}, return_when=asyncio.FIRST_COMPLETED)
        stop.set()
        for task in tasks:
            if task in done and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
        await asyncio.gather(*tasks, return_exceptions=True)
    print("stopped", flush=True)
    return 0
