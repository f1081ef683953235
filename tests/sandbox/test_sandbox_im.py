"""Direct messages: the JSON conversation list, binary history, sending and its refusals."""

from __future__ import annotations

import json

import httpx
import pytest

from hiscrm.sandbox.state import World
from tests.sandbox.sandbox_helpers import KITCHEN, RIDER, pb_fields, pb_message

SEND = "/v1/message/send"
USER_DETAIL = "/aweme/v1/creator/im/user_detail/"


async def history(client: httpx.AsyncClient, conversation_id: str, cursor: int = 0, count: int = 50) -> dict:
    answer = await client.get(
        "/v1/message/get_by_conversation", params={"conversation_id": conversation_id, "cursor": cursor, "count": count}
    )
    assert answer.headers["content-type"] == "application/x-protobuf"
    with pytest.raises(ValueError):
        json.loads(answer.content)  # history is never readable JSON
    f = pb_fields(answer.content)
    return {"messages": [pb_message(m) for m in f.get(1, [])], "has_more": f[2][0], "cursor": f[3][0]}


async def test_conversation_list_and_history(client: httpx.AsyncClient, login, world: World) -> None:
    await login(KITCHEN)
    detail = (await client.get(USER_DETAIL)).json()
    assert detail["status_code"] == 0 and len(detail["user_list"]) == 6
    entry = detail["user_list"][0]
    # The public shape: the uid outside, the profile inside with ShortId (the 抖音号), no conversation ids.
    assert set(entry) == {"user_id", "user"} and set(entry["user"]) == {
        "nickname",
        "ShortId",
        "sec_uid",
        "avatar_thumb",
    }
    assert entry["user"]["ShortId"] == world.users[entry["user_id"]].unique_id
    low, high = sorted((KITCHEN, entry["user_id"]), key=int)
    entry["conversation_id"] = f"0:1:{low}:{high}"

    init = pb_fields((await client.post("/v2/message/get_by_user_init")).content)
    convs = [pb_fields(c) for c in init[1]]
    assert [c[3][0].decode() for c in convs] == [e["user_id"] for e in detail["user_list"]]
    assert convs[0][1][0].decode() == entry["conversation_id"]
    last_times = [c[5][0] for c in convs]
    assert last_times == sorted(last_times, reverse=True)

    page = await history(client, entry["conversation_id"])
    stored = world.conversations[entry["conversation_id"]].messages
    assert [m["msg_id"] for m in page["messages"]] == [m.msg_id for m in stored]
    assert page["has_more"] == 0
    assert {m["sender_uid"] for m in page["messages"]} <= {KITCHEN, entry["user_id"]}
    assert all(m["conversation_id"] == entry["conversation_id"] for m in page["messages"])
    assert page["messages"][0]["created_ms"] < page["messages"][-1]["created_ms"]

    # Older pages by cursor, oldest first within each page, nothing lost or doubled.
    pages, cursor = [], 0
    while True:
        chunk = await history(client, entry["conversation_id"], cursor, 3)
        pages = chunk["messages"] + pages
        if not chunk["has_more"]:
            break
        cursor = chunk["cursor"]
    assert [m["msg_id"] for m in pages] == [m.msg_id for m in stored]

    stranger = (await client.get("/v1/message/get_by_conversation", params={"conversation_id": "0:1:1:2"})).json()
    assert stranger["status_code"] != 0


async def test_user_detail_names_the_peers_asked_for(client: httpx.AsyncClient, login) -> None:
    """The page asks for the peers of the rows it renders: `user_ids` keeps those, in list order."""
    await login(KITCHEN)
    every = [e["user_id"] for e in (await client.get(USER_DETAIL)).json()["user_list"]]
    asked = [every[3], every[1], "1"]  # out of order, and one who is no peer
    some = (await client.get(USER_DETAIL, params={"user_ids": ",".join(asked)})).json()
    assert [e["user_id"] for e in some["user_list"]] == [every[1], every[3]]
    assert (await client.get(USER_DETAIL, params={"user_ids": ""})).json()["user_list"] == []


async def test_inbound_message_opens_a_conversation(client: httpx.AsyncClient, login) -> None:
    await login(RIDER)
    added = await client.post(
        "/__sandbox/messages",
        json={
            "uid": RIDER,
            "text": "请问周末的骑行活动还能报名吗？",
            "sender": {"nickname": "骑行小白", "uid": "1234567890123456789"},
            "created_ms": 1_800_000_000_123,
            "msg_id": "7311111111111111111",
        },
    )
    assert added.status_code == 201
    message = added.json()
    assert message["conversation_id"] == f"0:1:{RIDER}:1234567890123456789"
    detail = (await client.get(USER_DETAIL)).json()["user_list"]
    assert detail[0]["user_id"] == "1234567890123456789" and detail[0]["user"]["nickname"] == "骑行小白"
    page = await history(client, message["conversation_id"])
    assert page["messages"] == [
        {
            "msg_id": "7311111111111111111",
            "conversation_id": message["conversation_id"],
            "sender_uid": "1234567890123456789",
            "content": "请问周末的骑行活动还能报名吗？",
            "created_ms": 1_800_000_000_123,
        }
    ]
    duplicate = await client.post(
        "/__sandbox/messages",
        json={
            "uid": RIDER,
            "text": "again",
            "sender": {"uid": "1234567890123456789"},
            "msg_id": "7311111111111111111",
        },
    )
    assert duplicate.status_code == 400


async def send(client: httpx.AsyncClient, csrf: str, conversation_id: str, content: str) -> dict:
    answer = await client.post(
        SEND, json={"conversation_id": conversation_id, "content": content}, headers={"X-Secsdk-Csrf-Token": csrf}
    )
    assert answer.headers["content-type"] == "application/x-protobuf", answer.text
    f = pb_fields(answer.content)
    return {
        "status_code": f[1][0],
        "status_msg": f[2][0].decode() if 2 in f else "",
        "message": pb_message(f[3][0]) if 3 in f else None,
    }


async def test_sending_and_refusals(client: httpx.AsyncClient, login, world: World) -> None:
    csrf = await login(KITCHEN)
    conv = (await client.get(USER_DETAIL)).json()["user_list"][0]
    conversation_id = world.conversation(KITCHEN, conv["user_id"]).conversation_id
    unsigned = await client.post(SEND, json={"conversation_id": conversation_id, "content": "hi"})
    assert unsigned.status_code == 403

    result = await send(client, csrf, conversation_id, "你好，合作详情请发邮件～")
    assert result["status_code"] == 0
    message = result["message"]
    assert message["sender_uid"] == KITCHEN and message["content"] == "你好，合作详情请发邮件～"
    assert (await history(client, conversation_id))["messages"][-1]["msg_id"] == message["msg_id"]
    sent = (await client.get("/__sandbox/sent", params={"kind": "dm"})).json()
    assert [(s["id"], s["conversation_id"], s["peer_uid"], s["created_ms"]) for s in sent] == [
        (message["msg_id"], conversation_id, conv["user_id"], message["created_ms"])
    ]

    await client.post(f"/__sandbox/accounts/{KITCHEN}/arm", json={"mode": "refuse", "times": 1})
    refused = await send(client, csrf, conversation_id, "在吗")
    assert refused["status_code"] != 0 and refused["message"] is None
    assert any(word in refused["status_msg"] for word in ("无法", "失败", "禁", "限制"))
    assert (await send(client, csrf, conversation_id, "在吗"))["status_code"] == 0  # the arm was for one send

    await client.post(f"/__sandbox/accounts/{KITCHEN}/arm", json={"mode": "rate_limit", "times": 2})
    for _ in range(2):
        assert "操作过于频繁" in (await send(client, csrf, conversation_id, "在吗"))["status_msg"]
    assert (await send(client, csrf, conversation_id, "好的"))["status_code"] == 0
    assert len([s for s in world.sent if s.kind == "dm"]) == 3
