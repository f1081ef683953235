"""`hiscrm api`: the Starlette app (IM API, admin API, console, live feed) on its own."""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from hiscrm.api.processes import member_socket, process_count, run_group
from hiscrm.api.server import build, run_fast, serve
from hiscrm.cli.runtime import SubParsers, command, nats_client, settings, setup_logging, stop_event
from hiscrm.lifeline import arm
from hiscrm.procs import bind


def register(sub: SubParsers) -> None:
    parser = command(sub, "api", "serve the IM API, admin API and console from the read models")
    parser.add_argument("--api-port", type=int, default=None, help="port (HISCRM_API_PORT, default 8080)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--workers",
        type=process_count,
        default=1,
        metavar="N",
        help="API processes sharing the port (default 1; about one per core beyond the projector's on bigger machines)",
    )
    # A member of a --workers group: its index, and the parent it dies with.
    parser.add_argument("--member", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--parent", type=int, default=None, help=argparse.SUPPRESS)
    parser.set_defaults(func=run, run_loop=run_fast)


async def run(args: argparse.Namespace) -> int:
    setup_logging()
    s = settings(args)
    stop = stop_event()
    if args.member is not None:
        return await _member(args, args.member, stop)
    if args.workers > 1:
        print(f"API on http://{args.host}:{s.api_port} in {args.workers} processes", flush=True)
        await run_group(s, args.host, s.api_port, args.workers, stop)
        return 0
    # The port is taken before anything else, so a busy one is refused naming its holder.
    with contextlib.closing(bind(args.host, s.api_port, "API", "--api-port")) as sock:
        async with nats_client(args, "hiscrm-api") as nc:
            app, services, _ = build(s, nc)
            where = s.data_dir / "admin.token"
            print(
                f"API on http://{args.host}:{s.api_port} (admin token in {where}; more: hiscrm tokens add)", flush=True
            )
            try:
                await serve(app, args.host, s.api_port, stop, sock)
            finally:
                services.models.close()
    return 0


async def _member(args: argparse.Namespace, index: int, stop: asyncio.Event) -> int:
    """One process of a --workers group: the whole API on its own SO_REUSEPORT socket, without local workers."""
    if args.parent is not None:
        arm(args.parent)
    s = settings(args)
    async with nats_client(args, f"hiscrm-api-{index}") as nc:
        app, services, _ = build(s, nc, local_workers=False)
        # /metrics counts this process's requests only; the gauge says which process answered.
        app.state.metrics.gauges["hiscrm_api_process"] = lambda: index
        try:
            await serve(app, args.host, s.api_port, stop, sock=member_socket(args.host, s.api_port))
        finally:
            services.models.close()
    return 0
