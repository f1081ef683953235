"""The variants the sandbox serves where public sources disagree or the site has two generations, and
the live push of new DMs over the chat page's WebSocket."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import websockets

from hiscrm.sandbox.state import World
from tests.sandbox.sandbox_helpers import KITCHEN, serving


async def test_variants_switch_and_refuse_unknown_values(client: httpx.AsyncClient) -> None:
    assert (await client.get("/__sandbox/variants")).json() == {
        "comment_page": "interactive",
        "dm_history": "protobuf",
        "item_time": "zh",
    }
    changed = await client.post("/__sandbox/variants", json={"dm_history": "json"})
    assert changed.json()["dm_history"] == "json" and changed.json()["comment_page"] == "interactive"
    for bad in ({"dm_history": "xml"}, {"comment_pages": "work_detail"}):
        refused = await client.post("/__sandbox/variants", json=bad)
        assert refused.status_code == 400 and refused.json()["error"]
    assert (await client.get("/__sandbox/variants")).json()["dm_history"] == "json"


async def test_json_history_and_the_work_detail_generation(client: httpx.AsyncClient, login, world: World) -> None:
    await login(KITCHEN)
    conv = next(iter(world.conversations_of[KITCHEN].values()))
    query = {"conversation_id": conv.conversation_id}
    assert (
        (await client.get("/v1/message/get_by_conversation", params=query)).headers["content-type"].endswith("protobuf")
    )
    assert (
        await client.get(f"/creator-micro/work-management/work-detail/{world.newest_works(KITCHEN)[0].aweme_id}")
    ).status_code == 302

    await client.post("/__sandbox/variants", json={"dm_history": "json", "comment_page": "work_detail"})
    history = (await client.get("/v1/message/get_by_conversation", params=query)).json()
    assert [m["server_message_id"] for m in history["messages"]] == [m.msg_id for m in conv.messages]
    first = history["messages"][0]
    assert json.loads(first["content"]) == {"text": conv.messages[0].content, "aweType": 700}
    assert first["sender"] == conv.messages[0].sender_uid and first["create_time"] == conv.messages[0].created_ms
    init = (await client.post("/v2/message/get_by_user_init")).json()
    mine = {c.conversation_id for c in world.conversations_of[KITCHEN].values()}
    assert {c["conversation_id"] for c in init["conversations"]} == mine
    page = await client.get(f"/creator-micro/work-management/work-detail/{world.newest_works(KITCHEN)[0].aweme_id}")
    assert page.status_code == 200 and "作品详情" in page.text


async def test_new_messages_are_pushed_to_the_open_chat(world: World) -> None:
    async with serving(world) as base, httpx.AsyncClient(base_url=base) as http:
        host = base.removeprefix("http://")
        cookie = {"Cookie": f"sessionid={world.open_session(KITCHEN).sessionid}"}
        async with websockets.connect(f"ws://{host}/ws/v2?aid=6383", additional_headers=cookie) as socket:
            added = (
                await http.post("/__sandbox/messages", json={"uid": KITCHEN, "text": "在吗？", "sender": {}})
            ).json()
            frame = json.loads(await asyncio.wait_for(socket.recv(), 5))
        notify = frame["payload"]["new_message_notify"]
        assert notify["conversation_id"] == added["conversation_id"]
        assert notify["message"]["server_message_id"] == added["msg_id"]
        assert json.loads(notify["message"]["content"])["text"] == "在吗？"
        assert notify["message"]["sender"] == added["sender_uid"]
        with pytest.raises(websockets.InvalidStatus):  # logged out: refused before it opens
            async with websockets.connect(f"ws://{host}/ws/v2"):
                pass
