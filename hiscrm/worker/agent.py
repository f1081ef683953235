"""A worker on the bus: registers, keeps its presence, follows its config keys and takes its commands.

    agent = WorkerAgent(nc, "w1", platforms=["douyin"], max_accounts=10, handler=my_handler)
    await agent.run(stop)

The handler (hiscrm/worker/handler.py) is where a worker's per-account behaviour lives; the agent
only speaks the project's NATS protocol:

1. presence first, then `worker.registered`: a coordinator never sees a registered worker that is
   not yet present;
2. config watch (calls `on_config` / `on_removed`) and command consumer (calls `on_command`),
   each on its own task, with presence refreshed beside them. A command for an account whose
   config has not arrived yet waits up to 2 s for it (the two travel on different streams), so a
   handler normally holds the account a command is for;
3. on `stop`: `worker.stopped`, then the presence key deleted, so the coordinator reassigns at once
   and never mistakes the clean exit for a death. If `run` is cancelled or a part fails instead,
   nothing is said: presence expires after its TTL, exactly as when the process dies. Nor when the
   broker takes no goodbye within GOODBYE_S (it stopped with us, as systemd stops a whole unit): the
   worker still stops at once rather than wait out an append that cannot be acknowledged.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from collections.abc import Sequence

import nats.errors
from nats.aio.client import Client

from hiscrm import __version__
from hiscrm.errors import HiscrmError
from hiscrm.facts.catalogue import WorkerRegistered, WorkerStopped
from hiscrm.facts.messages import Presence
from hiscrm.facts.subjects import worker_token
from hiscrm.parts import run_parts
from hiscrm.store.event_store import EventStore
from hiscrm.worker.commands import CommandConsumer
from hiscrm.worker.config_watch import ConfigWatch
from hiscrm.worker.handler import Command, Handler
from hiscrm.worker.presence import INTERVAL_S, TTL_S, PresenceBeacon

CONFIG_GRACE_S = 2.0
GOODBYE_S = 5.0


class WorkerAgent:
    def __init__(
        self,
        nc: Client,
        worker_id: str,
        *,
        platforms: Sequence[str],
        max_accounts: int,
        handler: Handler,
        store: EventStore | None = None,
        presence_interval_s: float = INTERVAL_S,
        presence_ttl_s: float = TTL_S,
    ) -> None:
        self.worker_id = worker_token(worker_id)
        self.platforms = list(platforms)
        self.max_accounts = max_accounts
        self.store = store or EventStore(nc)  # type: ignore[arg-type]
        self.handler = handler
        self.stop_reason = "clean stop"  # what worker.stopped says; the service names a browser gone for good
        self.config = ConfigWatch(nc, worker_id, handler)
        self.commands = CommandConsumer(nc, worker_id, self._on_command)
        presence = Presence(
            worker_id=worker_id,
            platforms=self.platforms,
            max_accounts=max_accounts,
            host=socket.gethostname(),
            pid=os.getpid(),
            started_at_ms=int(time.time() * 1000),
            version=__version__,
        )
        self.beacon = PresenceBeacon(
            nc,
            presence,
            accounts=lambda: len(self.config.configs),
            interval_s=presence_interval_s,
            ttl_s=presence_ttl_s,
        )

    async def _on_command(self, command: Command) -> None:
        # The coordinator writes an account's config before sending it commands, but the two travel on
        # different streams: give the config a moment to arrive rather than reject the command.
        await self.config.holds(command.account_id, CONFIG_GRACE_S)
        await self.handler.on_command(command)

    @property
    def ready(self) -> asyncio.Event:
        """Set once the configs this worker held at start have been handed to the handler."""
        return self.config.ready

    async def run(self, stop: asyncio.Event) -> None:
        await self.beacon.beat()
        await self.store.append(
            WorkerRegistered(
                worker_id=self.worker_id,
                platforms=self.platforms,
                max_accounts=self.max_accounts,
                host=self.beacon.presence.host,
                pid=self.beacon.presence.pid,
                version=__version__,
            )
        )
        parts = {"presence": self.beacon.run(), "config": self.config.run(), "commands": self.commands.run()}
        await run_parts(parts, stop, f"worker {self.worker_id}")
        with contextlib.suppress(TimeoutError, nats.errors.Error, HiscrmError):
            async with asyncio.timeout(GOODBYE_S):
                await self.store.append(WorkerStopped(worker_id=self.worker_id, reason=self.stop_reason))
                await self.beacon.leave()
