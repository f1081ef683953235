"""`hiscrm doctor --account A` as a user runs it: against an account whose config a worker would hold,
all green on the sandbox, the drifted expectation named (exit 1) and recorded as account.adapter_drift,
then recorded as cleared once it holds again; the same drift found twice is recorded once."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest

from hiscrm.cli.doctor_cmd import record_drift
from hiscrm.facts.catalogue import AccountAdapterDrift
from hiscrm.facts.messages import AccountConfig
from hiscrm.facts.subjects import CONFIG_BUCKET, config_key, event_subject
from hiscrm.platforms.base import Finding
from hiscrm.sandbox.model import Variants
from hiscrm.sandbox.seed import demo_world
from hiscrm.sandbox.state import World
from hiscrm.secrets.keystore import KeyStore
from hiscrm.secrets.sealing import new_key
from hiscrm.store.broker import EmbeddedBroker
from hiscrm.store.event_store import EventStore
from tests.conftest import hiscrm_cli
from tests.platforms.conftest import logged_in_state
from tests.sandbox.sandbox_helpers import serving
from tests.worker.conftest import all_facts


@pytest.fixture
async def sandbox() -> AsyncIterator[tuple[str, World]]:
    world = demo_world()
    async with serving(world) as base:
        yield base, world


async def test_doctor_reports_and_records_drift(  # type: ignore[no-untyped-def]
    broker: EmbeddedBroker, nc, store: EventStore, sandbox: tuple[str, World], tmp_path: Path
) -> None:
    base, world = sandbox
    master = new_key()
    keys = KeyStore(nc, master)
    await keys.create("kitchen")
    sealed = await keys.seal_for("kitchen", msgspec.json.encode(logged_in_state(world, base)))
    config = AccountConfig(account_id="kitchen", worker_id="w1", platform="douyin", account_name="厨房",
                           monitor_interval=30, logged_in=True, sealed_credentials=sealed)  # fmt: skip
    bucket = await nc.jetstream().key_value(CONFIG_BUCKET)
    await bucket.put(config_key("w1", "kitchen"), msgspec.json.encode(config))
    env = {"HISCRM_MASTER_KEY": base64.b64encode(master).decode()}
    args = ("doctor", "--account", "kitchen", "--json", "--nats-url", broker.url, "--base-url", base)

    async def doctor() -> tuple[int, dict]:
        done = await asyncio.to_thread(hiscrm_cli, *args, "--data-dir", str(tmp_path / "d"), env=env, timeout=180)
        assert done.stdout, done.stderr
        return done.returncode, json.loads(done.stdout)

    code, green = await doctor()
    assert code == 0 and green["broken"] == 0 and not green["recorded"]
    assert {f["status"] for f in green["findings"]} == {"holds", "not_checked"}

    world.variants = Variants(item_time="iso")
    code, drifted = await doctor()
    assert code == 1 and drifted["recorded"]
    assert [f["name"] for f in drifted["findings"] if f["status"] == "broken"] == ["works.item_time"]
    world.variants = Variants()
    code, cleared = await doctor()
    assert code == 0 and cleared["recorded"]

    recorded = [r.fact for r in await all_facts(nc, event_subject("account", "kitchen", AccountAdapterDrift.event))]
    assert [[b.name for b in f.broken] for f in recorded] == [["works.item_time"], []]
    assert recorded[0].platform == "douyin" and recorded[0].holding > 30

    # The same drift found again is not recorded again; a different one is.
    drift = [Finding(name="works.item_time", kind="format", page="/", value="", source="public", status="broken")]
    assert await record_drift(store, "other", "douyin", drift)
    assert not await record_drift(store, "other", "douyin", drift)
    assert await record_drift(store, "other", "douyin", [])
    assert not await record_drift(store, "other", "douyin", [])


async def test_doctor_names_an_unknown_account(broker: EmbeddedBroker, nc, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    args = ("doctor", "--account", "nobody", "--nats-url", broker.url, "--data-dir", str(tmp_path))
    done = await asyncio.to_thread(hiscrm_cli, *args)
    assert done.returncode == 2 and "account nobody has no config" in done.stderr and "Traceback" not in done.stderr
    bad = await asyncio.to_thread(hiscrm_cli, "doctor", "--account", "a.b", "--nats-url", broker.url)
    assert bad.returncode == 2 and "contains a dot" in bad.stderr
