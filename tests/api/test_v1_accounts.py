"""Accounts: create, read your writes, update only what changed, delete destroys the key and keeps history."""

from __future__ import annotations

import time

from hiscrm.facts import catalogue as c
from tests.api.api_client import Api

ACCOUNT_FIELDS = {
    "id",
    "platform",
    "account_name",
    "status",
    "login_status",
    "platform_user_id",
    "user_info",
    "assigned_worker_id",
    "monitor_interval",
    "proxy_id",
    "has_credentials",
    "login_id",
    "trouble",
    "pinned_worker_id",
    "crawl",
    "health",
    "adapter_drift",
    "waiting_reason",
    "created_at",
    "updated_at",
}


async def test_a_created_account_is_readable_at_once(api: Api) -> None:
    before = int(time.time() * 1000)
    created = await api.create_account("shop1", monitor_interval=15, platform_user_id="7001")
    assert set(created) == ACCOUNT_FIELDS
    assert created["id"] == "shop1" and created["platform"] == "douyin" and created["monitor_interval"] == 15
    assert created["status"] == "active" and created["login_status"] == "not_logged_in"
    assert created["assigned_worker_id"] is None and created["has_credentials"] is False
    assert created["created_at"] >= before - 1000
    assert await api.ok("GET", "/api/v1/accounts/shop1") == created
    assert await api.ok("GET", "/api/v1/accounts") == [created]
    assert await api.services.keys.get("shop1") is not None
    [recorded] = await api.store.history("account", "shop1")
    assert isinstance(recorded.fact, c.AccountCreated) and recorded.fact.account_name == "name of shop1"


async def test_an_account_id_is_made_up_when_not_given(api: Api) -> None:
    created = await api.ok("POST", "/api/v1/accounts", 201, json={"platform": "douyin", "account_name": "x"})
    assert created["id"].startswith("acc-")
    assert (await api.ok("GET", f"/api/v1/accounts/{created['id']}"))["account_name"] == "x"


async def test_creation_refuses_what_it_cannot_keep(api: Api) -> None:
    await api.create_account("shop1")
    assert "already exists" in await api.fails(
        "POST", "/api/v1/accounts", 409, json={"platform": "douyin", "account_name": "again", "account_id": "shop1"}
    )
    bad_id = await api.fails(
        "POST", "/api/v1/accounts", 400, json={"platform": "douyin", "account_name": "a", "account_id": "a.b"}
    )
    assert "account_id 'a.b' contains a dot" in bad_id
    assert "'tiktok'" in await api.fails(
        "POST", "/api/v1/accounts", 400, json={"platform": "tiktok", "account_name": "a"}
    )
    assert "blank" in await api.fails(
        "POST", "/api/v1/accounts", 400, json={"platform": "douyin", "account_name": "  "}
    )
    too_fast = await api.fails(
        "POST", "/api/v1/accounts", 400, json={"platform": "douyin", "account_name": "a", "monitor_interval": 1}
    )
    assert "monitor_interval" in too_fast and ">= 5" in too_fast
    no_proxy = await api.fails(
        "POST", "/api/v1/accounts", 400, json={"platform": "douyin", "account_name": "a", "proxy_id": "px9"}
    )
    assert "proxy 'px9' does not exist" in no_proxy
    assert [a["id"] for a in await api.ok("GET", "/api/v1/accounts")] == ["shop1"]


async def test_list_filters(api: Api) -> None:
    await api.create_account("a1")
    await api.create_account("a2")
    await api.ok("PATCH", "/api/v1/accounts/a2", json={"status": "disabled"})
    assert [a["id"] for a in await api.ok("GET", "/api/v1/accounts?status=disabled")] == ["a2"]
    assert [a["id"] for a in await api.ok("GET", "/api/v1/accounts?status=active&platform=douyin")] == ["a1"]
    assert await api.ok("GET", "/api/v1/accounts?platform=kuaishou") == []
    assert len(await api.ok("GET", "/api/v1/accounts?login_status=not_logged_in")) == 2


async def test_patch_records_only_what_changed(api: Api) -> None:
    await api.create_account("shop1", monitor_interval=30)
    updated = await api.ok(
        "PATCH",
        "/api/v1/accounts/shop1",
        json={"account_name": "renamed", "monitor_interval": 30, "status": "disabled"},
    )
    assert updated["account_name"] == "renamed" and updated["status"] == "disabled"
    last = (await api.store.history("account", "shop1"))[-1].fact
    assert last == c.AccountUpdated(account_id="shop1", account_name="renamed", status="disabled")
    # Nothing changed: no fact at all.
    await api.ok("PATCH", "/api/v1/accounts/shop1", json={"account_name": "renamed"})
    assert len(await api.store.history("account", "shop1")) == 2
    assert "nothing to change" in await api.fails("PATCH", "/api/v1/accounts/shop1", 400, json={})
    assert "unknown field" in await api.fails("PATCH", "/api/v1/accounts/shop1", 400, json={"name": "x"})
    assert "'paused'" in await api.fails("PATCH", "/api/v1/accounts/shop1", 400, json={"status": "paused"})


async def test_delete_destroys_the_key_and_keeps_the_history(api: Api) -> None:
    await api.create_account("shop1")
    assert await api.ok("DELETE", "/api/v1/accounts/shop1") == {"id": "shop1", "deleted": True}
    assert "account 'shop1' not found" in await api.fails("GET", "/api/v1/accounts/shop1", 404)
    await api.fails("DELETE", "/api/v1/accounts/shop1", 404)
    assert await api.services.keys.get("shop1") is None
    history = [r.fact for r in await api.store.history("account", "shop1")]
    assert [type(f) for f in history] == [c.AccountCreated, c.AccountDeleted]
    assert await api.ok("GET", "/api/v1/accounts") == []
    reuse = await api.fails(
        "POST", "/api/v1/accounts", 409, json={"platform": "douyin", "account_name": "x", "account_id": "shop1"}
    )
    assert "deleted account" in reuse


async def test_status_all_shows_worker_login_and_runtime(api: Api) -> None:
    await api.create_account("shop1")
    await api.create_account("shop2")
    await api.record(
        c.WorkerRegistered(worker_id="w1", platforms=["douyin"], max_accounts=5),
        c.AccountAssigned(account_id="shop1", worker_id="w1"),
        c.SnapshotSynced(
            account_id="shop1",
            worker_id="w1",
            pass_no=1,
            counts=c.PassCounts(comments=4),
            new_counts=c.PassCounts(comments=1),
            duration_ms=900,
            digest="d1",
        ),
    )
    lines = await api.ok("GET", "/api/v1/accounts/status/all")
    assert [line["id"] for line in lines] == ["shop1", "shop2"]
    first = lines[0]
    assert first["assigned_worker_id"] == "w1" and first["worker_status"] == "online"
    assert first["runtime"]["passes"] == 1 and first["runtime"]["seen"]["comments"] == 4
    assert first["runtime"]["last_pass_duration_ms"] == 900
    assert lines[1]["assigned_worker_id"] is None and lines[1]["worker_status"] is None


async def test_a_write_the_projector_has_not_shown_in_time_is_a_202_with_its_sequence(api: Api) -> None:
    api.services.write_wait_s = 0.0
    r = await api.call("POST", "/api/v1/accounts", json={"platform": "douyin", "account_name": "x", "account_id": "s1"})
    assert r.status_code == 202, r.text
    data = r.json()["data"]
    assert data["id"] == "s1" and data["seq"] == 1 and "sequence 1" in data["message"]
    assert await api.services.models.wait_for(1, 10)
    assert (await api.ok("GET", "/api/v1/accounts/s1"))["id"] == "s1"
