"""`hiscrm api`: the Starlette app (IM API, admin API, console, live feed) on its own."""

from __future__ import annotations

import argparse

from hiscrm.api.server import build, run_fast, serve
from hiscrm.cli.runtime import SubParsers, command, nats_client, settings, setup_logging, stop_event


def register(sub: SubParsers) -> None:
    parser = command(sub, "api", "serve the IM API, admin API and console from the read models")
    parser.add_argument("--api-port", type=int, default=None, help="port (HISCRM_API_PORT, default 8080)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.set_defaults(func=run, run_loop=run_fast)


async def run(args: argparse.Namespace) -> int:
    setup_logging()
    s = settings(args)
    stop = stop_event()
    async with nats_client(args, "hiscrm-api") as nc:
        app, services, _ = build(s, nc)
        where = s.data_dir / "admin.token"
        print(f"API on http://{args.host}:{s.api_port} (admin token in {where}; more: hiscrm tokens add)", flush=True)
        try:
            await serve(app, args.host, s.api_port, stop)
        finally:
            services.models.close()
    return 0
