"""What the routes share: the NATS connection, the event store, the live read models, keys, settings."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from hiscrm.config import Settings
from hiscrm.facts.base import Fact
from hiscrm.projector.live import LiveModels
from hiscrm.secrets.keystore import KeyStore
from hiscrm.store.connection import HiscrmClient
from hiscrm.store.event_store import Appended, EventStore


@dataclass
class Services:
    settings: Settings
    nc: HiscrmClient
    store: EventStore
    models: LiveModels
    keys: KeyStore
    master_key: bytes
    write_wait_s: float = 2.0
    started_at: float = field(default_factory=time.time)
    # Optional parts that `hiscrm up` adds: the local worker supervisor, etc.
    extras: dict[str, Any] = field(default_factory=dict)

    async def append_and_wait(self, fact: Fact, **append: Any) -> tuple[Appended, bool]:
        """Append, then wait until the read models show it: (appended, visible)."""
        done = await self.store.append(fact, **append)
        return done, await self.models.wait_for(done.seq, self.write_wait_s)
