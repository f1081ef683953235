"""`hiscrm sandbox`: serve the simulated Douyin creator site."""

from __future__ import annotations

import argparse
import asyncio
import signal
from pathlib import Path

import msgspec

from hiscrm.config import env
from hiscrm.errors import HiscrmError
from hiscrm.sandbox.app import create_app
from hiscrm.sandbox.seed import demo_world
from hiscrm.sandbox.server import bind, serve
from hiscrm.sandbox.state import World

DEFAULT_PORT = 8600


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "sandbox",
        help="serve the simulated Douyin creator site",
        description="Serve a local imitation of the Douyin creator web, driven through /__sandbox/.",
    )
    parser.add_argument("--port", type=int, default=None, help=f"port (HISCRM_SANDBOX_PORT, default {DEFAULT_PORT})")
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument(
        "--state", type=Path, default=None, help="JSON file: loaded at start if it exists, saved on exit"
    )
    parser.add_argument("--seed", choices=("demo", "empty"), default="demo", help="world to start from without state")
    parser.set_defaults(func=run)


def _port(args: argparse.Namespace) -> int:
    if args.port is not None:
        return args.port
    raw = env("SANDBOX_PORT") or str(DEFAULT_PORT)
    try:
        return int(raw)
    except ValueError:
        raise HiscrmError(f"HISCRM_SANDBOX_PORT must be a port number, got {raw!r}") from None


def _world(args: argparse.Namespace) -> World:
    state: Path | None = args.state
    if state is not None and state.exists():
        try:
            return World.load(state)
        except (OSError, msgspec.DecodeError) as exc:
            raise HiscrmError(f"cannot load sandbox state from {state}: {exc}") from None
    return demo_world() if args.seed == "demo" else World()


async def run(args: argparse.Namespace) -> int:
    sock = bind(args.host, _port(args))
    world = _world(args)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    host, port = sock.getsockname()[:2]
    print(f"sandbox: http://{host}:{port}/  control: http://{host}:{port}/__sandbox/accounts", flush=True)
    for uid, account in world.accounts.items():
        user = world.users[account.uid]
        print(f"  account {user.nickname} uid={uid} unique_id={user.unique_id}", flush=True)
    await serve(create_app(world, state_path=args.state), sock, stop)
    return 0
