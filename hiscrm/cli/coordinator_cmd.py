"""`hiscrm coordinator`: the master's brain; several may run, the one holding the lease decides."""

from __future__ import annotations

import argparse

from hiscrm.cli.runtime import SubParsers, command, nats_client, settings, setup_logging, stop_event
from hiscrm.coordinator.lease import TTL_S
from hiscrm.coordinator.service import Coordinator, default_id
from hiscrm.parts import until_stopped
from hiscrm.secrets.sealing import load_master_key


def register(sub: SubParsers) -> None:
    parser = command(sub, "coordinator", "assign accounts, keep worker configs, send commands; one of many leads")
    parser.add_argument("--id", dest="coordinator_id", default=None, help="this coordinator's name (default host-pid)")
    parser.add_argument(
        "--lease-ttl", type=float, default=TTL_S, help=f"seconds a leader's lease outlives it (default {TTL_S:g})"
    )
    parser.set_defaults(func=run)


async def run(args: argparse.Namespace) -> int:
    setup_logging()
    s = settings(args)
    master_key = load_master_key(s.data_dir)
    stop = stop_event()
    coordinator_id = args.coordinator_id or default_id()
    async with nats_client(args, f"hiscrm-coordinator-{coordinator_id}") as nc:
        coordinator = Coordinator(
            nc,  # type: ignore[arg-type]
            master_key,
            coordinator_id=coordinator_id,
            lease_ttl_s=args.lease_ttl,
            lease_renew_s=args.lease_ttl / 3,
        )
        await until_stopped(coordinator.run(stop), stop)
    return 0
