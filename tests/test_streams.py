"""streams/*.json are exactly what the JetStream API takes; apply is idempotent; the buckets work."""

from __future__ import annotations

import asyncio
import json

import nats
import pytest

from hiscrm.facts import subjects
from hiscrm.store import streams
from hiscrm.store.connection import connect
from tests.conftest import STREAMS_DIR


async def test_each_file_is_accepted_unchanged_by_a_raw_create_request(broker) -> None:  # type: ignore[no-untyped-def]
    nc = await connect([broker.url], "raw")
    try:
        for path in sorted(STREAMS_DIR.glob("*.json")):
            config = json.loads(path.read_text())
            reply = await nc.request(f"$JS.API.STREAM.CREATE.{config['name']}", path.read_bytes(), timeout=5)
            answer = json.loads(reply.data)
            assert "error" not in answer, (path.name, answer)
            assert answer["config"]["subjects"] == config["subjects"]
    finally:
        await nc.close()


async def test_apply_creates_then_reports_unchanged_then_updates_drift(broker) -> None:  # type: ignore[no-untyped-def]
    nc = await connect([broker.url], "apply")
    try:
        first = await streams.apply(nc, STREAMS_DIR)
        assert {r["action"] for r in first} == {"created"}
        assert {r["name"] for r in first} == {
            subjects.EVENTS_STREAM,
            subjects.COMMANDS_STREAM,
            f"KV_{subjects.CONFIG_BUCKET}",
            f"KV_{subjects.PRESENCE_BUCKET}",
            f"KV_{subjects.KEYS_BUCKET}",
            f"KV_{subjects.PROXIES_BUCKET}",
        }
        second = await streams.apply(nc, STREAMS_DIR)
        assert {r["action"] for r in second} == {"unchanged"}
        await nc.request(
            "$JS.API.STREAM.UPDATE.HISCRM_COMMANDS",
            json.dumps(
                {**json.loads((STREAMS_DIR / "HISCRM_COMMANDS.json").read_text()), "max_age": 7200 * 10**9}
            ).encode(),
        )
        third = {r["name"]: r["action"] for r in await streams.apply(nc, STREAMS_DIR)}
        assert third["HISCRM_COMMANDS"] == "updated (max_age)"
        rows = {r["name"]: r for r in await streams.status(nc, STREAMS_DIR)}
        assert rows["HISCRM_EVENTS"]["exists"] and rows["HISCRM_EVENTS"]["drift"] == []
        assert rows["HISCRM_COMMANDS"]["kind"] == "workqueue"
        assert rows["KV_hiscrm_config"]["kind"] == "kv"
    finally:
        await nc.close()


async def test_event_stream_keeps_facts_forever_and_refuses_deletes(nc) -> None:  # type: ignore[no-untyped-def]
    info = await nc.jetstream().stream_info(subjects.EVENTS_STREAM)
    assert info.config.max_age in (0, None)
    assert info.config.deny_delete and info.config.allow_direct
    assert info.config.duplicate_window == 120
    ack = await nc.jetstream().publish("hiscrm.evt.worker.w1.stopped", b"{}")
    with pytest.raises(nats.js.errors.APIError):
        await nc.jetstream().delete_msg(subjects.EVENTS_STREAM, ack.seq)


async def test_buckets_work_through_the_kv_api(nc) -> None:  # type: ignore[no-untyped-def]
    js = nc.jetstream()
    config = await js.key_value(subjects.CONFIG_BUCKET)
    key = subjects.config_key("w1", "acc1")
    rev = await config.put(key, b'{"interval": 30}')
    assert (await config.get(key)).value == b'{"interval": 30}'
    watcher = await config.watch(subjects.worker_config_keys("w1"))
    first = await asyncio.wait_for(watcher.updates(), 2)
    assert first is not None and first.key == key and first.revision == rev
    await watcher.stop()

    presence = await js.key_value(subjects.PRESENCE_BUCKET)
    watch = await presence.watch(">")
    assert await asyncio.wait_for(watch.updates(), 2) is None  # nothing there yet
    await presence.create(subjects.presence_key("w9"), b"alive", msg_ttl=1)
    put = await asyncio.wait_for(watch.updates(), 2)
    assert put.key == "w9" and put.operation is None
    # Expiry is pushed to watchers as a marker: nobody has to poll for a dead worker.
    gone = await asyncio.wait_for(watch.updates(), 10)
    assert gone.key == "w9" and gone.operation in ("PURGE", "DEL")
    await watch.stop()
