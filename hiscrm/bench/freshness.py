"""freshness_ms: from the append of a `comment_observed` to the comment being returned by the unified inbox.

Comments are appended at a steady 1,000 a second (5 every 5 ms) while one client reads the newest
100 items of that account's inbox in a loop over a kept-alive connection; each comment's latency is
the time from just before its append to the first answer that contains it. The projector and the
API run as their own processes, as deployed.
"""

from __future__ import annotations

import asyncio
import time
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


class _Item(msgspec.Struct):
    msg_id: str


class _Data(msgspec.Struct):
    messages: list[_Item]


class _Page(msgspec.Struct):
    data: _Data


async def measure(store: EventStore, stack: Stack, quick: bool) -> dict[str, float]:
    seconds = 3.0 if quick else 10.0
    total = int(RATE * seconds)
    await store.append(c.AccountCreated(account_id=ACCOUNT, platform="douyin", account_name="Fresh"))
    appended: dict[str, float] = {}
    seen: dict[str, float] = {}
    done = asyncio.Event()

    async def append() -> None:
        author = c.Person(user_id="fan", name="Fan")
        per_tick = int(RATE * TICK_S)
        start = time.perf_counter()
        for tick in range(total // per_tick):
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

    async def poll() -> None:
        client = await KeepAlive.open(stack.url, stack.im_token)
        # 100 newest: a poll delayed by a busy machine still finds every comment that arrived meanwhile.
        request = client.request(f"/api/im/unified-messages?account_id={ACCOUNT}&count=100")
        decoder = msgspec.json.Decoder(_Page)
        try:
            # Until the last comment shows; one never among the newest 100 when polled is missed.
            while not (done.is_set() and last in seen):
                status, body = await client.send(request)
                at = time.perf_counter()
                if status != 200:  # the account itself is not in the models yet
                    continue
                for item in decoder.decode(body).data.messages:
                    seen.setdefault(item.msg_id, at)
        finally:
            await client.close()

    last = f"f{total // int(RATE * TICK_S) - 1}-{int(RATE * TICK_S) - 1}"
    poller = asyncio.create_task(poll())
    await append()
    done.set()
    await asyncio.wait_for(poller, 30)
    samples = [(seen[i] - t) * 1000 for i, t in appended.items() if i in seen]
    return {
        "facts": total,
        "missed": total - len(samples),
        "p50": round(percentile(samples, 50), 2),
        "p99": round(percentile(samples, 99), 2),
    }
