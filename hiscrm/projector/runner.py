"""The projector service: one ordered pass over HISCRM_EVENTS into the live read models, forever.

Deliveries are taken in batches and each batch is one LMDB transaction, applied in a thread so
the event loop keeps receiving while LMDB writes. If a rebuild swaps in a new generation, the
projector notices at the next batch, reopens, and continues from that generation's checkpoint.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from hiscrm.projector.applier import Applier
from hiscrm.projector.model import ReadModel
from hiscrm.projector.rebuild import rebuild
from hiscrm.projector.storage import Generations, ModelEnv, WriterLock, model_versions, release_env, shared_env
from hiscrm.store.connection import HiscrmClient
from hiscrm.store.feed import Feed

log = logging.getLogger(__name__)

Applied = Callable[[int], Awaitable[None]]


class Projector:
    def __init__(
        self,
        nc: HiscrmClient,
        root: Path,
        models: list[ReadModel],
        *,
        batch_size: int = 2000,
        on_applied: Applied | None = None,
    ) -> None:
        self.nc = nc
        self.gens = Generations(root)
        self.models = models
        self.batch_size = batch_size
        self.on_applied = on_applied
        self.checkpoint = 0
        self.caught_up = asyncio.Event()

    async def _open(self) -> tuple[ModelEnv, WriterLock]:
        path = self.gens.ensure_current()
        env = shared_env(path, self.models)
        stored = env.stored_versions()
        if stored is not None and stored != model_versions(self.models):
            log.warning("read model versions changed (%s -> %s): rebuilding", stored, model_versions(self.models))
            release_env(env)
            await rebuild(self.nc, self.gens, self.models)
            path = self.gens.ensure_current()
            env = shared_env(path, self.models)
        lock = WriterLock(path)
        lock.acquire()
        return env, lock

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            env, lock = await self._open()
            try:
                await self._follow(env, stop)
            finally:
                lock.release()
                release_env(env)

    def _swapped(self, env: ModelEnv) -> bool:
        """Whether CURRENT names another directory than the open one, however either path is spelled
        (the link's target is relative to the root; the environment's path is resolved)."""
        current = self.gens.current()
        return current is None or current.resolve() != env.path.resolve()

    async def _follow(self, env: ModelEnv, stop: asyncio.Event) -> None:
        applier = Applier(env)
        self.checkpoint = env.checkpoint()
        feed = await Feed.open(self.nc, from_seq=self.checkpoint + 1)
        log.info("projector: %s from sequence %d", env.path, self.checkpoint + 1)
        try:
            while not stop.is_set():
                batch = await feed.batch(self.batch_size, timeout=0.5)
                if batch:
                    self.checkpoint = await asyncio.to_thread(applier.apply_batch, batch)
                    if self.on_applied is not None:
                        await self.on_applied(self.checkpoint)
                    if batch[-1].pending == 0:
                        self.caught_up.set()
                else:
                    # Half a second without a delivery: the head has been reached.
                    self.caught_up.set()
                if self._swapped(env):
                    log.info("projector: read models were swapped; reopening")
                    return
        finally:
            await feed.close()
