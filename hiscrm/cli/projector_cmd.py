"""`hiscrm projector`: apply the event stream to the LMDB read models until stopped."""

from __future__ import annotations

import argparse

from hiscrm.cli.runtime import SubParsers, command, nats_client, settings, setup_logging, stop_event
from hiscrm.projector.runner import Projector
from projections import MODELS


def register(sub: SubParsers) -> None:
    parser = command(sub, "projector", "apply HISCRM_EVENTS to the LMDB read models, following the head")
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.set_defaults(func=run)


async def run(args: argparse.Namespace) -> int:
    setup_logging()
    stop = stop_event()
    async with nats_client(args, "hiscrm-projector") as nc:
        projector = Projector(nc, settings(args).read_models_dir, MODELS, batch_size=args.batch_size)
        # Not cancelled from outside: run returns on `stop` by itself, never in the middle of a batch's commit.
        await projector.run(stop)
    return 0
