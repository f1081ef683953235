"""Entry point: builds the argument parser from the command modules and runs the chosen command."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import inspect
import sys
from collections.abc import Sequence

from hiscrm.errors import HiscrmError
from hiscrm.private import keep_private

# Each module registers its own sub-commands; listing them here keeps start-up imports lazy-free and explicit.
COMMAND_MODULES = (
    "hiscrm.cli.nats_cmd",
    "hiscrm.cli.streams_cmd",
    "hiscrm.cli.events_cmd",
    "hiscrm.cli.projector_cmd",
    "hiscrm.cli.coordinator_cmd",
    "hiscrm.cli.projections_cmd",
    "hiscrm.cli.bench_cmd",
    "hiscrm.cli.api_cmd",
    "hiscrm.cli.up_cmd",
    "hiscrm.cli.sandbox_cmd",
    "hiscrm.cli.worker_cmd",
    "hiscrm.cli.doctor_cmd",
    "hiscrm.cli.backup_cmd",
    "hiscrm.cli.auth_cmd",
    "hiscrm.cli.tokens_cmd",
    "hiscrm.cli.accounts_cmd",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hiscrm", description="Event-sourced inbox CRM for Douyin accounts")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    keep_private()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result = args.func(args)
        if inspect.iscoroutine(result):
            # Serving commands name a faster loop (uvloop) to run on; the rest use asyncio's own.
            result = getattr(args, "run_loop", asyncio.run)(result)
        return int(result or 0)
    except HiscrmError as exc:
        print(f"hiscrm: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
