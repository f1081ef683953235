"""The projector service: one ordered pass over HISCRM_EVENTS into the live read models, forever.

Deliveries are taken in batches and each batch is one LMDB transaction, applied in a thread so
the event loop keeps receiving while LMDB writes. If a rebuild swaps in a new generation, the
projector notices at the next batch, reopens, and continues from that generation's checkpoint.

Before it follows, and at most every `check_every_s` while it does (always before applying what it
received), it checks that HISCRM_EVENTS is still the stream the models were built from
(hiscrm/projector/origin.py). If not, it applies nothing more: with `rebuild_on_other_stream` (as
`hiscrm up` runs it) it rebuilds from the stream that is there, otherwise it reports the difference in
`other_stream` and waits for `hiscrm projections rebuild`. A deleted stream's consumer falls silent
for three heartbeats before the feed recreates it, so the check sees the change before any delivery
from a new stream could arrive.

A stop is clean whatever has died first. Every question to the broker is abandoned once `stop` is set
(a broker stopped with us, as systemd stops a unit's whole cgroup, never answers, and waiting out the
request's timeout only to raise it would end `up` with a traceback), and a broker that does not answer
while the projector runs is asked again, never a crash. A batch being applied is not abandoned: the
checkpoint is written in its transaction, and the projector returns once it is committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import nats.errors

from hiscrm.errors import HiscrmError
from hiscrm.facts.subjects import EVENTS_STREAM
from hiscrm.parts import until_stopped
from hiscrm.projector.applier import Applier
from hiscrm.projector.model import ReadModel
from hiscrm.projector.origin import StreamNow, env_mismatch, stream_now
from hiscrm.projector.rebuild import rebuild
from hiscrm.projector.storage import Generations, ModelEnv, WriterLock, model_versions, release_env, shared_env
from hiscrm.store.connection import HiscrmClient
from hiscrm.store.feed import Feed

log = logging.getLogger(__name__)

# A broker between leaders times out or answers "unavailable": worth asking again, never a crash.
UNANSWERED = (TimeoutError, nats.errors.Error, HiscrmError)
# What a broker that went away makes of any call (a read model that cannot be opened is no such thing).
BROKER_GONE = (TimeoutError, nats.errors.Error)

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
        rebuild_on_other_stream: bool = False,
        check_every_s: float = 1.0,
    ) -> None:
        self.nc = nc
        self.gens = Generations(root)
        self.models = models
        self.batch_size = batch_size
        self.on_applied = on_applied
        self.rebuild_on_other_stream = rebuild_on_other_stream
        self.check_every_s = check_every_s
        self.checkpoint = 0
        self.caught_up = asyncio.Event()
        self.other_stream: str | None = None  # why the models do not belong to the stream there, while so

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
            try:
                await self._round(stop)
            except BROKER_GONE as exc:
                # A rebuild or a feed cut off by a broker that went away: from the checkpoint once it is back.
                if not stop.is_set():
                    log.warning("projector: the broker did not answer (%r); starting over from the checkpoint", exc)
                    await self._pause(stop)

    async def _round(self, stop: asyncio.Event) -> None:
        now = await self._stream_now(stop)
        if now is None:
            return
        env, lock = await self._open()
        try:
            problem = env_mismatch(env, now)
            if problem is None:
                self._belongs()
                await self._follow(env, now, stop)
                return
        finally:
            lock.release()
            release_env(env)
        await self._other_stream(problem, now, stop)

    async def _pause(self, stop: asyncio.Event) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), self.check_every_s)

    async def _stream_now(self, stop: asyncio.Event) -> StreamNow | None:
        """The stream as it is now, asked again while the broker cannot answer (None once stopped)."""
        while not stop.is_set():
            try:
                return await until_stopped(stream_now(self.nc), stop)
            except UNANSWERED as exc:
                log.warning("projector: cannot read %s (%r); asking again", EVENTS_STREAM, exc)
                await self._pause(stop)
        return None

    def _belongs(self) -> None:
        if self.other_stream is not None:
            log.info("projector: the read models and %s belong together again", EVENTS_STREAM)
        self.other_stream = None

    async def _other_stream(self, problem: str, now: StreamNow, stop: asyncio.Event) -> None:
        """Models that are not the stream's: rebuild them from it, or refuse and wait for someone who will."""
        self.caught_up.clear()
        if self.rebuild_on_other_stream and now.exists:
            log.warning("projector: %s; rebuilding the read models from the stream there now", problem)
            self.other_stream = problem
            done = await rebuild(self.nc, self.gens, self.models)
            log.info("projector: rebuilt %d facts up to sequence %d", done.facts, done.checkpoint)
            return
        if problem != self.other_stream:
            advice = "waiting for it" if not now.exists else "applying nothing until `hiscrm projections rebuild`"
            log.error("projector: %s; %s", problem, advice)
        self.other_stream = problem
        await self._pause(stop)

    def _swapped(self, env: ModelEnv) -> bool:
        """Whether CURRENT names another directory than the open one, however either path is spelled
        (the link's target is relative to the root; the environment's path is resolved)."""
        current = self.gens.current()
        return current is None or current.resolve() != env.path.resolve()

    async def _follow(self, env: ModelEnv, now: StreamNow, stop: asyncio.Event) -> None:
        applier = Applier(env)
        applier.built_from = now.identity
        self.checkpoint = env.checkpoint()
        feed = await until_stopped(Feed.open(self.nc, from_seq=self.checkpoint + 1), stop)
        if feed is None:
            return
        log.info("projector: %s from sequence %d", env.path, self.checkpoint + 1)
        checked = time.monotonic()
        try:
            while not stop.is_set():
                batch = await feed.batch(self.batch_size, timeout=0.5)
                if time.monotonic() - checked >= self.check_every_s or (batch and applier.built_from is None):
                    # Before anything it received is applied: is it still the stream the models came from?
                    # If the broker cannot say (a leader election), start over from the checkpoint once it can.
                    try:
                        asked = await until_stopped(stream_now(self.nc), stop)
                    except UNANSWERED as exc:
                        log.warning("projector: cannot read %s (%r); resuming from the checkpoint", EVENTS_STREAM, exc)
                        return
                    if asked is None:
                        return
                    now, checked = asked, time.monotonic()
                    applier.built_from = now.identity
                    if env_mismatch(env, now) is not None:
                        return
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
