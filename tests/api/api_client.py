"""Calling the admin API in tests: tokens, envelopes, recording facts as the other services would."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from hiscrm.api.local_workers import LocalWorkers
from hiscrm.api.services import Services
from hiscrm.facts.base import Fact
from hiscrm.store.event_store import EventStore

STAND_IN = Path(__file__).with_name("stand_in_worker.py")


def stand_in_command(*extra: str) -> list[str]:
    return [sys.executable, str(STAND_IN), *extra]


@dataclass
class Api:
    client: httpx.AsyncClient
    services: Services
    store: EventStore  # the test's own, as the admin user: what workers and the coordinator would append
    admin: str
    im: str

    @property
    def local(self) -> LocalWorkers:
        return self.services.extras["local_workers"]

    async def call(self, method: str, path: str, *, token: str | None = "admin", **kwargs: Any) -> httpx.Response:
        """`token`: "admin", "im", None for no header, anything else is sent as it is."""
        value = {"admin": self.admin, "im": self.im}.get(token, token) if token is not None else None
        headers = {"Authorization": f"Bearer {value}"} if value is not None else {}
        return await self.client.request(method, path, headers={**headers, **kwargs.pop("headers", {})}, **kwargs)

    async def ok(self, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
        """Call as admin, check the status and the envelope, return `data`."""
        r = await self.call(method, path, **kwargs)
        assert r.status_code == status, r.text
        body = r.json()
        assert body["success"] is True, body
        return body["data"]

    async def fails(self, method: str, path: str, status: int, *, token: str | None = "admin", **kwargs: Any) -> str:
        """Check a failure's status and envelope; return its message."""
        r = await self.call(method, path, token=token, **kwargs)
        assert r.status_code == status, r.text
        body = r.json()
        assert body["success"] is False and set(body["error"]) == {"code", "message"}, body
        assert body["error"]["message"], body
        return body["error"]["message"]

    async def create_account(self, account_id: str, **fields: Any) -> dict[str, Any]:
        body = {"platform": "douyin", "account_name": f"name of {account_id}", "account_id": account_id, **fields}
        return await self.ok("POST", "/api/v1/accounts", 201, json=body)

    async def record(self, *facts: Fact) -> int:
        """Append facts as the other services would, and wait until the read models show them."""
        seq = 0
        for fact in facts:
            seq = (await self.store.append(fact)).seq
        assert await self.services.models.wait_for(seq, 10)
        return seq
