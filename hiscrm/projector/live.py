"""Reading the live read models from another component (the API), across generation swaps."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

from hiscrm.projector.model import ReadModel, Tx
from hiscrm.projector.storage import Generations, ModelEnv, release_env, shared_env


class LiveModels:
    """The current generation, reopened when a rebuild swaps in a new one."""

    def __init__(self, root: Path, models: list[ReadModel]) -> None:
        self.gens = Generations(root)
        self.models = models
        self._env: ModelEnv | None = None
        self._path: Path | None = None
        self._link = str(self.gens.link)
        self._target: str | None = None

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

    @contextlib.contextmanager
    def read(self) -> Iterator[Tx]:
        """A consistent snapshot of every model for the length of the block."""
        env = self._current()
        with env.read() as txn:
            yield env.tx(txn)

    def checkpoint(self) -> int:
        return self._current().checkpoint()

    def dead_letter_count(self) -> int:
        return self._current().dead_letter_count()

    async def wait_for(self, seq: int, timeout: float = 2.0) -> bool:
        """True once the projector has applied `seq`; False after `timeout` (the write is then 202)."""
        deadline = time.monotonic() + timeout
        delay = 0.0005
        while self.checkpoint() < seq:
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.005)
        return True

    def close(self) -> None:
        if self._env is not None:
            release_env(self._env)
            self._env = self._path = None
