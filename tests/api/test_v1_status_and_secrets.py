"""The status page, the gauges, and that no response ever carries a credential."""

from __future__ import annotations

import re

from hiscrm.facts import catalogue as c
from tests.api.api_client import Api


async def test_status_counts_workers_accounts_scheduling_projection_and_store(api: Api) -> None:
    for account_id in ("a1", "a2", "a3"):
        await api.create_account(account_id)
    await api.create_account("k1")
    await api.ok("PATCH", "/api/v1/accounts/k1", json={"status": "disabled"})
    seq = await api.record(
        c.WorkerRegistered(worker_id="w1", platforms=["douyin"], max_accounts=1),
        c.AccountAssigned(account_id="a1", worker_id="w1"),
        c.WorkerRegistered(worker_id="w2", platforms=["douyin"], max_accounts=1),
        c.WorkerStopped(worker_id="w2", reason="shutdown"),
    )
    status = await api.ok("GET", "/api/v1/status")
    assert status["version"] and status["uptime_s"] >= 0 and status["nats_connected"] is True
    assert status["workers"] == {"total": 2, "online": 1, "offline": 0, "stopped": 1, "local_running": 0}
    accounts = status["accounts"]
    assert (accounts["total"], accounts["active"], accounts["disabled"]) == (4, 3, 1)
    assert (accounts["assigned"], accounts["unassigned"]) == (1, 3)
    assert accounts["by_login_status"] == {"not_logged_in": 4}
    reasons = {u["account_id"]: u["reason"] for u in status["scheduling"]["unassigned"]}
    assert reasons == {
        "a2": "every online douyin worker is at its max_accounts",
        "a3": "every online douyin worker is at its max_accounts",
        "k1": "disabled",
    }
    assert status["projection"] == {"checkpoint": seq, "stream_head": seq, "lag": 0, "dead_letters": 0}
    store = status["store"]
    assert store["stream"] == "HISCRM_EVENTS" and store["messages"] == seq and store["last_seq"] == seq
    assert store["bytes"] > 0


async def test_status_says_when_no_worker_runs_the_platform(api: Api) -> None:
    await api.create_account("a1")
    [unassigned] = (await api.ok("GET", "/api/v1/status"))["scheduling"]["unassigned"]
    assert unassigned == {"account_id": "a1", "platform": "douyin", "reason": "no online worker runs douyin"}


async def test_metrics_carry_the_gauges(api: Api) -> None:
    await api.create_account("a1")
    await api.record(c.WorkerRegistered(worker_id="w1", platforms=["douyin"], max_accounts=5))
    r = await api.call("GET", "/metrics")
    assert r.status_code == 200
    gauges = dict(re.findall(r"^(hiscrm_\w+) (\S+)$", r.text, re.M))
    assert float(gauges["hiscrm_accounts"]) == 1
    assert float(gauges["hiscrm_accounts_unassigned"]) == 1
    assert float(gauges["hiscrm_accounts_logged_in"]) == 0
    assert float(gauges["hiscrm_workers_online"]) == 1
    assert float(gauges["hiscrm_local_workers_running"]) == 0
    assert float(gauges["hiscrm_projection_dead_letters"]) == 0
    assert (await api.call("GET", "/metrics", token="im")).status_code == 403


async def test_no_response_carries_a_credential(api: Api) -> None:
    cookie = b"sessionid=COOKIE-VALUE-0123456789"
    await api.ok(
        "POST",
        "/api/v1/proxies",
        201,
        json={
            "proxy_id": "px1",
            "name": "p",
            "server": "10.0.0.1:8080",
            "username": "u",
            "password": "PROXY-PASSWORD-42",
        },
    )
    await api.create_account("shop1", proxy_id="px1")
    await api.ok("POST", "/api/v1/accounts/shop1/login", 201)
    sealed = await api.services.keys.seal_for("shop1", cookie)
    assert sealed is not None
    profile = c.Profile(uid="7001", nickname="店铺")
    await api.record(
        c.LoginSucceeded(login_id="shop1-L1", account_id="shop1", profile=profile, sealed_credentials=sealed)
    )
    reply = {
        "request_id": "r1",
        "account_id": "shop1",
        "target_type": "comment",
        "target_id": "c1",
        "reply_content": "hi",
    }
    reply_id = (await api.ok("POST", "/api/v1/replies", 201, json=reply))["reply_id"]
    account = await api.ok("GET", "/api/v1/accounts/shop1")
    assert account["login_status"] == "logged_in" and account["has_credentials"] is True
    assert account["user_info"]["nickname"] == "店铺"
    bodies = [
        (await api.call("GET", path)).content
        for path in (
            "/api/v1/accounts",
            "/api/v1/accounts/shop1",
            "/api/v1/accounts/status/all",
            "/api/v1/accounts/shop1/login-sessions",
            "/api/v1/login-sessions/shop1-L1",
            f"/api/v1/replies/{reply_id}",
            "/api/v1/replies",
            "/api/v1/proxies",
            "/api/v1/proxies/px1",
            "/api/v1/status",
            "/api/v1/workers",
        )
    ]
    key = await api.services.keys.get("shop1")
    assert key is not None
    for body in bodies:
        for secret in (b"COOKIE-VALUE", sealed.encode(), b"PROXY-PASSWORD", b"s1:", key):
            assert secret not in body, (secret, body[:200])
