"""Bad input gets the IM error envelope with the right HTTP status and a message that says what was wrong."""

from __future__ import annotations

from tests.api.api_client import Api
from tests.api_im.im_client import comment, error_message, im_fails


async def test_bad_input(api: Api) -> None:
    await api.create_account("shop1")
    await api.record(comment("shop1", "cm1", t=1))
    assert "account_id is required" in await im_fails(api, "GET", "/api/im/conversations", 400)
    assert "account_id" in await im_fails(api, "GET", "/api/im/history", 400)
    assert "count" in await im_fails(api, "GET", "/api/im/messages?account_id=shop1&count=abc", 400)
    assert "is_new" in await im_fails(api, "GET", "/api/im/unified-messages?is_new=maybe", 400)
    assert "types" in await im_fails(api, "GET", "/api/im/unified-messages?types=sms", 400)
    assert "'ghost'" in await im_fails(api, "GET", "/api/im/conversations?account_id=ghost", 404)
    assert "not found" in await im_fails(api, "GET", "/api/im/messages/nope", 404)
    assert "not found" in await im_fails(api, "PUT", "/api/im/discussions/nope/read", 404)
    assert "cursor 999" in await im_fails(api, "GET", "/api/im/unified-messages?account_id=shop1&cursor=999", 400)
    assert "cursor" in await im_fails(api, "GET", "/api/im/discussions?account_id=shop1&cursor=999", 400)
    assert "control characters" in await im_fails(api, "GET", "/api/im/contents/a%01b", 400)
    assert "dot" in await im_fails(api, "GET", "/api/im/conversations?account_id=a.b", 400)
    big = {"account_id": "shop1", "conversation_id": "0:1:11:22", "content": "x" * 300_000}
    assert "limit" in await im_fails(api, "POST", "/api/im/messages", 413, json=big)
    assert "content" in await im_fails(api, "POST", "/api/im/discussions", 400, json={"parent_comment_id": "cm1"})
    assert "body" in await im_fails(api, "POST", "/api/im/discussions", 400, content=b"{not json")
    assert "no route" in await im_fails(api, "GET", "/api/im/nothing-here", 404)
    r = await api.call("GET", "/api/im/accounts", token=None)
    assert r.status_code == 401 and "Authorization" in error_message(r, 401)


async def test_a_token_limited_to_some_accounts_sees_only_those(api: Api) -> None:
    await api.create_account("shop1")
    await api.create_account("shop2")
    await api.record(comment("shop1", "cm1", t=1), comment("shop2", "cm2", t=2))
    tokens = api.client._transport.app.state.tokens  # type: ignore[attr-defined]
    limited = tokens.add("im", accounts=["shop1"], name="limited").secret
    r = await api.call("GET", "/api/im/unified-messages", token=limited)
    assert [x["msg_id"] for x in r.json()["data"]["messages"]] == ["cm1"]
    assert "'shop2'" in await im_fails(api, "GET", "/api/im/history?account_id=shop2", 404, token=limited)
    assert "not found" in await im_fails(api, "GET", "/api/im/discussions/cm2", 404, token=limited)
    users = (await api.call("GET", "/api/im/accounts", token=limited)).json()["data"]["users"]
    assert [u["user_id"] for u in users] == ["shop1"]
