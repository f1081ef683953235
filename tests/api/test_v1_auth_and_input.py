"""Every /api/v1 route: auth first, then a clear 4xx for every kind of bad input."""

from __future__ import annotations

import re

from hiscrm.api.app import endpoints
from hiscrm.api.routing import MAX_BODY
from tests.api.api_client import Api

V1 = [e for e in endpoints() if e.path.startswith("/api/v1")]
WITH_BODY = [e for e in V1 if e.body is not None]
WITH_ID = [e for e in V1 if "{id}" in e.path]
# A body each route accepts, so that what is tested is the id.
GOOD_BODY = {
    "/api/v1/accounts/{id}": {"account_name": "x"},
    "/api/v1/proxies/{id}": {"name": "x"},
    "/api/v1/accounts/{id}/pin": {"worker_id": "w1"},
    "/api/v1/accounts/{id}/session-import": {"cookies": "sessionid=abc"},
    "/api/v1/login-sessions/{id}/sms-code": {"code": "123456"},
}


def concrete(path: str, id_: str = "x1") -> str:
    return re.sub(r"{[^}]+}", id_, path)


def test_every_admin_route_is_declared() -> None:
    declared = {f"{e.method} {e.path}" for e in V1}
    assert declared == {
        "GET /api/v1/accounts",
        "POST /api/v1/accounts",
        "GET /api/v1/accounts/status/all",
        "GET /api/v1/accounts/{id}",
        "PATCH /api/v1/accounts/{id}",
        "DELETE /api/v1/accounts/{id}",
        "POST /api/v1/accounts/{id}/login",
        "POST /api/v1/accounts/{id}/logout",
        "POST /api/v1/accounts/{id}/crawl-now",
        "POST /api/v1/accounts/crawl-now",
        "PUT /api/v1/accounts/{id}/pin",
        "GET /api/v1/accounts/{id}/passes",
        "POST /api/v1/accounts/{id}/session-import",
        "GET /api/v1/accounts/{id}/login-sessions",
        "GET /api/v1/login-sessions/{id}",
        "POST /api/v1/login-sessions/{id}/sms-code",
        "GET /api/v1/workers",
        "GET /api/v1/workers/{id}",
        "POST /api/v1/workers/{id}/start",
        "POST /api/v1/workers/{id}/stop",
        "POST /api/v1/workers/{id}/restart",
        "GET /api/v1/workers/{id}/status",
        "GET /api/v1/workers/{id}/logs",
        "POST /api/v1/replies",
        "GET /api/v1/replies",
        "GET /api/v1/replies/{id}",
        "GET /api/v1/proxies",
        "POST /api/v1/proxies",
        "GET /api/v1/proxies/{id}",
        "PATCH /api/v1/proxies/{id}",
        "DELETE /api/v1/proxies/{id}",
        "POST /api/v1/proxies/{id}/test",
        "GET /api/v1/status",
        "GET /api/v1/activity",
        "GET /api/v1/tokens",
        "POST /api/v1/tokens",
        "GET /api/v1/tokens/current",
        "DELETE /api/v1/tokens/{id}",
    }
    # Any token may ask what it is (the console signs in by role with it); the rest is the admin's.
    assert all(e.roles == frozenset({"admin"}) for e in V1 if e.path != "/api/v1/tokens/current")


async def test_every_route_needs_an_admin_token(api: Api) -> None:
    for e in V1:
        path = concrete(e.path)
        no_token = await api.fails(e.method, path, 401, token=None)
        assert "Authorization" in no_token, (e.path, no_token)
        assert "unknown token" in await api.fails(e.method, path, 401, token="not-a-token"), e.path
        assert "Bearer" in await api.fails(e.method, path, 401, token=None, headers={"Authorization": "Basic abc"})
        if e.roles == frozenset({"admin"}):
            forbidden = await api.fails(e.method, path, 403, token="im")
            assert "'im'" in forbidden and "admin" in forbidden, (e.path, forbidden)


async def test_health_is_open_and_openapi_lists_every_route(api: Api) -> None:
    assert (await api.call("GET", "/health", token=None)).json()["status"] == "ok"
    doc = (await api.call("GET", "/openapi.json", token=None)).json()
    for e in V1:
        assert e.method.lower() in doc["paths"][e.path], e.path
    create = doc["paths"]["/api/v1/accounts"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/AccountCreate")
    feed = doc["paths"]["/api/im/events"]["get"]["responses"]["200"]["content"]
    assert list(feed) == ["text/event-stream"], feed


async def test_bad_bodies_get_a_4xx_that_names_the_problem(api: Api) -> None:
    for e in WITH_BODY:
        path = concrete(e.path)
        not_json = await api.fails(e.method, path, 400, content=b"{nope", headers={"Content-Type": "application/json"})
        assert "malformed" in not_json, (e.path, not_json)
        assert "empty" in await api.fails(e.method, path, 400, content=b"")
        assert "object" in await api.fails(e.method, path, 400, json=[1, 2])
        assert "JSON" in await api.fails(e.method, path, 415, content=b"a=b", headers={"Content-Type": "text/plain"})
        big = b'{"x": "' + b"a" * MAX_BODY + b'"}'
        assert str(MAX_BODY) in await api.fails(
            e.method, path, 413, content=big, headers={"Content-Type": "application/json"}
        )
        unknown = await api.fails(e.method, path, 400, json={"surprise": 1})
        assert "surprise" in unknown or "required" in unknown, (e.path, unknown)


async def test_required_fields_and_types_are_checked(api: Api) -> None:
    missing = await api.fails("POST", "/api/v1/accounts", 400, json={"platform": "douyin"})
    assert "account_name" in missing
    wrong_type = await api.fails("POST", "/api/v1/accounts", 400, json={"platform": "douyin", "account_name": 5})
    assert "str" in wrong_type and "account_name" in wrong_type
    reply = {"request_id": "r1", "account_id": "a1", "target_type": "comment", "target_id": "c1"}
    assert "reply_content" in await api.fails("POST", "/api/v1/replies", 400, json=reply)
    assert "server" in await api.fails("POST", "/api/v1/proxies", 400, json={"name": "p"})


async def test_bad_ids_in_paths_are_refused_before_anything_is_looked_up(api: Api) -> None:
    for e in WITH_ID:
        for bad, says in (("a.b", "dot"), ("a*b", "'*'"), ("a>b", "'>'"), ("a%20b", "whitespace")):
            kwargs = {"json": GOOD_BODY[e.path]} if e.body is not None else {}
            message = await api.fails(e.method, concrete(e.path, bad), 400, **kwargs)
            assert says in message, (e.path, bad, message)


async def test_unknown_ids_are_404s(api: Api) -> None:
    local_only = {"/api/v1/workers/{id}/start"}  # starting an unknown local worker creates it
    for e in WITH_ID:
        if e.path in local_only:
            continue
        kwargs = {"json": GOOD_BODY[e.path]} if e.body is not None else {}
        message = await api.fails(e.method, concrete(e.path, "nobody"), 404, **kwargs)
        assert "'nobody'" in message, (e.path, message)


async def test_bad_query_strings_are_400s(api: Api) -> None:
    assert "status" in await api.fails("GET", "/api/v1/accounts?status=sleeping", 400)
    assert "limit" in await api.fails("GET", "/api/v1/replies?limit=0", 400)
    assert "limit" in await api.fails("GET", "/api/v1/replies?limit=many", 400)
    assert "status" in await api.fails("GET", "/api/v1/workers?status=dancing", 400)
