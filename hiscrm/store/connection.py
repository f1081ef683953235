"""Connecting to NATS with reconnection that never gives up once the first connect has worked."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable
from pathlib import Path

import nats
from nats.aio.client import Client

from hiscrm.errors import BrokerUnavailable
from hiscrm.parts import cancel_and_wait
from hiscrm.store.auth import Credentials, read_credentials

log = logging.getLogger(__name__)

RawSink = Callable[[bytes, bytes, bytes, bytes], None]


class HiscrmClient(Client):
    """nats-py's client, plus subscriptions whose deliveries skip per-message object building.

    nats-py parses every header block into a dict and wraps every delivery in a Msg before a
    subscriber sees it; at stream-replay rates that is most of the cost. A raw sink gets the
    subject, reply, payload and header bytes as they came off the wire, and decides itself what
    to parse. Everything else (reconnects, resubscribing, other subscriptions) is nats-py's own.
    """

    def __init__(self) -> None:
        super().__init__()
        self.raw_sinks: dict[int, RawSink] = {}

    async def _process_msg(self, sid: int, subject: bytes, reply: bytes, data: bytes, headers: bytes) -> None:
        sink = self.raw_sinks.get(sid)
        if sink is None:
            await super()._process_msg(sid, subject, reply, data, headers)
        else:
            sink(subject, reply, data, headers)


def credentials_from_env() -> Credentials | None:
    """HISCRM_NATS_CREDS (a file from `hiscrm auth`), else HISCRM_NATS_USER and HISCRM_NATS_PASSWORD, else none."""
    path = os.environ.get("HISCRM_NATS_CREDS")
    if path:
        return read_credentials(Path(path))
    user = os.environ.get("HISCRM_NATS_USER")
    if user:
        return Credentials(user, os.environ.get("HISCRM_NATS_PASSWORD", ""))
    return None


async def connect(
    servers: list[str],
    name: str,
    *,
    wait_s: float = 10.0,
    credentials: Credentials | None = None,
    **options: object,
) -> HiscrmClient:
    """Connect to any of `servers`, retrying for up to `wait_s` before giving a clear error.

    After the first connect the client reconnects forever: a broker restart or a cluster
    leader change must not take a service down. Without `credentials`, the environment's
    (HISCRM_NATS_CREDS or HISCRM_NATS_USER/PASSWORD) are used, so every service started by a
    unit file or a supervisor connects as its role without code of its own.
    """
    credentials = credentials or credentials_from_env()
    if credentials is not None:
        options = {
            "user": credentials.user,
            "password": credentials.password,
            "inbox_prefix": credentials.inbox_prefix,
            **options,
        }

    client: list[HiscrmClient] = []

    async def on_disconnect() -> None:
        # A deliberate close or drain also disconnects; only an unexpected loss is worth a warning.
        if client and not (client[0].is_closed or client[0].is_draining):
            log.warning("%s: disconnected from NATS", name)

    async def on_reconnect() -> None:
        log.warning("%s: reconnected to NATS", name)

    refused = asyncio.Event()
    failures: list[Exception] = []

    async def on_error(exc: Exception) -> None:
        if not client:
            failures.append(exc)
            if "authorization violation" in str(exc).lower():
                refused.set()
        log.debug("%s: NATS error: %r", name, exc)

    nc = HiscrmClient()
    try:
        # With max_reconnect_attempts=-1 nats-py retries the first connect forever too (it never runs
        # out of servers), so the deadline is ours: a command facing no broker says so within wait_s.
        async with asyncio.timeout(wait_s):
            await _unless_refused(
                nc.connect(
                    servers=servers,
                    name=name,
                    connect_timeout=min(2.0, wait_s),
                    allow_reconnect=True,
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=0.5,
                    disconnected_cb=on_disconnect,
                    reconnected_cb=on_reconnect,
                    error_cb=on_error,
                    pending_size=64 * 1024 * 1024,
                    **options,  # type: ignore[arg-type]
                ),
                refused,
            )
    except nats.errors.AuthorizationError:
        await nc.close()
        who = f"user {credentials.user!r}" if credentials else "a client without credentials"
        raise BrokerUnavailable(
            f"NATS at {', '.join(servers)} refused {who}; name credentials with --nats-creds or "
            "HISCRM_NATS_CREDS (files from `hiscrm auth`)"
        ) from None
    except TimeoutError:
        with contextlib.suppress(Exception):
            await nc.close()
        why = f": {failures[-1]!r}" if failures else ""
        raise BrokerUnavailable(
            f"no NATS server answered at {', '.join(servers)} within {wait_s:g} s{why}; start one with "
            "`hiscrm up` or `hiscrm nats`, name a running one with --nats-url, or wait longer with --connect-timeout"
        ) from None
    client.append(nc)
    return nc


async def _unless_refused(connecting: Awaitable[None], refused: asyncio.Event) -> None:
    """Await the connect unless the server refuses our user first; a connect still running when this
    ends (refused, or the caller's deadline) is cancelled rather than left retrying in the background."""
    attempt = asyncio.ensure_future(connecting)
    refusal = asyncio.ensure_future(refused.wait())
    try:
        await asyncio.wait({attempt, refusal}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        await cancel_and_wait(refusal, None if attempt.done() else attempt)
    if not attempt.cancelled():
        attempt.result()
        return
    raise nats.errors.AuthorizationError
