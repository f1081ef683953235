"""Reading the live read models from another component (the API), across generation swaps."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from nats.aio.client import Client

from hiscrm.facts.subjects import EVENTS_STREAM
from hiscrm.projector.model import ReadModel, Tx
from hiscrm.projector.origin import StreamNow, env_mismatch, stream_now
from hiscrm.projector.storage import Generations, ModelEnv, release_env, shared_env


class Snapshot:
    """`with models.read() as tx:` — a read transaction for the block. A plain class rather than a
    generator context manager: every API request opens one, and the generator's machinery cost more."""

    __slots__ = ("env", "txn")

    def __init__(self, env: ModelEnv) -> None:
        self.env = env

    def __enter__(self) -> Tx:
        self.txn = self.env.read()
        return self.env.tx(self.txn)

    def __exit__(self, *exc: object) -> None:
        self.txn.abort()


class LiveModels:
    """The current generation, reopened when a rebuild swaps in a new one.

    With `nc`, it also knows whether the models belong to the HISCRM_EVENTS there now (origin.py):
    asked at most every `check_every_s`, so a write's wait costs no extra request most of the time.
    """

    def __init__(
        self, root: Path, models: list[ReadModel], nc: Client | None = None, check_every_s: float = 1.0
    ) -> None:
        self.gens = Generations(root)
        self.models = models
        self.nc = nc
        self.check_every_s = check_every_s
        self._env: ModelEnv | None = None
        self._path: Path | None = None
        self._link = str(self.gens.link)
        self._target: str | None = None
        self._stream: StreamNow | None = None
        self._stream_at = 0.0

    def _current(self) -> ModelEnv:
        # Every API read passes here: one readlink, compared as text, is the whole cost while the
        # generation stays the same (building Paths each time was a noticeable part of a page).
        try:
            target: str | None = os.readlink(self._link)
        except FileNotFoundError:
            target = None
        if self._env is not None and target == self._target:
            return self._env
        if target is None:
            self.gens.ensure_current()
            target = os.readlink(self._link)
        path, self._target = self.gens.root / target, target
        if path != self._path:
            if self._env is not None:
                release_env(self._env)
            self._env, self._path = shared_env(path, self.models), path
        assert self._env is not None
        return self._env

    def read(self) -> Snapshot:
        """A consistent snapshot of every model for the length of the `with` block."""
        return Snapshot(self._current())

    def checkpoint(self) -> int:
        return self._current().checkpoint()

    def dead_letter_count(self) -> int:
        return self._current().dead_letter_count()

    async def wait_for(self, seq: int, timeout: float = 2.0) -> bool:
        """True once the projector has applied `seq`; False after `timeout` (the write is then 202), and
        False at once for models of another stream, whose checkpoint says nothing about `seq`."""
        deadline = time.monotonic() + timeout
        delay = 0.0005
        # A fact just appended is normally beyond the checkpoint. If it is not, the projector was quick,
        # or the models count another stream's sequences: only a fresh look at the stream tells which.
        fresh = self.checkpoint() >= seq
        while self.checkpoint() < seq:
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.005)
        return (await self.origin(fresh))[1] is None

    async def stream_now(self, fresh: bool = False) -> StreamNow:
        """HISCRM_EVENTS as last seen, at most `check_every_s` ago (or now, if `fresh`). Needs `nc`."""
        assert self.nc is not None, "LiveModels was made without a NATS connection"
        if fresh or self._stream is None or time.monotonic() - self._stream_at >= self.check_every_s:
            self._stream, self._stream_at = await stream_now(self.nc), time.monotonic()
        return self._stream

    async def origin(self, fresh: bool = False) -> tuple[StreamNow | None, str | None]:
        """The stream as last seen (None if it could not be read) and why the live models do not belong
        to it (None when they do). Without `nc` nothing is checked: (None, None)."""
        if self.nc is None:
            return None, None
        try:
            now = await self.stream_now(fresh)
            problem = env_mismatch(self._current(), now)
            if problem is not None and not fresh:
                # The stream seen a moment ago may predate what the models now hold (its first fact).
                now = await self.stream_now(fresh=True)
                problem = env_mismatch(self._current(), now)
        except Exception as exc:  # the broker is away or slow: nothing can be said to match
            return None, f"cannot read {EVENTS_STREAM}: {exc!r}"
        return now, problem

    async def other_stream(self) -> str | None:
        """Why the live models do not belong to the stream there now, or None when they do (or without `nc`)."""
        return (await self.origin())[1]

    def close(self) -> None:
        if self._env is not None:
            release_env(self._env)
            self._env = self._path = None
