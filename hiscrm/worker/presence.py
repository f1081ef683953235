"""The worker's heartbeat: `hiscrm_presence.<worker_id>`, rewritten every 10 s with a 30 s TTL.

Each write carries its own TTL, so if the worker dies the key expires and the server pushes an
expiry marker to every watcher: that marker is the coordinator's death notice. A clean stop
deletes the key instead, which watchers see at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import msgspec
from nats.aio.client import Client

from hiscrm.facts.messages import Presence
from hiscrm.facts.subjects import PRESENCE_BUCKET, presence_key
from hiscrm.store import kv
from hiscrm.worker.footprint import memory_bytes

log = logging.getLogger(__name__)

INTERVAL_S = 10.0
TTL_S = 30.0


class PresenceBeacon:
    def __init__(
        self,
        nc: Client,
        presence: Presence,
        *,
        accounts: Callable[[], int] = lambda: 0,
        interval_s: float = INTERVAL_S,
        ttl_s: float = TTL_S,
    ) -> None:
        self.js = nc.jetstream()
        self.presence = presence
        self.accounts = accounts
        self.key = presence_key(presence.worker_id)
        self.interval_s = interval_s
        self.ttl_s = ttl_s

    async def beat(self) -> None:
        self.presence.accounts = self.accounts()
        self.presence.memory_bytes = await asyncio.to_thread(memory_bytes)
        await kv.put(self.js, PRESENCE_BUCKET, self.key, msgspec.json.encode(self.presence), ttl=self.ttl_s)

    async def run(self) -> None:
        """Beat every interval until cancelled; a failed beat is retried at the next one, well inside the TTL."""
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                await self.beat()
            except Exception as exc:
                log.warning("presence of %s not refreshed: %r", self.key, exc)

    async def leave(self) -> None:
        bucket = await self.js.key_value(PRESENCE_BUCKET)
        await bucket.delete(self.key)
