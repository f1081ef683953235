"""Login and reply requests through the coordinator: commands to the assigned worker, refusals as facts,
expiry, and a login success reaching the worker's config without an old revision ever coming back."""

from __future__ import annotations

import asyncio
import time

import msgspec

from hiscrm.coordinator.service import Coordinator
from hiscrm.facts import catalogue as c
from hiscrm.facts.messages import AccountConfig, LoginStart, ReplySend
from hiscrm.facts.subjects import CONFIG_BUCKET
from hiscrm.store.event_store import EventStore
from tests.conftest import eventually
from tests.coordinator.conftest import RunningWorker, StartWorker
from tests.coordinator.coordinator_helpers import create_accounts, facts_of


def in_ms(seconds: float) -> int:
    return int((time.time() + seconds) * 1000)


async def assigned_worker(store: EventStore, start_worker: StartWorker, account_id: str = "acc") -> RunningWorker:
    worker = await start_worker("w1")
    await create_accounts(store, [account_id])
    await eventually(lambda: account_id in worker.held)
    return worker


async def test_a_login_success_reaches_the_config_and_never_goes_back(
    nc, store: EventStore, coordinator: Coordinator, start_worker: StartWorker
) -> None:
    worker = await assigned_worker(store, start_worker)
    # Every value the key takes, as the bucket stores them, not only what the worker keeps.
    bucket = await nc.jetstream().key_value(CONFIG_BUCKET)
    raw = await bucket.watch("w1.acc", include_history=True)

    expires = in_ms(300)
    await store.append(c.LoginRequested(login_id="L1", account_id="acc", expires_at_ms=expires))
    await eventually(lambda: worker.handler.commands, what="login_start at the worker")
    assert worker.handler.commands == [LoginStart(login_id="L1", account_id="acc", expires_at_ms=expires)]

    for n in range(10):  # successes in quick succession, as repeated logins would give
        await store.append(
            c.LoginSucceeded(
                login_id="L1" if n == 0 else f"L1-{n}",
                account_id="acc",
                profile=c.Profile(uid=f"uid-{n}"),
                sealed_credentials=f"s1:sealed-{n}",
            )
        )
    await eventually(lambda: worker.handler.configs["acc"].sealed_credentials == "s1:sealed-9")
    config = worker.handler.configs["acc"]
    assert config.logged_in and config.platform_user_id == "uid-9"

    revisions = [cfg.revision for cfg in worker.handler.history]
    assert revisions == sorted(set(revisions)), revisions
    stored: list[int] = []
    while True:
        entry = await raw.updates(timeout=1)
        if entry is None:
            continue
        if entry.value:
            stored.append(msgspec.json.decode(entry.value, type=AccountConfig).revision)
        if stored and stored[-1] == config.revision:
            break
    await raw.stop()
    assert stored == sorted(stored), stored


async def test_login_commands_go_to_the_assigned_worker_or_fail_with_a_reason(
    nc, store: EventStore, coordinator: Coordinator, start_worker: StartWorker
) -> None:
    worker = await assigned_worker(store, start_worker)
    await create_accounts(store, ["lonely", "gone"], platform="xhs")  # no worker runs xhs
    await store.append(c.AccountDeleted(account_id="gone"))

    await store.append(c.LoginRequested(login_id="ok", account_id="acc", expires_at_ms=in_ms(300)))
    await store.append(c.LoginRequested(login_id="waits", account_id="lonely", expires_at_ms=in_ms(300)))
    await store.append(c.LoginRequested(login_id="nobody", account_id="ghost", expires_at_ms=in_ms(300)))
    await store.append(c.LoginRequested(login_id="deleted", account_id="gone", expires_at_ms=in_ms(300)))
    await eventually(lambda: [cmd.login_id for cmd in worker.handler.commands] == ["ok"])

    async def failures() -> dict[str, c.LoginFailed]:
        return {f.login_id: f for f in await facts_of(nc, c.LoginFailed)}

    failed: dict[str, c.LoginFailed] = {}
    for _ in range(100):
        failed = await failures()
        if len(failed) == 2:
            break
        await asyncio.sleep(0.05)
    assert failed["nobody"].code == "unknown_account"
    assert failed["deleted"].code == "account_deleted"
    # Issue 13, finding 10: a login asked for before a worker of its platform is live waits for one
    # (within its window) rather than failing at once with no_worker, as it did right after a start.
    late = await start_worker("late", platforms=("xhs",))
    await eventually(lambda: "lonely" in late.held)
    await eventually(lambda: [cmd.login_id for cmd in late.handler.commands] == ["waits"], what="the waiting login")
    assert set(await failures()) == {"nobody", "deleted"}


async def test_a_login_that_waits_its_whole_window_for_a_worker_fails_saying_so(
    nc, store: EventStore, coordinator: Coordinator, start_worker: StartWorker
) -> None:
    worker = await assigned_worker(store, start_worker)
    await create_accounts(store, ["lonely"], platform="xhs")
    await store.append(c.LoginRequested(login_id="short", account_id="lonely", expires_at_ms=in_ms(1.0)))
    await store.append(c.LoginRequested(login_id="served", account_id="acc", expires_at_ms=in_ms(1.0)))
    await eventually(lambda: "short" not in coordinator.state.logins, timeout=10, what="the login ends")
    await eventually(lambda: "served" not in coordinator.state.logins, timeout=10, what="the served login ends")
    [failed] = await facts_of(nc, c.LoginFailed)
    assert (failed.login_id, failed.code) == ("short", "no_worker")
    assert "no live worker runs platform 'xhs'" in failed.reason and "before the login expired" in failed.reason
    assert [f.login_id for f in await facts_of(nc, c.LoginExpired)] == ["served"]  # it had a worker
    assert [cmd.login_id for cmd in worker.handler.commands] == ["served"]


async def test_a_lapsed_login_expires_once(nc, store: EventStore, start_coordinator, start_worker: StartWorker) -> None:  # type: ignore[no-untyped-def]
    # Two coordinators: whichever leads expires the session, and only one fact is recorded.
    first, second = await start_coordinator("c1"), await start_coordinator("c2")
    await eventually(lambda: first.term_started_ms or second.term_started_ms)
    worker = await assigned_worker(store, start_worker)
    await store.append(c.LoginRequested(login_id="short", account_id="acc", expires_at_ms=in_ms(1.0)))
    await eventually(lambda: worker.handler.commands)
    await eventually(lambda: "short" not in first.state.logins, timeout=5, what="login.expired folded")
    await asyncio.sleep(0.5)
    expired = await facts_of(nc, c.LoginExpired)
    assert [f.login_id for f in expired] == ["short"]
    assert await facts_of(nc, c.LoginFailed) == []


async def test_replies_go_to_the_worker_or_fail(
    nc, store: EventStore, coordinator: Coordinator, start_worker: StartWorker
) -> None:
    worker = await assigned_worker(store, start_worker)
    await create_accounts(store, ["off"])
    await store.append(c.AccountUpdated(account_id="off", status="disabled"))
    request = dict(target_type="comment", target_id="cm1", content="谢谢支持")
    await store.append(c.ReplyRequested(reply_id="r1", account_id="acc", request_id="q1", **request))  # type: ignore[arg-type]
    await store.append(c.ReplyRequested(reply_id="r2", account_id="off", request_id="q2", **request))  # type: ignore[arg-type]
    await eventually(lambda: worker.handler.commands)
    assert worker.handler.commands == [
        ReplySend(
            reply_id="r1", request_id="q1", account_id="acc", target_type="comment", target_id="cm1", content="谢谢支持"
        )
    ]
    for _ in range(100):
        failed = await facts_of(nc, c.ReplyFailed)
        if failed:
            break
        await asyncio.sleep(0.05)
    assert [(f.reply_id, f.code) for f in failed] == [("r2", "account_disabled")]
