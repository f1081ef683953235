"""Live DMs through the whole worker: a DM sent on the site while the account's chat page is open is
appended without any pass (the account's interval is an hour), and the next pass, asked for, finds
nothing new: both paths share the dedupe index."""

from __future__ import annotations

import asyncio

from hiscrm.facts.catalogue import AccountCrawlRequested, MessageObserved, SnapshotSynced
from hiscrm.facts.subjects import aggregate_filter
from hiscrm.sandbox.state import World
from tests.worker.conftest import KITCHEN, Cluster, Sandbox, all_facts, wait_for_facts


async def test_a_dm_is_observed_live_and_not_again_by_the_next_pass(  # type: ignore[no-untyped-def]
    nc, store, cluster: Cluster, sandbox: Sandbox
) -> None:
    # An interval no test outlasts: after the first pass, only the live path can observe a new DM.
    cluster.start_worker()
    await cluster.logged_in("kitchen", KITCHEN, interval=3600)
    await wait_for_facts(nc, SnapshotSynced, timeout=90)
    world = sandbox.world
    peer = next(iter(world.conversations_of[KITCHEN]))
    await watching(nc, store, world, peer)
    before = len(await passes(nc))

    dm = world.add_message(peer, KITCHEN, "老师，周末的课还有位置吗？")
    stranger = world.add_user("路过的粉丝")
    first = world.add_message(stranger.uid, KITCHEN, "第一次私信，打扰啦")
    live = await wait_for_facts(nc, MessageObserved, 2, where=lambda m: m.message_id in (dm.msg_id, first.msg_id))
    assert {m.direction for m in live} == {"inbound"} and not any(m.baseline for m in live)
    assert {m.sender.name for m in live} == {world.users[peer].nickname, "路过的粉丝"}
    assert len(await passes(nc)) == before  # no pass ran: they came from the page's push

    # The next pass reads both again and finds nothing new: one index for both paths.
    await store.append(AccountCrawlRequested(account_id="kitchen"))
    synced = await wait_for_facts(nc, SnapshotSynced, before + 1, timeout=90)
    assert synced[-1].new_counts.messages == 0 and synced[-1].new_counts.conversations == 0
    ids = [r.fact.message_id for r in await all_facts(nc, INBOX) if isinstance(r.fact, MessageObserved)]
    assert ids.count(dm.msg_id) == 1 and ids.count(first.msg_id) == 1


INBOX = aggregate_filter("inbox", "kitchen")


async def passes(nc) -> list[SnapshotSynced]:  # type: ignore[no-untyped-def]
    return [r.fact for r in await all_facts(nc, INBOX) if isinstance(r.fact, SnapshotSynced)]


async def watching(nc, store, world: World, peer: str) -> None:  # type: ignore[no-untyped-def]
    """Until the worker's chat page is watching. The socket the sandbox sees may still be the pass's own
    page, closing; a first DM observed proves the watch. Should that one be missed, a pass (asked for,
    and awaited to its end) observes it, and the watch has long been open by then."""
    for _ in range(300):
        if world.message_listeners:
            break
        await asyncio.sleep(0.1)
    warm = world.add_message(peer, KITCHEN, "在吗")
    try:
        await wait_for_facts(nc, MessageObserved, where=lambda m: m.message_id == warm.msg_id, timeout=15)
    except AssertionError:
        await store.append(AccountCrawlRequested(account_id="kitchen"))
        await wait_for_facts(nc, SnapshotSynced, 2, timeout=90)
