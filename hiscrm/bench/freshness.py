"""freshness_ms: from the append of a `comment_observed` to the comment being returned by the unified inbox.

Comments are appended at a steady 1,000 a second (5 every 5 ms) while readers watch for them: one client
reads the newest 100 items of that account's inbox in a loop over a kept-alive connection (freshness_ms),
and others may follow the same comments another way (hiscrm/bench/live_feed.py). Each comment's latency
is the time from just before its append to the moment a reader first has it. The projector and the API
run as their own processes, as deployed.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import msgspec

from hiscrm.bench.http_client import KeepAlive, percentile
from hiscrm.facts import catalogue as c
from hiscrm.store.event_store import EventStore

if TYPE_CHECKING:
    from hiscrm.bench.stack import Stack  # stack runs these measurements

ACCOUNT = "bench-fresh"
RATE = 1000
TICK_S = 0.005

# A reader fills `seen` (comment id → when it first had it) until it has `last`; it sets `opened` once
# anything appended from then on will reach it.
Reader = Callable[["Stack", dict[str, float], asyncio.Event, str], Awaitable[None]]


class _Item(msgspec.Struct):
    msg_id: str


class _Data(msgspec.Struct):
    messages: list[_Item]


class _Page(msgspec.Struct):
    data: _Data


async def poll_unified(stack: Stack, seen: dict[str, float], opened: asyncio.Event, last: str) -> None:
    client = await KeepAlive.open(stack.url, stack.im_token)
    # 100 newest: a poll delayed by a busy machine still finds every comment that arrived meanwhile.
    request = client.request(f"/api/im/unified-messages?account_id={ACCOUNT}&count=100")
    decoder = msgspec.json.Decoder(_Page)
    opened.set()
    try:
        # Until the last comment shows; one never among the newest 100 when polled is missed.
        while last not in seen:
            status, body = await client.send(request)
            at = time.perf_counter()
            if status != 200:  # the account itself is not in the models yet
                continue
            for item in decoder.decode(body).data.messages:
                seen.setdefault(item.msg_id, at)
    finally:
        await client.close()


async def _stop(tasks: list[asyncio.Task[None]], wait_s: float) -> None:
    """Give the readers `wait_s` to finish, then stop the rest; a reader that failed fails the bench."""
    _, late = await asyncio.wait(tasks, timeout=wait_s) if wait_s else (set(), set(tasks))
    for task in late:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    for task in tasks:
        if not task.cancelled():
            task.result()


async def measure(store: EventStore, stack: Stack, quick: bool, readers: dict[str, Reader]) -> dict[str, dict]:
    """One figure per reader, all over the same appended comments."""
    seconds = 3.0 if quick else 10.0
    per_tick = int(RATE * TICK_S)
    ticks = int(RATE * seconds) // per_tick
    total = ticks * per_tick
    await store.append(c.AccountCreated(account_id=ACCOUNT, platform="douyin", account_name="Fresh"))
    appended: dict[str, float] = {}
    last = f"f{ticks - 1}-{per_tick - 1}"
    seen: dict[str, dict[str, float]] = {name: {} for name in readers}
    opened = {name: asyncio.Event() for name in readers}
    tasks = [asyncio.create_task(read(stack, seen[name], opened[name], last)) for name, read in readers.items()]
    ready = asyncio.ensure_future(asyncio.gather(*(e.wait() for e in opened.values())))
    await asyncio.wait([ready, *tasks], timeout=30, return_when=asyncio.FIRST_COMPLETED)
    if not ready.done():
        ready.cancel()
        await _stop(tasks, 0)  # raises the error of a reader that could not start
        raise RuntimeError("the readers did not start within 30 s")

    author = c.Person(user_id="fan", name="Fan")
    start = time.perf_counter()
    try:
        for tick in range(ticks):
            await asyncio.sleep(max(0.0, start + tick * TICK_S - time.perf_counter()))
            batch = [f"f{tick}-{k}" for k in range(per_tick)]
            now = time.perf_counter()
            facts = [
                c.CommentObserved(
                    account_id=ACCOUNT, comment_id=i, content_id="v1", text=i, author=author,
                    create_time_ms=int(time.time() * 1000),
                )
                for i in batch
            ]  # fmt: skip
            appended.update(dict.fromkeys(batch, now))
            await store.append_many(facts)
    except BaseException:
        await _stop(tasks, 0)
        raise
    # A reader that never gets the last comment is stopped after a while; what it missed is counted.
    await _stop(tasks, 30)
    out: dict[str, dict] = {}
    for name in readers:
        samples = [(seen[name][i] - t) * 1000 for i, t in appended.items() if i in seen[name]]
        out[name] = {
            "facts": total,
            "missed": total - len(samples),
            "p50": round(percentile(samples, 50), 2),
            "p99": round(percentile(samples, 99), 2),
        }
    return out
