"""Account operations through the admin API: SMS codes, session import, logout, crawl now, pinning,
crawler switches and crawl health. Each answer is checked against the facts it recorded."""

from __future__ import annotations

import msgspec

from hiscrm.facts import catalogue as c
from hiscrm.facts.codec import Recorded
from tests.api.api_client import Api

PROFILE = c.Profile(uid="7001", nickname="林小满")
SMS_WAIT = c.LoginVerificationRequired(login_id="shop1-L1", account_id="shop1", method="sms", message="sent to 138****")


async def facts_of(api: Api, aggregate: str, aggregate_id: str) -> list[c.Fact]:
    return [r.fact for r in await api.store.history(aggregate, aggregate_id) if isinstance(r, Recorded)]


async def logged_in(api: Api, account_id: str = "shop1", worker_id: str = "w1") -> None:
    await api.create_account(account_id)
    await api.record(
        c.WorkerRegistered(worker_id=worker_id, platforms=["douyin"], max_accounts=10),
        c.AccountAssigned(account_id=account_id, worker_id=worker_id),
        c.LoginSucceeded(login_id=f"{account_id}-L0", account_id=account_id, profile=PROFILE, sealed_credentials="x"),
    )


async def test_an_sms_code_reaches_the_session_sealed_and_a_refusal_shows(api: Api) -> None:
    await api.create_account("shop1")
    await api.ok("POST", "/api/v1/accounts/shop1/login", 201)
    early = await api.fails("POST", "/api/v1/login-sessions/shop1-L1/sms-code", 409, json={"code": "123456"})
    assert "not waiting for an SMS code" in early
    await api.record(SMS_WAIT)
    waiting = await api.ok("GET", "/api/v1/login-sessions/shop1-L1")
    assert waiting["status"] == "scanning" and waiting["awaiting_sms_code"] is True

    assert "code" in await api.fails("POST", "/api/v1/login-sessions/shop1-L1/sms-code", 400, json={"code": "12ab"})
    await api.fails("POST", "/api/v1/login-sessions/nope-L1/sms-code", 404, json={"code": "123456"})
    session = await api.ok("POST", "/api/v1/login-sessions/shop1-L1/sms-code", json={"code": " 654321 "})
    assert session["status"] == "verifying" and session["codes_submitted"] == 1 and session["code_submitted_at"]
    [submitted] = [f for f in await facts_of(api, "login", "shop1-L1") if isinstance(f, c.LoginSmsCodeSubmitted)]
    assert "654321" not in msgspec.json.encode(submitted).decode()
    assert await api.services.keys.unseal_for("shop1", submitted.sealed_code) == b"654321"

    await api.record(
        c.LoginSmsCodeRejected(login_id="shop1-L1", account_id="shop1", reason="验证码错误，请重新输入", code="wrong")
    )
    refused = await api.ok("GET", "/api/v1/login-sessions/shop1-L1")
    assert refused["status"] == "scanning" and refused["code_error"] == "验证码错误，请重新输入"
    assert refused["code_error_kind"] == "wrong" and refused["awaiting_sms_code"] is True
    await api.record(c.LoginExpired(login_id="shop1-L1", account_id="shop1"))
    late = await api.fails("POST", "/api/v1/login-sessions/shop1-L1/sms-code", 409, json={"code": "123456"})
    assert "expired" in late


EXPORT = [
    {"name": "sessionid", "value": "abc", "domain": ".douyin.com", "path": "/", "expirationDate": 1893456000.5,
     "httpOnly": True, "secure": True, "sameSite": "no_restriction", "hostOnly": False, "storeId": "0"},
    {"name": "ttwid", "value": "t1", "domain": ".douyin.com", "path": "/", "session": True, "sameSite": "unspecified"},
    {"name": "odin_tt", "value": "o1", "domain": ".douyin.com", "sameSite": "no_restriction", "secure": False},
]  # fmt: skip


async def test_a_cookie_export_becomes_a_sealed_import_session(api: Api) -> None:
    await api.create_account("shop1")
    session = await api.ok("POST", "/api/v1/accounts/shop1/session-import", 201, json={"cookies": EXPORT})
    assert session["method"] == "import" and session["status"] == "pending" and session["live"] is True
    [requested] = [f for f in await facts_of(api, "login", session["id"]) if isinstance(f, c.LoginRequested)]
    assert requested.method == "import" and "abc" not in (requested.sealed_import or "")
    state = msgspec.json.decode(await api.services.keys.unseal_for("shop1", requested.sealed_import or ""))
    by_name = {cookie["name"]: cookie for cookie in state["cookies"]}
    assert by_name["sessionid"] == {
        "name": "sessionid", "value": "abc", "domain": ".douyin.com", "path": "/", "expires": 1893456000,
        "httpOnly": True, "secure": True, "sameSite": "None",
    }  # fmt: skip
    assert by_name["ttwid"]["expires"] == -1 and by_name["ttwid"]["sameSite"] == "Lax"
    assert by_name["odin_tt"]["sameSite"] == "Lax"  # None without Secure would be refused by the browser
    assert "under way" in await api.fails(
        "POST", "/api/v1/accounts/shop1/session-import", 409, json={"cookies": EXPORT}
    )
    account = await api.ok("GET", "/api/v1/accounts/shop1")
    assert account["login_status"] == "logging_in" and account["login_id"] == session["id"]


async def test_a_cookie_header_is_imported_to_the_domain_named(api: Api) -> None:
    await api.create_account("shop1")
    header = "Cookie: sessionid=abc; sessionid_ss=abc; passport_csrf_token=p=q"
    session = await api.ok(
        "POST", "/api/v1/accounts/shop1/session-import", 201, json={"cookies": header, "domain": "127.0.0.1"}
    )
    [requested] = [f for f in await facts_of(api, "login", session["id"]) if isinstance(f, c.LoginRequested)]
    state = msgspec.json.decode(await api.services.keys.unseal_for("shop1", requested.sealed_import or ""))
    assert [(k["name"], k["value"], k["domain"]) for k in state["cookies"]] == [
        ("sessionid", "abc", "127.0.0.1"),
        ("sessionid_ss", "abc", "127.0.0.1"),
        ("passport_csrf_token", "p=q", "127.0.0.1"),
    ]


async def test_bad_exports_are_refused_with_the_reason(api: Api) -> None:
    await api.create_account("shop1")
    path = "/api/v1/accounts/shop1/session-import"
    assert "sessionid" in await api.fails("POST", path, 400, json={"cookies": "ttwid=1; odin_tt=2"})
    assert "name=value" in await api.fails("POST", path, 400, json={"cookies": "sessionid"})
    assert "no cookies" in await api.fails("POST", path, 400, json={"cookies": []})
    odd = [{**EXPORT[0], "sameSite": "sometimes"}]
    assert "sameSite" in await api.fails("POST", path, 400, json={"cookies": odd})
    assert "domain" in await api.fails("POST", path, 400, json={"cookies": "sessionid=1", "domain": "a b"})
    await api.fails("POST", "/api/v1/accounts/ghost/session-import", 404, json={"cookies": EXPORT})


async def test_logout_destroys_the_session_and_keeps_the_history(api: Api) -> None:
    await logged_in(api)
    assert (await api.ok("GET", "/api/v1/accounts/shop1"))["has_credentials"] is True
    account = await api.ok("POST", "/api/v1/accounts/shop1/logout")
    assert account["login_status"] == "not_logged_in" and account["has_credentials"] is False
    assert account["user_info"]["nickname"] == "林小满"  # who it was stays known
    again = await api.ok("POST", "/api/v1/accounts/shop1/logout")
    assert again["login_status"] == "not_logged_in"
    logouts = [f for f in await facts_of(api, "account", "shop1") if isinstance(f, c.AccountLoggedOut)]
    assert len(logouts) == 1 and logouts[0].by
    assert "not logged in" in await api.fails("POST", "/api/v1/accounts/shop1/crawl-now", 409)


async def test_crawl_now_for_an_account_and_for_a_worker(api: Api) -> None:
    await logged_in(api, "shop1")
    await logged_in(api, "shop2")
    await api.create_account("shop3")  # not logged in: left out of the worker's crawl
    await api.record(c.AccountAssigned(account_id="shop3", worker_id="w1"))
    one = await api.ok("POST", "/api/v1/accounts/shop1/crawl-now", 202)
    assert one["account_ids"] == ["shop1"]
    every = await api.ok("POST", "/api/v1/accounts/crawl-now", 202, json={"worker_id": "w1"})
    assert every["account_ids"] == ["shop1", "shop2"]
    requested = [f for f in await facts_of(api, "account", "shop1") if isinstance(f, c.AccountCrawlRequested)]
    assert len(requested) == 2
    await api.fails("POST", "/api/v1/accounts/crawl-now", 404, json={"worker_id": "w9"})
    await api.fails("POST", "/api/v1/accounts/crawl-now", 400, json={"worker_id": "a.b"})


async def test_pin_and_switches(api: Api) -> None:
    await api.create_account("shop1")
    assert "never registered" in await api.fails("PUT", "/api/v1/accounts/shop1/pin", 400, json={"worker_id": "w2"})
    await api.record(
        c.WorkerRegistered(worker_id="w2", platforms=["douyin"], max_accounts=5),
        c.WorkerWentOffline(worker_id="w2"),
    )
    pinned = await api.ok("PUT", "/api/v1/accounts/shop1/pin", json={"worker_id": "w2"})
    assert pinned["pinned_worker_id"] == "w2"
    assert pinned["waiting_reason"] == "pinned to worker w2, which is offline"
    unpinned = await api.ok("PUT", "/api/v1/accounts/shop1/pin", json={"worker_id": None})
    assert unpinned["pinned_worker_id"] is None

    switched = await api.ok("PATCH", "/api/v1/accounts/shop1", json={"crawl": {"dms": False}})
    assert switched["crawl"] == {"works": True, "comments": True, "dms": False, "notifications": True}
    switched = await api.ok("PATCH", "/api/v1/accounts/shop1", json={"crawl": {"notifications": False}})
    assert switched["crawl"] == {"works": True, "comments": True, "dms": False, "notifications": False}
    updates = [f for f in await facts_of(api, "account", "shop1") if isinstance(f, c.AccountUpdated)]
    assert [u.crawl.dms if u.crawl else None for u in updates] == [False, False]
    await api.fails("PATCH", "/api/v1/accounts/shop1", 400, json={"crawl": {"videos": False}})


async def test_crawl_health_counts_failures_and_keeps_a_history(api: Api) -> None:
    await logged_in(api)
    fail = {"account_id": "shop1", "worker_id": "w1", "reason": "Timeout 30000ms exceeded", "kind": "timeout"}
    await api.record(c.AccountCrawlFailed(**fail), c.AccountCrawlFailed(**fail, consecutive=4))
    account = await api.ok("GET", "/api/v1/accounts/shop1")
    health = account["health"]
    assert health["consecutive_failures"] == 4 and health["failures_total"] == 4
    assert health["last_error"] == fail["reason"] and health["last_error_kind"] == "timeout"
    metrics = (await api.call("GET", "/metrics")).text
    assert 'hiscrm_account_pass_failures_total{account_id="shop1"} 4' in metrics
    assert 'hiscrm_account_consecutive_pass_failures{account_id="shop1"} 4' in metrics

    synced = c.SnapshotSynced(
        account_id="shop1", worker_id="w1", pass_no=1, counts=c.PassCounts(), new_counts=c.PassCounts(comments=2),
        duration_ms=900, digest="d",
    )  # fmt: skip
    await api.record(synced)
    health = (await api.ok("GET", "/api/v1/accounts/shop1"))["health"]
    assert health["consecutive_failures"] == 0 and health["failures_total"] == 4 and health["last_success_at"]
    passes = await api.ok("GET", "/api/v1/accounts/shop1/passes")
    assert [(p["ok"], p.get("consecutive")) for p in passes] == [(True, None), (False, 4), (False, 1)]
    assert passes[0]["new"] == {"comments": 2} and passes[1]["error"] == fail["reason"]
    assert len(await api.ok("GET", "/api/v1/accounts/shop1/passes?limit=1")) == 1
    await api.fails("GET", "/api/v1/accounts/shop1/passes?limit=0", 400)
