"""Proxies: CRUD in the hiscrm_proxies bucket, passwords sealed and never returned, a TCP reachability test."""

from __future__ import annotations

import asyncio
import socket

import msgspec

from hiscrm.facts.messages import ProxyConfig
from hiscrm.facts.subjects import PROXIES_BUCKET
from hiscrm.secrets.sealing import unseal
from tests.api.api_client import Api

PASSWORD = "hunter2-very-secret"


async def stored(api: Api, proxy_id: str) -> list[bytes]:
    kv = await api.services.nc.jetstream().key_value(PROXIES_BUCKET)
    return [e.value or b"" for e in await kv.history(proxy_id)]


async def test_crud_keeps_the_password_sealed_and_never_returns_it(api: Api) -> None:
    body = {"proxy_id": "px1", "name": "office", "server": "10.0.0.8:3128", "username": "bob", "password": PASSWORD}
    created = await api.ok("POST", "/api/v1/proxies", 201, json=body)
    assert created == {
        "id": "px1",
        "name": "office",
        "server": "10.0.0.8:3128",
        "protocol": "http",
        "username": "bob",
        "has_password": True,
    }
    assert await api.ok("GET", "/api/v1/proxies/px1") == created
    assert await api.ok("GET", "/api/v1/proxies") == [created]
    patched = await api.ok("PATCH", "/api/v1/proxies/px1", json={"protocol": "socks5", "password": PASSWORD + "!"})
    assert patched["protocol"] == "socks5" and patched["name"] == "office"
    for raw in await stored(api, "px1"):
        assert PASSWORD.encode() not in raw
    latest = msgspec.json.decode((await stored(api, "px1"))[-1], type=ProxyConfig)
    assert unseal(api.services.master_key, latest.sealed_password or "", "proxy:px1").decode() == PASSWORD + "!"
    cleared = await api.ok("PATCH", "/api/v1/proxies/px1", json={"password": "", "username": ""})
    assert cleared["has_password"] is False and cleared["username"] is None
    made_up = await api.ok("POST", "/api/v1/proxies", 201, json={"name": "spare", "server": "[::1]:1080"})
    assert made_up["id"].startswith("px-")
    assert await api.ok("DELETE", "/api/v1/proxies/px1") == {"id": "px1", "deleted": True}
    await api.fails("GET", "/api/v1/proxies/px1", 404)
    assert await stored(api, "px1") == [b""]  # purged: no sealed password stays behind
    assert [p["id"] for p in await api.ok("GET", "/api/v1/proxies")] == [made_up["id"]]


async def test_bad_proxies_are_refused(api: Api) -> None:
    base = {"proxy_id": "px1", "name": "office", "server": "10.0.0.8:3128"}
    await api.ok("POST", "/api/v1/proxies", 201, json=base)
    assert "already exists" in await api.fails("POST", "/api/v1/proxies", 409, json=base)
    for server, says in (("http://h:80", "scheme"), ("host-only", "host:port"), ("h:99999", "host:port")):
        assert says in await api.fails(
            "POST", "/api/v1/proxies", 400, json={**base, "proxy_id": "p2", "server": server}
        )
    assert "'ftp'" in await api.fails(
        "POST", "/api/v1/proxies", 400, json={**base, "proxy_id": "p2", "protocol": "ftp"}
    )
    assert "dot" in await api.fails("POST", "/api/v1/proxies", 400, json={**base, "proxy_id": "p.2"})
    assert "nothing to change" in await api.fails("PATCH", "/api/v1/proxies/px1", 400, json={})
    assert "host:port" in await api.fails("PATCH", "/api/v1/proxies/px1", 400, json={"server": "nope"})


async def test_a_proxy_in_use_cannot_be_deleted(api: Api) -> None:
    await api.ok("POST", "/api/v1/proxies", 201, json={"proxy_id": "px1", "name": "office", "server": "10.0.0.8:3128"})
    await api.create_account("shop1", proxy_id="px1")
    assert "shop1" in await api.fails("DELETE", "/api/v1/proxies/px1", 409)
    await api.create_account("shop2")
    assert (await api.ok("PATCH", "/api/v1/accounts/shop2", json={"proxy_id": "px1"}))["proxy_id"] == "px1"
    assert "does not exist" in await api.fails("PATCH", "/api/v1/accounts/shop2", 400, json={"proxy_id": "px2"})


async def test_the_reachability_test_opens_a_tcp_connection(api: Api) -> None:
    accepted = asyncio.Event()

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.set()
        writer.close()

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    try:
        await api.ok(
            "POST", "/api/v1/proxies", 201, json={"proxy_id": "up", "name": "up", "server": f"127.0.0.1:{port}"}
        )
        await api.ok(
            "POST", "/api/v1/proxies", 201, json={"proxy_id": "down", "name": "d", "server": f"127.0.0.1:{closed_port}"}
        )
        up = await api.ok("POST", "/api/v1/proxies/up/test")
        assert up["reachable"] is True and up["error"] is None and up["latency_ms"] >= 0
        await asyncio.wait_for(accepted.wait(), 5)
        down = await api.ok("POST", "/api/v1/proxies/down/test")
        assert down["reachable"] is False and down["latency_ms"] is None and "refused" in down["error"].lower()
    finally:
        server.close()
        await server.wait_closed()
