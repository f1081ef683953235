"""Appends are idempotent and optionally conditional; facts read back by sequence, time and subject."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from hiscrm.errors import ConcurrencyConflict, StoreUnavailable
from hiscrm.facts import catalogue as c
from hiscrm.facts import codec
from hiscrm.facts.codec import Recorded
from hiscrm.store import reader, streams
from hiscrm.store.connection import connect
from hiscrm.store.event_store import AppendUnavailable, EventStore
from tests.conftest import STREAMS_DIR


def created(account_id: str = "acc1") -> c.AccountCreated:
    return c.AccountCreated(account_id=account_id, platform="douyin", account_name="店铺一号")


async def test_a_repeated_append_returns_the_original_sequence(store: EventStore) -> None:
    first = await store.append(created(), msg_id="create-acc1")
    again = await store.append(created(), msg_id="create-acc1")
    assert not first.duplicate and again.duplicate
    assert again.seq == first.seq
    facts = [r async for r in reader.read(store.nc)]
    assert len(facts) == 1


async def test_a_stale_expected_sequence_is_a_conflict(store: EventStore) -> None:
    a = await store.append(created(), expected_last_seq=0)
    await store.append(c.AccountUpdated(account_id="acc1", monitor_interval=60), expected_last_seq=a.seq)
    with pytest.raises(ConcurrencyConflict, match=r"hiscrm\.evt\.account\.acc1\.\*"):
        await store.append(c.AccountUpdated(account_id="acc1", monitor_interval=90), expected_last_seq=a.seq)
    # Other aggregates do not count against this one.
    await store.append(created("acc2"), expected_last_seq=0)
    assert await store.last_seq("account", "acc1") == a.seq + 1
    assert await store.last_seq("account", "nobody") == 0


async def test_a_retried_conditional_append_that_already_landed_is_a_duplicate(store: EventStore) -> None:
    fact = created()
    first = await store.append(fact, expected_last_seq=0, msg_id="decision-1")
    again = await store.append(fact, expected_last_seq=0, msg_id="decision-1")
    assert again.duplicate and again.seq == first.seq


async def test_decide_retries_until_the_decision_holds(store: EventStore) -> None:
    await store.append(created())
    calls = 0

    async def assign_once(history: list[Recorded]) -> list[c.AccountAssigned]:
        nonlocal calls
        calls += 1
        if calls == 1:
            # Another coordinator assigns between our read and our append.
            await store.append(c.AccountAssigned(account_id="acc1", worker_id="w2"))
        if any(isinstance(r.fact, c.AccountAssigned) for r in history):
            return []
        return [c.AccountAssigned(account_id="acc1", worker_id="w1")]

    done = await store.decide("account", "acc1", assign_once)
    assert done == [] and calls == 2
    history = await store.history("account", "acc1")
    assert [type(r.fact).__name__ for r in history] == ["AccountCreated", "AccountAssigned"]
    assert history[1].fact.worker_id == "w2"


async def test_concurrent_deciders_never_both_win(store: EventStore) -> None:
    await store.append(created())

    def assign(worker: str):  # type: ignore[no-untyped-def]
        def decision(history: list[Recorded]) -> list[c.AccountAssigned]:
            if any(isinstance(r.fact, c.AccountAssigned) for r in history):
                return []
            return [c.AccountAssigned(account_id="acc1", worker_id=worker)]

        return decision

    results = await asyncio.gather(*(store.decide("account", "acc1", assign(f"w{i}")) for i in range(6)))
    assert sum(len(r) for r in results) == 1
    assigned = [r for r in await store.history("account", "acc1") if isinstance(r.fact, c.AccountAssigned)]
    assert len(assigned) == 1


async def test_batches_are_pipelined_and_read_back_in_order(store: EventStore) -> None:
    facts = [c.CommentRead(account_id=f"acc{i % 3}", comment_id=f"c{i}") for i in range(500)]
    done = await store.append_many(facts)
    assert [d.seq for d in done] == list(range(1, 501))
    back = [r async for r in reader.read(store.nc)]
    assert [r.fact for r in back] == facts
    # By subject: one account's inbox only.
    acc1 = [r async for r in reader.read(store.nc, subject="hiscrm.evt.inbox.acc1.>")]
    assert [r.fact for r in acc1] == [f for f in facts if f.account_id == "acc1"]
    # By sequence range.
    middle = [r.seq async for r in reader.read(store.nc, from_seq=100, to_seq=110)]
    assert middle == list(range(100, 111))
    # A filter that matches nothing ends at once instead of waiting.
    assert [r async for r in reader.read(store.nc, subject="hiscrm.evt.reply.>")] == []


async def test_read_by_time(store: EventStore) -> None:
    await store.append_many([created(f"old{i}") for i in range(3)])
    await asyncio.sleep(0.05)
    cut = dt.datetime.now(dt.UTC)
    await asyncio.sleep(0.05)
    await store.append_many([created(f"new{i}") for i in range(2)])
    after = [r.fact.account_id async for r in reader.read(store.nc, from_time=cut)]
    assert after == ["new0", "new1"]


async def test_follow_sees_facts_appended_later(store: EventStore) -> None:
    seen: list[int] = []

    async def follow() -> None:
        async for item in reader.read(store.nc, follow=True):
            seen.append(item.seq)
            if len(seen) == 3:
                return

    task = asyncio.create_task(follow())
    await asyncio.sleep(0.2)
    for i in range(3):
        await store.append(created(f"a{i}"))
    await asyncio.wait_for(task, 5)
    assert seen == [1, 2, 3]


async def test_headers_carry_the_envelope(store: EventStore) -> None:
    await store.append(created(), msg_id="m-1", correlation_id="corr", causation_id="cause")
    msg = await store.js.get_msg("HISCRM_EVENTS", 1)
    assert msg.headers[codec.MSG_ID] == "m-1"
    assert msg.headers[codec.EVENT] == "account.created"
    assert msg.headers[codec.SCHEMA] == "1"
    assert msg.headers[codec.CORRELATION] == "corr"
    assert msg.headers[codec.CAUSATION] == "cause"


async def test_several_filter_subjects_read_together_in_stream_order(store: EventStore) -> None:
    await store.append(created("a1"))
    await store.append(c.CommentRead(account_id="a1", comment_id="c1"))
    await store.append(c.WorkerStopped(worker_id="w1"))
    await store.append(created("a2"))
    got = [r.seq async for r in reader.read(store.nc, subject=["hiscrm.evt.account.>", "hiscrm.evt.worker.>"])]
    assert got == [1, 3, 4]


async def test_an_append_waits_for_a_stream_to_answer_and_is_stored_once(broker) -> None:  # type: ignore[no-untyped-def]
    # A broker with no stream yet answers a publish as a replicated stream does while it elects a leader.
    nc = await connect([broker.url], "test-early")
    try:
        # With nothing answering for the whole bound, the caller gets an error that says so, not a hang.
        with pytest.raises(StoreUnavailable, match=r"hiscrm\.evt\.account\.acc2\.created within 0\.5 s"):
            await EventStore(nc, ack_timeout=0.5).append(created("acc2"))

        waiting = asyncio.create_task(EventStore(nc, ack_timeout=30).append(created(), expected_last_seq=0))
        await asyncio.sleep(0.5)
        assert not waiting.done()
        await streams.apply(nc, STREAMS_DIR)
        appended = await asyncio.wait_for(waiting, 30)
        stored = [(r.seq, r.subject) async for r in reader.read(nc)]
        assert stored == [(appended.seq, "hiscrm.evt.account.acc1.created")]
    finally:
        await nc.close()


async def test_appends_in_a_batch_wait_for_a_stream_to_answer(broker) -> None:  # type: ignore[no-untyped-def]
    nc = await connect([broker.url], "test-early-batch")
    try:
        with pytest.raises(AppendUnavailable, match=r"acknowledged 0 of 2 appends within 0\.5 s") as refused:
            await EventStore(nc, ack_timeout=0.5).append_many([created("acc8"), created("acc9")])
        assert refused.value.done == [None, None]

        waiting = asyncio.create_task(EventStore(nc, ack_timeout=30).append_many([created("a"), created("b")]))
        await asyncio.sleep(0.5)
        assert not waiting.done()
        await streams.apply(nc, STREAMS_DIR)
        done = await asyncio.wait_for(waiting, 30)
        stored = [(r.seq, r.subject) async for r in reader.read(nc)]
        assert stored == [(d.seq, f"hiscrm.evt.account.{a}.created") for d, a in zip(done, "ab", strict=True)]
    finally:
        await nc.close()
