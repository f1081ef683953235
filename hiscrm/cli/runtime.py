"""What the commands share: settings, a NATS connection, stopping on SIGINT/SIGTERM, parsing times."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import logging
import re
import signal
from collections.abc import AsyncIterator

from nats.aio.client import Client

from hiscrm.config import Settings, add_common_arguments, settings_from
from hiscrm.errors import HiscrmError
from hiscrm.store.auth import read_credentials
from hiscrm.store.connection import connect

SubParsers = argparse._SubParsersAction  # type: ignore[type-arg]


def command(sub: SubParsers, name: str, help_: str) -> argparse.ArgumentParser:
    """A leaf command with the common connection and data-dir options."""
    parser = sub.add_parser(name, help=help_, description=help_)
    add_common_arguments(parser)
    return parser


def group(sub: SubParsers, name: str, help_: str) -> SubParsers:
    """A command with verbs (`hiscrm streams apply`); each verb is made with `command`."""
    parser = sub.add_parser(name, help=help_, description=help_)
    return parser.add_subparsers(dest="verb", metavar="VERB", required=True)


def setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("nats").setLevel(logging.WARNING)


@contextlib.asynccontextmanager
async def nats_client(args: argparse.Namespace, name: str) -> AsyncIterator[Client]:
    """A connection for a command: the first connect gives up after --connect-timeout with a one-line error
    naming the URL; once connected it reconnects forever, like every service."""
    settings = settings_from(args)
    credentials = read_credentials(settings.nats_creds) if settings.nats_creds else None
    nc = await connect(settings.servers, name, wait_s=settings.connect_timeout_s, credentials=credentials)
    try:
        yield nc
    finally:
        with contextlib.suppress(Exception):
            await nc.drain()


def stop_event() -> asyncio.Event:
    """An event set by SIGINT or SIGTERM, so long-running commands shut down in order."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


_RELATIVE = re.compile(r"-?(\d+)([smhd])")


def parse_time(value: str) -> dt.datetime:
    """ISO 8601, Unix seconds or milliseconds, or an age like 15m, 2h, 7d (meaning that long ago)."""
    value = value.strip()
    if m := _RELATIVE.fullmatch(value):
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[m.group(2)]
        return dt.datetime.now(dt.UTC) - dt.timedelta(**{unit: int(m.group(1))})
    if value.isdigit():
        n = int(value)
        return dt.datetime.fromtimestamp(n / 1000 if n > 10**11 else n, dt.UTC)
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise HiscrmError(f"cannot read {value!r} as a time: use ISO 8601, Unix seconds, or an age like 15m") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def settings(args: argparse.Namespace) -> Settings:
    return settings_from(args)
