"""A write while NATS does not answer is a 503 that says so and when to retry, not a 500 with a traceback;
once the broker is back the same write goes through."""

from __future__ import annotations

import asyncio

from hiscrm.store.broker import EmbeddedBroker
from tests.api.api_client import Api
from tests.conftest import eventually

ACCOUNT = {"platform": "douyin", "account_name": "n"}


async def test_a_write_during_a_broker_outage_is_a_503_then_works_again(api: Api, broker: EmbeddedBroker) -> None:
    api.services.store.ack_timeout = 1.0
    await api.create_account("before")
    await broker.stop()
    try:
        r = await api.call("POST", "/api/v1/accounts", json={**ACCOUNT, "account_id": "x"})
        assert r.status_code == 503, r.text
        assert r.headers["retry-after"] == "1"
        body = r.json()
        assert body["success"] is False and body["error"]["code"] == "unavailable"
        assert "NATS did not answer" in body["error"]["message"] or "event stream" in body["error"]["message"]
    finally:
        await broker.start()
    # Reconnected clients write again, with no restart of the API.
    for _ in range(100):
        r = await api.call("POST", "/api/v1/accounts", json={**ACCOUNT, "account_id": "y"})
        if r.status_code != 503:
            break
        await asyncio.sleep(0.2)
    # 202 while the projector, reconnected too, catches up.
    assert r.status_code in (201, 202), r.text

    async def shown() -> bool:
        return (await api.call("GET", "/api/v1/accounts/y")).status_code == 200

    await eventually(shown, timeout=30, what="the account written after the outage, projected")
