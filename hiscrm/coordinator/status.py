"""What the leader tells the API: `hiscrm_presence._coordinator_status` (messages.CoordinatorStatus).

Written when it changes and at least every `refresh_s`, so the presence bucket's 30 s max age
removes it once no coordinator leads: no key means no leader.
"""

from __future__ import annotations

import time

import msgspec
from nats.aio.client import Client

from hiscrm.facts.messages import CoordinatorStatus
from hiscrm.facts.subjects import COORDINATOR_STATUS, PRESENCE_BUCKET
from hiscrm.store import kv

REFRESH_S = 10.0


class StatusBoard:
    def __init__(self, nc: Client, refresh_s: float = REFRESH_S) -> None:
        self.js = nc.jetstream()
        self.refresh_s = refresh_s
        self.current: CoordinatorStatus | None = None
        self._written: CoordinatorStatus | None = None
        self._written_at = 0.0

    async def publish(self, status: CoordinatorStatus) -> None:
        self.current = status
        unchanged = self._written is not None and msgspec.structs.replace(
            self._written, updated_at_ms=0, position=0
        ) == msgspec.structs.replace(status, updated_at_ms=0, position=0)
        if unchanged and time.monotonic() - self._written_at < self.refresh_s:
            return
        await kv.put(self.js, PRESENCE_BUCKET, COORDINATOR_STATUS, msgspec.json.encode(status))
        self._written, self._written_at = status, time.monotonic()

    def forget(self) -> None:
        """A new term writes afresh."""
        self._written = None
