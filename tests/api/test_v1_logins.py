"""QR login sessions: one live session per account, deterministic ids, the worker's facts shown as they land."""

from __future__ import annotations

import asyncio
import time

from hiscrm.facts import catalogue as c
from tests.api.api_client import Api

QR = "data:image/png;base64,iVBORw0KGgo="


async def test_a_login_starts_a_session_and_a_second_request_gets_the_live_one(api: Api) -> None:
    await api.create_account("shop1")
    before = int(time.time() * 1000)
    session = await api.ok("POST", "/api/v1/accounts/shop1/login", 201)
    me = await api.ok("GET", "/api/v1/tokens/current")
    assert session["id"] == "shop1-L1" and session["account_id"] == "shop1"
    assert session["status"] == "pending" and session["live"] is True and session["requested_by"] == me["name"]
    assert before + 295_000 <= session["expires_at"] <= int(time.time() * 1000) + 300_000
    assert (await api.ok("GET", "/api/v1/accounts/shop1"))["login_status"] == "logging_in"
    again = await api.ok("POST", "/api/v1/accounts/shop1/login", 200)
    assert again["id"] == "shop1-L1"
    [recorded] = await api.store.history("login", "shop1-L1")
    assert isinstance(recorded.fact, c.LoginRequested)


async def test_the_session_shows_the_workers_facts(api: Api) -> None:
    await api.create_account("shop1")
    await api.ok("POST", "/api/v1/accounts/shop1/login", 201)
    await api.record(c.LoginQrcodeReady(login_id="shop1-L1", account_id="shop1", qrcode=QR, worker_id="w1"))
    session = await api.ok("GET", "/api/v1/login-sessions/shop1-L1")
    assert session["status"] == "qrcode_ready" and session["qrcode"] == QR and session["worker_id"] == "w1"
    await api.record(c.LoginFailed(login_id="shop1-L1", account_id="shop1", reason="scan refused"))
    session = await api.ok("GET", "/api/v1/login-sessions/shop1-L1")
    assert session["status"] == "failed" and session["reason"] == "scan refused"
    assert session["live"] is False and session["qrcode"] is None and session["finished_at"] is not None


async def test_a_finished_or_lapsed_session_makes_way_for_a_new_one(api: Api) -> None:
    await api.create_account("shop1")
    await api.ok("POST", "/api/v1/accounts/shop1/login", 201)
    await api.record(c.LoginExpired(login_id="shop1-L1", account_id="shop1"))
    assert (await api.ok("POST", "/api/v1/accounts/shop1/login", 201))["id"] == "shop1-L2"
    # A session past its expiry counts as over even before the coordinator records it.
    await api.record(c.LoginRequested(login_id="shop1-L3", account_id="shop1", expires_at_ms=1))
    assert (await api.ok("POST", "/api/v1/accounts/shop1/login", 201))["id"] == "shop1-L4"
    history = await api.ok("GET", "/api/v1/accounts/shop1/login-sessions")
    assert [s["id"] for s in history] == ["shop1-L4", "shop1-L3", "shop1-L2", "shop1-L1"]
    assert [s["id"] for s in await api.ok("GET", "/api/v1/accounts/shop1/login-sessions?limit=1")] == ["shop1-L4"]


async def test_concurrent_requests_start_one_session(api: Api) -> None:
    await api.create_account("shop1")
    answers = await asyncio.gather(*(api.call("POST", "/api/v1/accounts/shop1/login") for _ in range(6)))
    assert sorted(r.status_code for r in answers) == [200] * 5 + [201]
    assert {r.json()["data"]["id"] for r in answers} == {"shop1-L1"}
    assert len(await api.store.history("login", "shop1-L1")) == 1


async def test_login_refusals(api: Api) -> None:
    assert "account 'ghost' not found" in await api.fails("POST", "/api/v1/accounts/ghost/login", 404)
    await api.create_account("shop1")
    await api.ok("PATCH", "/api/v1/accounts/shop1", json={"status": "disabled"})
    assert "disabled" in await api.fails("POST", "/api/v1/accounts/shop1/login", 400)
    await api.fails("GET", "/api/v1/login-sessions/shop1-L1", 404)
    assert "limit" in await api.fails("GET", "/api/v1/accounts/shop1/login-sessions?limit=0", 400)
