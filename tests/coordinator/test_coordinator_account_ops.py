"""The coordinator's part in account operations: SMS codes and crawl requests handed to the account's
worker as commands, a pin honoured (and waited on while its worker is away), a logout and crawler
switches reaching the worker's config."""

from __future__ import annotations

import time

from hiscrm.coordinator.service import Coordinator
from hiscrm.facts import catalogue as c
from hiscrm.facts.messages import CrawlNow, LoginSmsCode, LoginStart
from hiscrm.store.event_store import EventStore
from tests.conftest import eventually
from tests.coordinator.conftest import StartWorker
from tests.coordinator.coordinator_helpers import create_accounts


def of(kind: type, commands: list) -> list:
    return [cmd for cmd in commands if isinstance(cmd, kind)]


async def test_sms_codes_and_crawl_requests_reach_the_accounts_worker(
    store: EventStore, coordinator: Coordinator, start_worker: StartWorker
) -> None:
    worker = await start_worker("w1")
    await create_accounts(store, ["acc"])
    await eventually(lambda: "acc" in worker.held)
    expires = int((time.time() + 300) * 1000)
    await store.append(c.LoginRequested(login_id="L1", account_id="acc", expires_at_ms=expires))
    await eventually(lambda: of(LoginStart, worker.handler.commands), what="login_start")
    first = await store.append(c.LoginSmsCodeSubmitted(login_id="L1", account_id="acc", sealed_code="s1:one"))
    second = await store.append(c.LoginSmsCodeSubmitted(login_id="L1", account_id="acc", sealed_code="s1:two"))
    await eventually(lambda: len(of(LoginSmsCode, worker.handler.commands)) == 2, what="both codes")
    assert of(LoginSmsCode, worker.handler.commands) == [
        LoginSmsCode(login_id="L1", account_id="acc", sealed_code="s1:one", seq=first.seq),
        LoginSmsCode(login_id="L1", account_id="acc", sealed_code="s1:two", seq=second.seq),
    ]

    await store.append(c.AccountCrawlRequested(account_id="acc", by="ops"))
    await eventually(lambda: of(CrawlNow, worker.handler.commands), what="crawl_now")
    assert of(CrawlNow, worker.handler.commands) == [CrawlNow(account_id="acc", reason="requested")]
    # A code for a session that ended goes nowhere.
    await store.append(c.LoginExpired(login_id="L1", account_id="acc"))
    await store.append(c.LoginSmsCodeSubmitted(login_id="L1", account_id="acc", sealed_code="s1:late"))
    await store.append(c.AccountCrawlRequested(account_id="acc", by="ops"))
    await eventually(lambda: len(of(CrawlNow, worker.handler.commands)) == 2, what="the second crawl_now")
    assert len(of(LoginSmsCode, worker.handler.commands)) == 2


async def test_a_pinned_account_waits_for_its_worker(
    store: EventStore, coordinator: Coordinator, start_worker: StartWorker
) -> None:
    w1 = await start_worker("w1")
    await create_accounts(store, ["acc", "other"])
    await eventually(lambda: {"acc", "other"} <= w1.held)
    await store.append(c.AccountPinned(account_id="acc", worker_id="w2"))
    await eventually(lambda: "acc" not in w1.held, what="acc let go by w1")
    await eventually(
        lambda: (coordinator.plan.unplaced.get("acc") or "").endswith("w2, which is offline"), what="the reason"
    )
    assert "other" in w1.held  # unpinned accounts stay
    w2 = await start_worker("w2")
    await eventually(lambda: "acc" in w2.held, what="acc on w2 once it is live")
    await store.append(c.AccountPinned(account_id="acc", worker_id=None))
    assert "acc" in w2.held


async def test_logout_and_switches_reach_the_config(
    store: EventStore, coordinator: Coordinator, start_worker: StartWorker
) -> None:
    worker = await start_worker("w1")
    await create_accounts(store, ["acc"])
    await eventually(lambda: "acc" in worker.held)
    profile = c.Profile(uid="u1")
    await store.append(c.LoginSucceeded(login_id="L1", account_id="acc", profile=profile, sealed_credentials="s1:x"))
    await eventually(lambda: worker.handler.configs["acc"].logged_in, what="logged in")
    await store.append(c.AccountUpdated(account_id="acc", crawl=c.CrawlSwitches(dms=False)))
    await eventually(lambda: not worker.handler.configs["acc"].crawl.dms, what="switches")
    await store.append(c.AccountLoggedOut(account_id="acc", by="ops"))
    await eventually(lambda: not worker.handler.configs["acc"].logged_in, what="logged out")
    config = worker.handler.configs["acc"]
    assert config.sealed_credentials is None and config.crawl == c.CrawlSwitches(dms=False)
