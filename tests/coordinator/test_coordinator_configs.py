"""hiscrm_config as the facts say: a new leader reconciles stray and stale keys; proxy edits reach workers."""

from __future__ import annotations

import msgspec

from hiscrm.facts import catalogue as c
from hiscrm.facts.messages import AccountConfig, ProxyConfig
from hiscrm.facts.subjects import CONFIG_BUCKET, PROXIES_BUCKET, config_key
from hiscrm.store.event_store import EventStore
from tests.conftest import eventually
from tests.coordinator.conftest import StartCoordinator, StartWorker
from tests.coordinator.coordinator_helpers import create_accounts, facts_of


def stale(account_id: str, worker_id: str, name: str) -> bytes:
    config = AccountConfig(
        account_id=account_id, worker_id=worker_id, platform="douyin", account_name=name, monitor_interval=5, revision=1
    )
    return msgspec.json.encode(config)


async def test_a_new_leader_removes_stray_keys_and_rewrites_stale_ones(
    nc, store: EventStore, start_coordinator: StartCoordinator, start_worker: StartWorker
) -> None:  # type: ignore[no-untyped-def]
    await create_accounts(store, ["acc"])
    await store.append(c.AccountAssigned(account_id="acc", worker_id="w1"))
    bucket = await nc.jetstream().key_value(CONFIG_BUCKET)
    await bucket.put(config_key("w1", "acc"), stale("acc", "w1", "old name"))
    await bucket.put(config_key("w1", "ghost"), stale("ghost", "w1", "nobody"))
    await bucket.put(config_key("w9", "acc"), stale("acc", "w9", "elsewhere"))
    worker = await start_worker("w1")
    assert worker.held == {"acc", "ghost"}

    await start_coordinator()
    await eventually(lambda: worker.held == {"acc"} and worker.handler.configs["acc"].account_name == "账号 acc")
    assert worker.handler.configs["acc"].revision > 1
    assert sorted(await bucket.keys()) == ["w1.acc"]


async def test_a_proxy_edit_reaches_the_worker_with_a_higher_revision(
    nc, store: EventStore, start_coordinator: StartCoordinator, start_worker: StartWorker
) -> None:  # type: ignore[no-untyped-def]
    proxies = await nc.jetstream().key_value(PROXIES_BUCKET)
    await proxies.put("p1", msgspec.json.encode(ProxyConfig(proxy_id="p1", server="10.0.0.1:8080")))
    await start_coordinator()
    worker = await start_worker("w1")
    await store.append(c.AccountCreated(account_id="acc", platform="douyin", account_name="a", proxy_id="p1"))
    await eventually(lambda: "acc" in worker.held)
    first = worker.handler.configs["acc"]
    assert first.proxy == ProxyConfig(proxy_id="p1", server="10.0.0.1:8080")

    await proxies.put("p1", msgspec.json.encode(ProxyConfig(proxy_id="p1", server="10.0.0.2:3128", protocol="socks5")))
    await eventually(lambda: worker.handler.configs["acc"].proxy.server == "10.0.0.2:3128")  # type: ignore[union-attr]
    assert worker.handler.configs["acc"].revision > first.revision
    updates = [f for f in await facts_of(nc, c.AccountUpdated) if f.account_id == "acc"]
    assert [f.proxy_id for f in updates] == ["p1"]  # the fact that carries the new revision
