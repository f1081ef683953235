"""Rebuilding read models from the stream, and verifying the live ones against a rebuild."""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import msgspec

from hiscrm.errors import HiscrmError
from hiscrm.facts.subjects import EVENTS_STREAM
from hiscrm.projector.applier import Applier
from hiscrm.projector.model import ReadModel
from hiscrm.projector.origin import env_mismatch, stream_now
from hiscrm.projector.storage import Generations, ModelEnv, WriterLock, model_versions
from hiscrm.store.connection import HiscrmClient
from hiscrm.store.feed import Feed

Progress = Callable[[int, int], None]


class Rebuilt(msgspec.Struct, frozen=True):
    path: str
    checkpoint: int
    facts: int
    swapped: bool


def _require_empty(path: Path) -> None:
    if path.exists() and any(path.iterdir()):
        raise HiscrmError(f"{path} is not empty; a rebuild needs a fresh directory")


async def build_into(
    nc: HiscrmClient,
    path: Path,
    models: list[ReadModel],
    *,
    until_seq: int | None = None,
    until_time: dt.datetime | None = None,
    progress: Progress | None = None,
    batch_size: int = 10_000,
) -> tuple[int, int]:
    """Replay the stream from its start into fresh models at `path`; returns (checkpoint, facts).

    Nothing reads the result until this returns (a rebuild that dies is thrown away, and the next
    one needs an empty directory), so commits skip the flush to disk and one sync at the end
    makes the whole generation durable before anyone can swap it in.
    """
    _require_empty(path)
    now = await stream_now(nc)
    if not now.exists:
        raise HiscrmError(f"cannot rebuild: stream {EVENTS_STREAM} does not exist")
    head = now.head
    stop_seq = head if until_seq is None else min(until_seq, head)
    until_ms = None if until_time is None else int(until_time.timestamp() * 1000)
    env = ModelEnv(path, models, durable=False)
    lock = WriterLock(path)
    lock.acquire()
    try:
        applier = Applier(env)
        applier.built_from = now.identity
        # An empty stream still gets a checkpoint and versions, so the result is a valid generation.
        await asyncio.to_thread(applier.apply_batch, [])
        applied = await _replay(nc, applier, stop_seq, until_ms, progress, batch_size) if stop_seq else 0
        await asyncio.to_thread(env.sync)
        return env.checkpoint(), applied
    finally:
        lock.release()
        env.close()


async def _replay(
    nc: HiscrmClient, applier: Applier, stop_seq: int, until_ms: int | None, progress: Progress | None, batch_size: int
) -> int:
    """Apply the stream from its start up to `stop_seq` (or `until_ms`); returns how many facts were applied."""
    applied = checkpoint = 0
    feed = await Feed.open(nc, from_seq=1)
    try:
        while checkpoint < stop_seq:
            batch = await feed.batch(batch_size, timeout=10)
            if not batch:
                raise HiscrmError(f"the stream stopped delivering at sequence {checkpoint} of {stop_seq}")
            done = False
            keep = []
            for raw in batch:
                if raw.seq > stop_seq or (until_ms is not None and raw.time_ms > until_ms):
                    done = True
                    break
                keep.append(raw)
            if keep:
                checkpoint = await asyncio.to_thread(applier.apply_batch, keep)
                applied += len(keep)
            if progress is not None:
                progress(checkpoint, stop_seq)
            if done:
                break
    finally:
        await feed.close()
    return applied


async def rebuild(
    nc: HiscrmClient,
    gens: Generations,
    models: list[ReadModel],
    *,
    into: Path | None = None,
    until_seq: int | None = None,
    until_time: dt.datetime | None = None,
    progress: Progress | None = None,
) -> Rebuilt:
    """Build aside; unless `into` is given, swap the result in as the live generation."""
    target = into if into is not None else gens.next_path()
    try:
        checkpoint, facts = await build_into(
            nc, target, models, until_seq=until_seq, until_time=until_time, progress=progress
        )
    except BaseException:
        if into is None:
            shutil.rmtree(target, ignore_errors=True)
        raise
    if into is None:
        gens.swap(target)
        gens.prune()
    return Rebuilt(str(target), checkpoint, facts, swapped=into is None)


def first_difference(live: ModelEnv, fresh: ModelEnv) -> str | None:
    """Describe the first (table, key) where the two generations differ, or None."""
    a, b = live.items(), fresh.items()
    while True:
        x, y = next(a, None), next(b, None)
        if x is None and y is None:
            return None
        if x is None:
            return f"table {y[0]}: key {y[1]!r} exists only in the rebuild"  # type: ignore[index]
        if y is None:
            return f"table {x[0]}: key {x[1]!r} exists only in the live models"
        if x[:2] != y[:2]:
            first = min(x[:2], y[:2])
            side = "live models" if first == x[:2] else "rebuild"
            return f"table {first[0]}: key {first[1]!r} exists only in the {side}"
        if x[2] != y[2]:
            return f"table {x[0]}: key {x[1]!r} differs (live {len(x[2])} bytes, rebuild {len(y[2])} bytes)"


async def verify(nc: HiscrmClient, gens: Generations, models: list[ReadModel]) -> tuple[int, str | None]:
    """Rebuild aside up to the live checkpoint and compare; returns (checkpoint, first difference)."""
    live_path = gens.current()
    if live_path is None:
        raise HiscrmError(f"no live read models under {gens.root}; run the projector first")
    # A copy taken under a read transaction is a consistent snapshot even while the projector writes.
    with tempfile.TemporaryDirectory(prefix="hiscrm-verify-") as tmp:
        snapshot = Path(tmp) / "live"
        snapshot.mkdir()
        live = ModelEnv(live_path, models, readonly=True)
        try:
            await asyncio.to_thread(live.env.copy, str(snapshot))
        finally:
            live.close()
        live = ModelEnv(snapshot, models, readonly=True)
        try:
            checkpoint = live.checkpoint()
            stored = live.stored_versions()
            if stored is not None and stored != model_versions(models):
                return checkpoint, (
                    f"the live models were built by other model versions ({stored}, this release has "
                    f"{model_versions(models)}); run `hiscrm projections rebuild`"
                )
            other = env_mismatch(live, await stream_now(nc))
            if other is not None:
                return checkpoint, f"{other}; run `hiscrm projections rebuild`"
            fresh_path = Path(tmp) / "fresh"
            await build_into(nc, fresh_path, models, until_seq=checkpoint)
            fresh = ModelEnv(fresh_path, models, readonly=True)
            try:
                return checkpoint, await asyncio.to_thread(first_difference, live, fresh)
            finally:
                fresh.close()
        finally:
            live.close()
