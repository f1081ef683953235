"""`hiscrm streams apply|status`."""

from __future__ import annotations

import argparse
import json

from hiscrm.cli.runtime import SubParsers, command, group, nats_client, settings
from hiscrm.store import streams


def register(sub: SubParsers) -> None:
    verbs = group(sub, "streams", "create, update or inspect the streams and KV buckets in streams/")
    apply = command(verbs, "apply", "create or update every stream and bucket")
    apply.add_argument("--replicas", type=int, default=None, help="override num_replicas (3 on a cluster)")
    apply.add_argument("--json", action="store_true")
    apply.set_defaults(func=run_apply)
    status = command(verbs, "status", "state of every stream and bucket")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=run_status)


async def run_apply(args: argparse.Namespace) -> int:
    async with nats_client(args, "hiscrm-streams") as nc:
        report = await streams.apply(nc, settings(args).streams_dir, replicas=args.replicas)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for row in report:
            print(f"{row['name']:<22} {row['action']}")
    return 0


async def run_status(args: argparse.Namespace) -> int:
    async with nats_client(args, "hiscrm-streams") as nc:
        rows = await streams.status(nc, settings(args).streams_dir)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for row in rows:
            if not row["exists"]:
                print(f"{row['name']:<22} missing ({row['error']})")
                continue
            drift = f" drift: {', '.join(row['drift'])}" if row["drift"] else ""
            print(
                f"{row['name']:<22} {row['kind']:<10} {row['messages']:>10} msgs {row['bytes']:>12} bytes "
                f"seq {row['first_seq']}..{row['last_seq']} R{row['replicas']}{drift}"
            )
    return 0 if all(r["exists"] for r in rows) else 1
