"""Live DMs through the whole worker: a DM sent on the site while the account's chat page is open is
appended at once, before the next pass (the monitor interval is the default 30 s), and that pass,
asked for right after, finds nothing new: both paths share the dedupe index."""

from __future__ import annotations

import asyncio

from hiscrm.facts.catalogue import AccountCrawlRequested, MessageObserved, SnapshotSynced
from hiscrm.facts.subjects import aggregate_filter
from hiscrm.sandbox.state import World
from tests.worker.conftest import KITCHEN, Cluster, Sandbox, all_facts, wait_for_facts


async def push_socket_open(world: World) -> None:
    """Until the worker's chat page holds the sandbox's push socket."""
    for _ in range(300):
        if world.message_listeners:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("no chat page opened the push socket")


async def test_a_dm_is_observed_live_and_not_again_by_the_next_pass(  # type: ignore[no-untyped-def]
    nc, store, cluster: Cluster, sandbox: Sandbox
) -> None:
    cluster.start_worker()
    await cluster.logged_in("kitchen", KITCHEN, interval=30)
    await wait_for_facts(nc, SnapshotSynced, timeout=90)
    world = sandbox.world
    await push_socket_open(world)

    peer = next(iter(world.conversations_of[KITCHEN]))
    dm = world.add_message(peer, KITCHEN, "老师，周末的课还有位置吗？")
    stranger = world.add_user("路过的粉丝")
    first = world.add_message(stranger.uid, KITCHEN, "第一次私信，打扰啦")
    live = await wait_for_facts(nc, MessageObserved, 2, where=lambda m: m.message_id in (dm.msg_id, first.msg_id))
    inbox = await all_facts(nc, aggregate_filter("inbox", "kitchen"))
    passes = [r for r in inbox if isinstance(r.fact, SnapshotSynced)]
    arrived = [r for r in inbox if isinstance(r.fact, MessageObserved) and r.fact.message_id == dm.msg_id]
    assert len(passes) == 1 and arrived[0].seq > passes[0].seq  # between passes: from the page's push
    assert {m.direction for m in live} == {"inbound"} and not any(m.baseline for m in live)
    assert {m.sender.name for m in live} == {world.users[peer].nickname, "路过的粉丝"}

    await store.append(AccountCrawlRequested(account_id="kitchen"))
    synced = await wait_for_facts(nc, SnapshotSynced, 2, timeout=90)
    assert synced[1].new_counts.messages == 0 and synced[1].new_counts.conversations == 0
    again = [
        r for r in await all_facts(nc, aggregate_filter("inbox", "kitchen")) if isinstance(r.fact, MessageObserved)
    ]
    ids = [r.fact.message_id for r in again]
    assert ids.count(dm.msg_id) == 1 and ids.count(first.msg_id) == 1
