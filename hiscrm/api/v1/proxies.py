"""/api/v1/proxies: outbound proxies accounts may use. Passwords go in, never come out."""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from typing import Annotated, Literal
from urllib.parse import urlsplit

import msgspec

from hiscrm.api.errors import bad_request, conflict, not_found
from hiscrm.api.routing import Call, Router
from hiscrm.api.v1.common import ADMIN, Deleted, all_accounts, ident, path_id
from hiscrm.api.v1.proxy_book import ProxyBook, Stale, seal_password
from hiscrm.facts.messages import ProxyConfig

router = Router("v1", ADMIN, "proxies")

Protocol = Literal["http", "https", "socks5"]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Server = Annotated[str, msgspec.Meta(min_length=3, max_length=300, description="host:port")]
Secret = Annotated[str, msgspec.Meta(max_length=1000)]
TEST_TIMEOUT_S = 3.0


class Proxy(msgspec.Struct, kw_only=True):
    id: str
    name: str | None
    server: str
    protocol: Protocol
    username: str | None
    has_password: bool

    @classmethod
    def of(cls, p: ProxyConfig) -> Proxy:
        return cls(
            id=p.proxy_id,
            name=p.name,
            server=p.server,
            protocol=p.protocol,
            username=p.username,
            has_password=p.sealed_password is not None,
        )


class ProxyCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Name
    server: Server
    protocol: Protocol = "http"
    proxy_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None
    username: Secret | None = None
    password: Secret | None = None


class ProxyPatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Fields left out stay; an empty username or password removes it."""

    name: Name | None = None
    server: Server | None = None
    protocol: Protocol | None = None
    username: Secret | None = None
    password: Secret | None = None


class ProxyTest(msgspec.Struct, kw_only=True):
    id: str
    server: str
    reachable: bool
    latency_ms: float | None
    error: str | None


def host_port(server: str) -> tuple[str, int]:
    if "://" in server:
        raise bad_request(f"server {server!r}: give host:port; the scheme goes in protocol")
    try:
        parts = urlsplit(f"//{server}")
        host, port = parts.hostname, parts.port
    except ValueError as exc:
        raise bad_request(f"server {server!r} is not host:port ({exc})") from None
    if not host or port is None or parts.path or parts.query:
        raise bad_request(f"server {server!r} is not host:port")
    return host, port


async def _find(call: Call) -> tuple[ProxyConfig, int]:
    proxy_id = path_id(call, "proxy id")
    found = await ProxyBook(call.services.nc).get(proxy_id)
    if found is None:
        raise not_found(f"proxy {proxy_id!r}")
    return found


def _sealed(call: Call, proxy_id: str, password: str | None) -> str | None:
    return seal_password(call.services.master_key, proxy_id, password) if password else None


@router.route("GET", "/api/v1/proxies", summary="list proxies", response=list[Proxy])
async def list_proxies(call: Call) -> list[Proxy]:
    return [Proxy.of(p) for p in await ProxyBook(call.services.nc).all()]


@router.route("GET", "/api/v1/proxies/{id}", summary="one proxy", response=Proxy)
async def get_proxy(call: Call) -> Proxy:
    proxy, _ = await _find(call)
    return Proxy.of(proxy)


@router.route("POST", "/api/v1/proxies", summary="add a proxy", body=ProxyCreate, response=Proxy, status=201)
async def create_proxy(call: Call) -> Proxy:
    b: ProxyCreate = call.body
    proxy_id = ident(b.proxy_id, "proxy_id") if b.proxy_id is not None else f"px-{secrets.token_hex(6)}"
    host_port(b.server)
    proxy = ProxyConfig(
        proxy_id=proxy_id,
        name=b.name,
        server=b.server,
        protocol=b.protocol,
        username=b.username or None,
        sealed_password=_sealed(call, proxy_id, b.password),
    )
    if not await ProxyBook(call.services.nc).create(proxy):
        raise conflict(f"proxy {proxy_id!r} already exists")
    return Proxy.of(proxy)


@router.route("PATCH", "/api/v1/proxies/{id}", summary="change a proxy", body=ProxyPatch, response=Proxy)
async def update_proxy(call: Call) -> Proxy:
    b: ProxyPatch = call.body
    if all(getattr(b, name) is None for name in ProxyPatch.__struct_fields__):
        raise bad_request(f"nothing to change; send one or more of {', '.join(ProxyPatch.__struct_fields__)}")
    if b.server is not None:
        host_port(b.server)
    proxy, revision = await _find(call)
    changes: dict[str, object] = {
        name: value for name in ("name", "server", "protocol") if (value := getattr(b, name)) is not None
    }
    if b.username is not None:
        changes["username"] = b.username or None
    if b.password is not None:
        changes["sealed_password"] = _sealed(call, proxy.proxy_id, b.password)
    updated = msgspec.structs.replace(proxy, **changes)
    try:
        await ProxyBook(call.services.nc).update(updated, revision)
    except Stale:
        raise conflict(f"proxy {proxy.proxy_id!r} changed meanwhile; read it again and retry") from None
    return Proxy.of(updated)


@router.route("DELETE", "/api/v1/proxies/{id}", summary="delete a proxy no account uses", response=Deleted)
async def delete_proxy(call: Call) -> Deleted:
    proxy, _ = await _find(call)
    with call.services.models.read() as tx:
        users = [row.account_id for row in all_accounts(tx) if row.proxy_id == proxy.proxy_id]
    if users:
        raise conflict(f"proxy {proxy.proxy_id!r} is used by accounts {', '.join(users)}; move them off it first")
    await ProxyBook(call.services.nc).delete(proxy.proxy_id)
    return Deleted(id=proxy.proxy_id)


@router.route(
    "POST", "/api/v1/proxies/{id}/test", summary="open a TCP connection to the proxy and time it", response=ProxyTest
)
async def test_proxy(call: Call) -> ProxyTest:
    proxy, _ = await _find(call)
    host, port = host_port(proxy.server)
    started = time.perf_counter()
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), TEST_TIMEOUT_S)
    except TimeoutError:
        return ProxyTest(
            id=proxy.proxy_id,
            server=proxy.server,
            reachable=False,
            latency_ms=None,
            error=f"no connection within {TEST_TIMEOUT_S:g} s",
        )
    except OSError as exc:
        return ProxyTest(
            id=proxy.proxy_id,
            server=proxy.server,
            reachable=False,
            latency_ms=None,
            # asyncio's own strerror names only the address; the errno says what happened.
            error=os.strerror(exc.errno) if exc.errno else str(exc),
        )
    latency = (time.perf_counter() - started) * 1000
    writer.close()
    await writer.wait_closed()
    return ProxyTest(id=proxy.proxy_id, server=proxy.server, reachable=True, latency_ms=round(latency, 2), error=None)
