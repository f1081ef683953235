"""Assignment against a real broker: test workers (the real agent), presence expiry, config keys, status."""

from __future__ import annotations

import time

import msgspec

from hiscrm.coordinator.service import Coordinator
from hiscrm.facts import catalogue as c
from hiscrm.facts.messages import AccountConfig, CoordinatorStatus
from hiscrm.facts.subjects import CONFIG_BUCKET, COORDINATOR_STATUS, PRESENCE_BUCKET
from hiscrm.store.event_store import EventStore
from tests.conftest import eventually
from tests.coordinator.conftest import StartWorker
from tests.coordinator.coordinator_helpers import (
    all_facts,
    assert_never_assigned_twice,
    create_accounts,
    facts_of,
)


async def config_keys(nc) -> dict[str, AccountConfig]:  # type: ignore[no-untyped-def]
    bucket = await nc.jetstream().key_value(CONFIG_BUCKET)
    watcher = await bucket.watchall(ignore_deletes=True)
    found = {}
    async for entry in watcher:
        if entry is None:
            break
        found[entry.key] = msgspec.json.decode(entry.value, type=AccountConfig)
    await watcher.stop()
    return found


async def test_two_workers_share_25_accounts_and_a_crash_moves_them(
    nc, store: EventStore, coordinator: Coordinator, start_worker: StartWorker
) -> None:
    a = await start_worker("wa", platforms=("douyin", "xhs"), max_accounts=30)
    b = await start_worker("wb", platforms=("douyin",), max_accounts=12)
    xhs = [f"x{i}" for i in range(5)]
    douyin = [f"d{i:02d}" for i in range(20)]
    await create_accounts(store, xhs, platform="xhs")
    await create_accounts(store, douyin)

    await eventually(lambda: len(a.held) + len(b.held) == 25, what="all 25 accounts running")
    assert not a.held & b.held
    assert set(xhs) <= a.held  # only wa runs xhs
    assert len(b.held) <= 12 and abs(len(a.held) - len(b.held)) <= 1
    keys = await config_keys(nc)
    assert set(keys) == {f"wa.{x}" for x in a.held} | {f"wb.{x}" for x in b.held}
    assert all(k == f"{cfg.worker_id}.{cfg.account_id}" and cfg.revision > 0 for k, cfg in keys.items())

    held_by_b = set(b.held)
    crashed = time.monotonic()
    await b.crash()
    await eventually(lambda: a.held == set(xhs) | set(douyin), timeout=35, what="wb's accounts on wa")
    assert time.monotonic() - crashed < 3.0 + 5.0  # presence TTL plus a little
    assert set(await config_keys(nc)) == {f"wa.{x}" for x in xhs + douyin}

    history = await all_facts(nc)
    assert_never_assigned_twice(history)
    offline = [f for f in await facts_of(nc, c.WorkerWentOffline) if f.worker_id == "wb"]
    assert len(offline) == 1
    moved = [r.fact for r in history if isinstance(r.fact, c.AccountUnassigned) and r.fact.worker_id == "wb"]
    assert {f.account_id for f in moved} == held_by_b
    assert all(f.reason == "worker wb is gone" for f in moved)


async def test_unplaceable_accounts_are_reported_and_placed_when_room_appears(
    nc, store: EventStore, coordinator: Coordinator, start_worker: StartWorker
) -> None:
    small = await start_worker("small", max_accounts=3)
    await create_accounts(store, [f"d{i}" for i in range(5)])
    await create_accounts(store, ["x0"], platform="xhs")
    await eventually(lambda: len(small.held) == 3)

    presence = await nc.jetstream().key_value(PRESENCE_BUCKET)

    async def status() -> CoordinatorStatus:
        return msgspec.json.decode((await presence.get(COORDINATOR_STATUS)).value, type=CoordinatorStatus)

    await eventually(lambda: len(coordinator.plan.unplaced) == 3)
    seen = await status()
    assert seen.coordinator_id == "c1"
    assert [(w.worker_id, w.accounts, w.max_accounts) for w in seen.workers] == [("small", 3, 3)]
    assert seen.unassigned["x0"] == "no live worker runs platform 'xhs'"
    full = [a for a in seen.unassigned if a != "x0"]
    assert len(full) == 2 and all("at max_accounts" in seen.unassigned[a] for a in full)

    other = await start_worker("other", platforms=("douyin", "xhs"), max_accounts=10)
    await eventually(lambda: len(small.held) + len(other.held) == 6, what="everything placed")
    assert len(small.held) == 3 and "x0" in other.held
    await eventually(lambda: coordinator.plan.unplaced == {})
    assert_never_assigned_twice(await all_facts(nc))


async def test_config_follows_updates_disabling_and_a_clean_stop(
    nc, store: EventStore, coordinator: Coordinator, start_worker: StartWorker
) -> None:
    one = await start_worker("one")
    await create_accounts(store, ["acc"])
    await eventually(lambda: "acc" in one.held)
    await store.append(c.AccountUpdated(account_id="acc", monitor_interval=90, account_name="新名字"))
    await eventually(lambda: one.handler.configs["acc"].monitor_interval == 90)
    assert one.handler.configs["acc"].account_name == "新名字"
    await store.append(c.AccountUpdated(account_id="acc", status="disabled"))
    await eventually(lambda: one.handler.configs["acc"].status == "disabled")
    revisions = [cfg.revision for cfg in one.handler.history]
    assert revisions == sorted(set(revisions))

    two = await start_worker("two")
    await one.stop()  # clean: worker.stopped, presence deleted; no went_offline
    await store.append(c.AccountUpdated(account_id="acc", status="active"))
    await eventually(lambda: "acc" in two.held, what="acc on the remaining worker")
    assert [f.worker_id for f in await facts_of(nc, c.WorkerStopped)] == ["one"]
    assert await facts_of(nc, c.WorkerWentOffline) == []
    assert_never_assigned_twice(await all_facts(nc))
