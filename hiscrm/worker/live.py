"""Live DMs: while an account's context is open, the adapter keeps a page open that the platform
pushes new messages to (`Platform.watch`), and each one is appended at once instead of waiting for
the next pass. Passes go on as before and are the fallback: whatever the watch missed (it was not
running, a peer it could not name yet), the next pass observes.

Both paths go through the same dedupe index and the same `Nats-Msg-Id` (seen.msg_id): an item the
watch appended is not new to the pass, and one both append at the same moment is stored once.
"""

from __future__ import annotations

import asyncio
import logging

from playwright.async_api import BrowserContext

from hiscrm.parts import cancel_and_wait
from hiscrm.platforms.base import Observation, Platform
from hiscrm.store.event_store import EventStore
from hiscrm.worker import seen
from hiscrm.worker.seen import SeenIndex

log = logging.getLogger(__name__)


class LiveWatch:
    def __init__(self, store: EventStore, platform: Platform, account_id: str) -> None:
        self.store = store
        self.platform = platform
        self.account_id = account_id
        self._task: asyncio.Task[None] | None = None
        self._context: BrowserContext | None = None

    def ensure(self, context: BrowserContext, index: SeenIndex) -> None:
        """Watches in `context` unless a watch already runs there."""
        if self._task is not None and not self._task.done() and self._context is context:
            return
        if self._task is not None:
            self._task.cancel()
        self._context = context
        self._task = asyncio.create_task(self._watch(context, index), name=f"live dms {self.account_id}")

    async def stop(self) -> None:
        task, self._task, self._context = self._task, None, None
        await cancel_and_wait(task)

    async def _watch(self, context: BrowserContext, index: SeenIndex) -> None:
        async def observe(obs: Observation) -> None:
            await self._append(index, obs)

        try:
            await self.platform.watch(context, self.account_id, observe)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the page or its context went away; the next good pass starts it again
            log.info("%s: live DMs stopped (%s: %s); passes go on", self.account_id, type(exc).__name__, exc)

    async def _append(self, index: SeenIndex, obs: Observation) -> None:
        key, digest = seen.item_key(obs), seen.content_hash(obs)
        if not index.is_new_or_changed(key, digest):
            return
        try:
            await self.store.append(obs, msg_id=seen.msg_id(obs, digest))
        except Exception as exc:  # not recorded: still new to the index, so the next pass appends it
            log.warning("%s: a live %s could not be appended (%s); the next pass will", self.account_id, key, exc)
            return
        index.record(obs, digest)
