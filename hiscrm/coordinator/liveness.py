"""Which workers are alive: the coordinator's watch on `hiscrm_presence`.

A worker is live while its key exists. The key going away (its TTL ran out, or the worker deleted
it on a clean stop) puts the worker in `gone` for the coordinator to settle: `worker.went_offline`
unless the facts already say it stopped. Keys starting with "_" are the coordinators' own.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import msgspec
from nats.aio.client import Client

from hiscrm.facts.messages import Presence
from hiscrm.facts.subjects import PRESENCE_BUCKET
from hiscrm.store import kv

log = logging.getLogger(__name__)

_decoder = msgspec.json.Decoder(Presence)


class Liveness:
    def __init__(self, nc: Client, on_change: Callable[[], None]) -> None:
        self.js = nc.jetstream()
        self.on_change = on_change  # called when the set of live workers or their capacity changes
        self.live: dict[str, Presence] = {}
        self.last_seen_ms: dict[str, int] = {}
        self.gone: set[str] = set()
        self.ready = asyncio.Event()

    async def run(self) -> None:
        bucket = await self.js.key_value(PRESENCE_BUCKET)
        await kv.follow(bucket, ">", self._seen, self.ready)

    def forget(self, worker_id: str) -> None:
        """The worker said it stopped: not live, whatever its key says, until it writes presence again."""
        if self.live.pop(worker_id, None) is not None:
            self.on_change()

    def _seen(self, entry: kv.Entry) -> None:
        worker_id = entry.key
        if worker_id.startswith("_"):
            return
        if kv.removed(entry):
            if self.live.pop(worker_id, None) is not None:
                log.info("worker %s is gone (%s)", worker_id, entry.operation)
                self.gone.add(worker_id)
                self.on_change()
            return
        try:
            presence = _decoder.decode(entry.value)
        except msgspec.DecodeError as exc:
            log.error("presence of %s is unreadable, ignored: %s", worker_id, exc)
            return
        if entry.created is not None:
            self.last_seen_ms[worker_id] = int(entry.created.timestamp() * 1000)
        before = self.live.get(worker_id)
        self.live[worker_id] = presence
        self.gone.discard(worker_id)
        if before is None or (before.platforms, before.max_accounts) != (presence.platforms, presence.max_accounts):
            self.on_change()
