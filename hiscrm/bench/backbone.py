"""Append and projection throughput, each against the raw nats-py limit on the same payloads."""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from nats.aio.client import Client

from hiscrm.bench.workload import facts
from hiscrm.errors import HiscrmError
from hiscrm.facts import codec
from hiscrm.facts.base import Fact
from hiscrm.facts.subjects import ALL_EVENTS
from hiscrm.projector.rebuild import build_into
from hiscrm.store.connection import HiscrmClient
from hiscrm.store.event_store import EventStore
from hiscrm.store.feed import Feed
from projections import MODELS


async def raw_publish(nc: Client, outs: list[codec.Outgoing], window: int) -> float:
    """Plain nats-py async publish of already-encoded messages: the ceiling for appending."""
    js = nc.jetstream(publish_async_max_pending=window)
    start = time.perf_counter()
    futures = [await js.publish_async(o.subject, o.payload, headers=o.headers) for o in outs]
    await asyncio.gather(*futures)
    return len(outs) / (time.perf_counter() - start)


async def store_append(store: EventStore, batch: list[Fact]) -> float:
    start = time.perf_counter()
    await store.append_many(batch)
    return len(batch) / (time.perf_counter() - start)


async def measure_append(nc: Client, count: int, rounds: int) -> dict[str, float]:
    """Alternate raw and store rounds on fresh slices of the same workload; keep each side's best."""
    store = EventStore(nc)
    workload = list(facts(count * rounds * 2, accounts=50, seed=11))
    raw_best = ours_best = 0.0
    for r in range(rounds):
        raw_slice = workload[2 * r * count : (2 * r + 1) * count]
        ours_slice = workload[(2 * r + 1) * count : (2 * r + 2) * count]
        # Encoded up front: the raw side pays nothing for building messages, as a raw limit should.
        outs = [codec.encode(f) for f in raw_slice]
        raw_best = max(raw_best, await raw_publish(nc, outs, store.window))
        ours_best = max(ours_best, await store_append(store, ours_slice))
    return {
        "facts_per_s": round(ours_best),
        "raw_publish_per_s": round(raw_best),
        "ratio": round(ours_best / raw_best, 3),
    }


async def raw_read(nc: Client, expected: int) -> float:
    """A plain ordered-consumer read of the whole stream, counting messages: the ceiling for projecting."""
    js = nc.jetstream()
    done = asyncio.Event()
    seen = 0

    async def count(msg) -> None:  # type: ignore[no-untyped-def]
        nonlocal seen
        seen += 1
        if seen >= expected:
            done.set()

    start = time.perf_counter()
    sub = await js.subscribe(ALL_EVENTS, cb=count, ordered_consumer=True, pending_msgs_limit=-1, pending_bytes_limit=-1)
    await done.wait()
    elapsed = time.perf_counter() - start
    await sub.unsubscribe()
    return expected / elapsed


async def feed_read(nc: HiscrmClient, expected: int) -> float:
    """The projector's own read path (hiscrm/store/feed.py) with nothing applied: what is left is apply."""
    feed = await Feed.open(nc, from_seq=1)
    try:
        start = time.perf_counter()
        seen = 0
        while seen < expected:
            batch = await feed.batch(10_000, timeout=10)
            if not batch:
                raise HiscrmError(f"the stream stopped delivering after {seen} of {expected} facts")
            seen += len(batch)
        return expected / (time.perf_counter() - start)
    finally:
        await feed.close()


async def measure_projection(nc: HiscrmClient, rounds: int) -> dict[str, float]:
    js = nc.jetstream()
    total = (await js.stream_info("HISCRM_EVENTS")).state.messages
    raw_best = ours_best = feed_best = 0.0
    for _ in range(rounds):
        raw_best = max(raw_best, await raw_read(nc, total))
        feed_best = max(feed_best, await feed_read(nc, total))
        with tempfile.TemporaryDirectory(prefix="hiscrm-bench-") as tmp:
            start = time.perf_counter()
            _, applied = await build_into(nc, Path(tmp) / "models", MODELS)
            ours_best = max(ours_best, applied / (time.perf_counter() - start))
    return {
        "facts": total,
        "facts_per_s": round(ours_best),
        "raw_read_per_s": round(raw_best),
        "ratio": round(ours_best / raw_best, 3),
        "feed_read_per_s": round(feed_best),
    }
