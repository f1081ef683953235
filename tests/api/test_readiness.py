"""/health and /ready (issue 13, findings 5 and 10): a client can tell when every part is up, instead of
meeting `no_worker` right after a start, and /health is not "ok" over read models of another stream."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
import pytest

from hiscrm.api.local_workers import WorkerSpec
from hiscrm.coordinator.service import Coordinator
from hiscrm.facts import catalogue as c
from hiscrm.facts.messages import Presence
from hiscrm.facts.subjects import EVENTS_STREAM, PRESENCE_BUCKET, presence_key
from hiscrm.store import kv, streams
from tests.api.api_client import Api
from tests.conftest import STREAMS_DIR, eventually


async def ready(api: Api) -> tuple[int, dict[str, Any]]:
    answer = await api.call("GET", "/ready", token=None)
    return answer.status_code, answer.json()


@pytest.fixture
async def coordinator(api: Api) -> Any:
    leader = Coordinator(api.store.nc, api.services.master_key, coordinator_id="c-ready")
    stop = asyncio.Event()
    task = asyncio.create_task(leader.run(stop))
    yield leader
    stop.set()
    await asyncio.wait_for(task, 15)


async def test_ready_names_each_part_and_answers_503_until_all_are_up(api: Api, coordinator: Coordinator) -> None:
    async def leading() -> dict[str, Any] | None:
        status, body = await ready(api)
        return body if status == 200 else None

    body = await eventually(leading, "a coordinator leads and nothing else is missing", 20)
    assert body["broker"]["up"] and body["read_models"]["up"] and body["read_models"]["lag"] == 0
    assert "c-ready leads" in body["coordinator"]["detail"]
    assert body["workers"] == {"up": True, "detail": "no worker is live (none required)", "live": [], "required": False}

    # This API now runs a local worker, which is not live until it says so on its presence key.
    await api.local.start(WorkerSpec(worker_id="local-1", platforms=["douyin"], max_accounts=1))
    status, body = await ready(api)
    assert status == 503 and body["ready"] is False
    assert body["workers"]["required"] is True and body["workers"]["up"] is False and body["workers"]["live"] == []
    health = (await api.call("GET", "/health", token=None)).json()
    assert health["status"] == "ok" and health["ready"] is False  # the API itself is fine

    presence = Presence(worker_id="local-1", platforms=["douyin"], max_accounts=1)
    await kv.put(api.store.js, PRESENCE_BUCKET, presence_key("local-1"), msgspec.json.encode(presence))
    status, body = await ready(api)
    assert status == 200 and body["workers"]["live"] == ["local-1"]
    assert (await api.call("GET", "/health", token=None)).json()["ready"] is True


async def test_without_a_coordinator_it_is_not_ready(api: Api) -> None:
    status, body = await ready(api)
    assert status == 503 and body["coordinator"] == {"up": False, "detail": "no coordinator holds the lease"}
    assert body["read_models"]["up"] and body["broker"]["up"]


async def test_health_is_degraded_over_read_models_of_another_stream(api: Api) -> None:
    await api.create_account("shop1")
    health = (await api.call("GET", "/health", token=None)).json()
    assert health["status"] == "ok" and health["problems"] == []

    deleted = await streams.api(api.store.nc, f"STREAM.DELETE.{EVENTS_STREAM}")
    assert deleted.get("success"), deleted
    await streams.apply(api.store.nc, STREAMS_DIR)
    await api.store.append(c.AccountCreated(account_id="shop2", platform="douyin", account_name="新的"))

    async def degraded() -> dict[str, Any] | None:
        found = (await api.call("GET", "/health", token=None)).json()
        return found if found["status"] == "degraded" else None

    health = await eventually(degraded, "/health notices the other stream", 20)
    assert "another HISCRM_EVENTS" in health["problems"][0]
    status, body = await ready(api)
    assert status == 503 and body["read_models"]["up"] is False
    assert "another HISCRM_EVENTS" in body["read_models"]["detail"]
    # A write is not reported visible on models that count another stream's sequences.
    body = {"platform": "douyin", "account_name": "x", "account_id": "shop3"}
    assert (await api.call("POST", "/api/v1/accounts", json=body)).status_code == 202
