"""Replies: idempotent on request_id, refused for unknown or inactive accounts, outcomes shown as they land."""

from __future__ import annotations

import asyncio
from typing import Any

from hiscrm.api.v1.replies import reply_id_for
from hiscrm.facts import catalogue as c
from tests.api.api_client import Api


def request(request_id: str = "req-1", **fields: Any) -> dict[str, Any]:
    return {
        "request_id": request_id,
        "account_id": "shop1",
        "target_type": "comment",
        "target_id": "cm1",
        "reply_content": "谢谢支持!",
        "video_id": "v1",
        **fields,
    }


async def test_a_reply_is_pending_at_once_with_its_ids_beside_data(api: Api) -> None:
    await api.create_account("shop1")
    r = await api.call("POST", "/api/v1/replies", json=request())
    assert r.status_code == 201, r.text
    body = r.json()
    reply_id = reply_id_for("shop1", "req-1")
    assert body["success"] is True
    assert (body["reply_id"], body["request_id"], body["status"]) == (reply_id, "req-1", "pending")
    data = body["data"]
    assert data["reply_id"] == reply_id and data["status"] == "pending" and data["reply_content"] == "谢谢支持!"
    assert data["target_type"] == "comment" and data["video_id"] == "v1" and data["requested_by"].startswith("admin")
    assert await api.ok("GET", f"/api/v1/replies/{reply_id}") == data
    [recorded] = await api.store.history("reply", reply_id)
    assert isinstance(recorded.fact, c.ReplyRequested) and recorded.fact.content == "谢谢支持!"


async def test_the_same_request_twice_is_the_first_reply_and_another_body_is_a_conflict(api: Api) -> None:
    await api.create_account("shop1")
    first = await api.ok("POST", "/api/v1/replies", 201, json=request())
    again = await api.call("POST", "/api/v1/replies", json=request())
    assert again.status_code == 200 and again.json()["data"] == first and again.json()["reply_id"] == first["reply_id"]
    message = await api.fails("POST", "/api/v1/replies", 409, json=request(reply_content="something else"))
    assert "'req-1'" in message and "different" in message
    assert len(await api.store.history("reply", first["reply_id"])) == 1


async def test_concurrent_repeats_record_one_reply(api: Api) -> None:
    await api.create_account("shop1")
    answers = await asyncio.gather(*(api.call("POST", "/api/v1/replies", json=request()) for _ in range(6)))
    assert sorted(r.status_code for r in answers) == [200] * 5 + [201]
    assert len({r.json()["data"]["reply_id"] for r in answers}) == 1
    assert len(await api.store.history("reply", reply_id_for("shop1", "req-1"))) == 1


async def test_a_repeat_with_another_body_racing_the_first_is_still_a_conflict(api: Api) -> None:
    await api.create_account("shop1")
    answers = await asyncio.gather(
        api.call("POST", "/api/v1/replies", json=request()),
        api.call("POST", "/api/v1/replies", json=request(target_id="cm2")),
    )
    assert sorted(r.status_code for r in answers) == [201, 409]


async def test_replies_are_refused_for_unknown_inactive_or_incomplete_requests(api: Api) -> None:
    assert "account 'ghost' not found" in await api.fails(
        "POST", "/api/v1/replies", 404, json=request(account_id="ghost")
    )
    await api.create_account("shop1")
    await api.ok("PATCH", "/api/v1/accounts/shop1", json={"status": "disabled"})
    assert "disabled" in await api.fails("POST", "/api/v1/replies", 400, json=request())
    await api.ok("PATCH", "/api/v1/accounts/shop1", json={"status": "active"})
    for field in ("request_id", "account_id", "target_type", "target_id", "reply_content"):
        incomplete = {k: v for k, v in request().items() if k != field}
        message = await api.fails("POST", "/api/v1/replies", 400, json=incomplete)
        assert f"missing required field `{field}`" in message, field
    assert "'email'" in await api.fails("POST", "/api/v1/replies", 400, json=request(target_type="email"))
    assert "blank" in await api.fails("POST", "/api/v1/replies", 400, json=request(reply_content="   "))
    assert "dot" in await api.fails("POST", "/api/v1/replies", 400, json=request(account_id="a.b"))
    assert "reply_content" in await api.fails("POST", "/api/v1/replies", 400, json=request(reply_content=7))
    assert await api.ok("GET", "/api/v1/replies") == []


async def test_outcomes_and_lists(api: Api) -> None:
    await api.create_account("shop1")
    await api.create_account("shop2")
    one = await api.ok("POST", "/api/v1/replies", 201, json=request("r1"))
    two = await api.ok("POST", "/api/v1/replies", 201, json=request("r2", target_type="direct_message", user_id="u9"))
    three = await api.ok("POST", "/api/v1/replies", 201, json=request("r3", account_id="shop2"))
    await api.record(
        c.ReplySent(reply_id=one["reply_id"], account_id="shop1", platform_id="p1", worker_id="w1"),
        c.ReplyFailed(reply_id=two["reply_id"], account_id="shop1", reason="blocked by platform"),
    )
    sent = await api.ok("GET", f"/api/v1/replies/{one['reply_id']}")
    assert sent["status"] == "sent" and sent["platform_id"] == "p1" and sent["sent_at"] is not None
    assert [r["reply_id"] for r in await api.ok("GET", "/api/v1/replies")] == [
        three["reply_id"],
        two["reply_id"],
        one["reply_id"],
    ]
    assert [r["request_id"] for r in await api.ok("GET", "/api/v1/replies?account_id=shop1")] == ["r2", "r1"]
    failed = await api.ok("GET", "/api/v1/replies?status=failed")
    assert [r["reason"] for r in failed] == ["blocked by platform"]
    assert len(await api.ok("GET", "/api/v1/replies?limit=2")) == 2
    assert "account 'ghost' not found" in await api.fails("GET", "/api/v1/replies?account_id=ghost", 404)
    assert "'lost'" in await api.fails("GET", "/api/v1/replies?status=lost", 400)
