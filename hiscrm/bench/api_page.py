"""api_page: the unified inbox, 20 items of an account holding 10,000, against a trivial route on the same server.

The API runs as its own process and the load generator as another (hiscrm/bench/http_client.py), so
neither measures the other. Rounds alternate the trivial route (GET /api/im/version: same auth,
envelope and middleware, no read) with the page; each side keeps its best round.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import TYPE_CHECKING

from hiscrm.facts import catalogue as c
from hiscrm.projector.live import LiveModels
from hiscrm.store.event_store import EventStore

if TYPE_CHECKING:
    from hiscrm.bench.stack import Stack  # stack runs these measurements

ACCOUNT = "bench-page"
ITEMS = 10_000
PING = "/api/im/version"
PAGE = f"/api/im/unified-messages?account_id={ACCOUNT}&count=20"
# Longer than a projector takes to start and apply one batch (2,000 facts) on a busy machine.
STALL_S = 60.0


def inbox(n: int) -> list[c.Fact]:
    """Comments, replies and DMs, as a crawler would have recorded them over time."""
    person = c.Person(user_id="fan", name="Fan", avatar="https://img.test/fan.png")
    me = c.Person(user_id="me", name="Shop")
    facts: list[c.Fact] = [c.AccountCreated(account_id=ACCOUNT, platform="douyin", account_name="Bench")]
    for i in range(n):
        t = 1_760_000_000_000 + i * 1000
        if i % 3 == 2:
            facts.append(
                c.MessageObserved(
                    account_id=ACCOUNT, message_id=f"m{i}", conversation_id=f"cv{i % 50}", sender=person,
                    receiver=me, direction="inbound", content=f"message {i}", create_time_ms=t,
                )
            )  # fmt: skip
        else:
            facts.append(
                c.CommentObserved(
                    account_id=ACCOUNT, comment_id=f"c{i}", content_id=f"v{i % 20}", text=f"comment {i}",
                    author=person, create_time_ms=t, parent_comment_id=f"c{i - 1}" if i % 3 == 1 else None,
                    content_title="Work",
                )
            )  # fmt: skip
    return facts


async def _generate(
    stack: Stack, path: str, seconds: float, connections: int, first: int = 0, cycle: int = 1
) -> dict[str, float]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hiscrm.bench.http_client", stack.url, path, stack.im_token, str(seconds),
        str(connections), str(first), str(cycle), stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, _ = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"the load generator failed on {path}")
    return json.loads(out)


async def seed(store: EventStore, models: LiveModels) -> None:
    await project(store, models, inbox(ITEMS))


async def project(store: EventStore, models: LiveModels, facts: list[c.Fact]) -> None:
    """Append `facts` and wait until the projector has applied them."""
    done = await store.append_many(facts)
    await caught_up(models, done[-1].seq, "the benchmark's facts")


async def caught_up(models: LiveModels, seq: int, what: str) -> None:
    """Wait until the projector has applied `seq`, for as long as it keeps applying: a loaded machine
    slows a replay down without bound, so only a checkpoint standing still for STALL_S fails the bench."""
    last, since = -1, time.monotonic()
    while not await models.wait_for(seq, 1):
        at = models.checkpoint()
        if at != last:
            last, since = at, time.monotonic()
        elif time.monotonic() - since > STALL_S:
            raise RuntimeError(
                f"the projector stopped at fact {at} of {seq} ({what}) and applied nothing for {STALL_S:.0f} s"
            )


async def measure(stack: Stack, quick: bool) -> dict[str, float]:
    return await against_ping(stack, PAGE, quick)


async def against_ping(stack: Stack, path: str, quick: bool, cycle: int = 1) -> dict[str, float]:
    """`path` against the trivial route, rounds alternating, each side's best round. A `path` with `{n}`
    walks n through 0..cycle-1, each round going on where the last stopped (http_client.load)."""
    seconds, rounds, connections = (2.0, 2, 8) if quick else (4.0, 3, 8)
    ping: dict[str, float] = {"req_per_s": 0.0}
    page: dict[str, float] = {"req_per_s": 0.0}
    first = 0
    for _ in range(rounds):
        ping = max(ping, await _generate(stack, PING, seconds, connections), key=lambda r: r["req_per_s"])
        done = await _generate(stack, path, seconds, connections, first, cycle)
        first += int(done["requests"])
        page = max(page, done, key=lambda r: r["req_per_s"])
    return {
        "req_per_s": round(page["req_per_s"]),
        "ping_req_per_s": round(ping["req_per_s"]),
        "ratio": round(page["req_per_s"] / ping["req_per_s"], 3),
        "p99_ms": round(page["p99_ms"], 2),
    }
