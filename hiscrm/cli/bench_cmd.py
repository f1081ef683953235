"""`hiscrm bench [--json] [--quick]`: the performance suite."""

from __future__ import annotations

import argparse
import json

from hiscrm.bench import suite
from hiscrm.cli.runtime import SubParsers


def register(sub: SubParsers) -> None:
    parser = sub.add_parser("bench", help="measure throughput and latency against raw limits in the same run")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--quick", action="store_true", help="smaller workloads (about a minute)")
    parser.set_defaults(func=run)


async def run(args: argparse.Namespace) -> int:
    result = await suite.run(quick=args.quick)
    if args.json:
        print(json.dumps(result))
        return 0
    for name, figures in result.items():
        if isinstance(figures, dict):
            print(f"{name:<14} " + "  ".join(f"{k}={v}" for k, v in figures.items()))
        else:
            print(f"{name:<14} {figures}")
    return 0
