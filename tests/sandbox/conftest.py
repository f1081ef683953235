"""Fixtures for the sandbox tests: a demo world, its ASGI app, and a logged-in client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from hiscrm.sandbox.app import create_app
from hiscrm.sandbox.seed import demo_world
from hiscrm.sandbox.state import World
from tests.sandbox.sandbox_helpers import CSRF_META, KITCHEN


@pytest.fixture
def world() -> World:
    return demo_world()


@pytest.fixture
async def client(world: World) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(world, traffic=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox.test") as c:
        yield c


Login = Callable[..., Awaitable[str]]


@pytest.fixture
def login(client: httpx.AsyncClient) -> Login:
    """Logs the client in as an account through the real QR flow; returns the page's CSRF token."""

    async def run(uid: str = KITCHEN) -> str:
        token = (await client.get("/passport/web/get_qrcode/")).json()["data"]["token"]
        scanned = await client.post("/__sandbox/qr/scan", json={"uid": uid, "token": token})
        assert scanned.status_code == 200, scanned.text
        status = (await client.get("/passport/web/check_qrconnect/", params={"token": token})).json()
        assert status["data"]["status"] == "confirmed"
        page = await client.get("/creator-micro/home")
        assert page.status_code == 200
        return CSRF_META.search(page.text).group(1)

    return run
