"""Writes append IM-state facts and are visible in the very next read; sends go through the reply flow."""

from __future__ import annotations

from hiscrm.facts import catalogue as c
from tests.api.api_client import Api
from tests.api_im.im_client import comment, im, message


async def _seed(api: Api) -> None:
    await api.create_account("shop1")
    await api.record(
        comment("shop1", "cm1", t=1),
        message("shop1", "m1", t=2, conversation="0:1:11:22"),
        message("shop1", "m2", t=3, conversation="0:1:33:22"),
        c.ContentObserved(account_id="shop1", content_id="v1", title="Work"),
    )


async def test_conversation_changes_show_in_the_next_read(api: Api) -> None:
    await _seed(api)
    pinned = (await im(api, "PUT", "/api/im/conversations/0:1:11:22/pin"))["data"]
    assert pinned["is_pinned"] is True
    order = (await im(api, "GET", "/api/im/conversations?account_id=shop1"))["data"]["conversations"]
    assert [x["conversation_id"] for x in order] == ["0:1:11:22", "0:1:33:22"]  # pinned first, then newest
    assert (await im(api, "PUT", "/api/im/conversations/0:1:11:22/mute"))["data"]["is_muted"] is True
    read = (await im(api, "PUT", "/api/im/conversations/0:1:11:22/read"))["data"]
    assert read["unread_count"] == 0
    assert (await im(api, "GET", "/api/im/messages/m1"))["data"]["is_read"] is True
    await im(api, "DELETE", "/api/im/conversations/0:1:11:22/pin")
    await im(api, "DELETE", "/api/im/conversations/0:1:33:22")
    listed = (await im(api, "GET", "/api/im/conversations?account_id=shop1"))["data"]["conversations"]
    assert [x["conversation_id"] for x in listed] == ["0:1:11:22"]
    gone = (await im(api, "GET", "/api/im/conversations?account_id=shop1&status=deleted"))["data"]["conversations"]
    assert [x["conversation_id"] for x in gone] == ["0:1:33:22"]
    events = [r.fact.event for r in await api.store.history("inbox", "shop1")]
    assert events[-5:] == [
        "conversation_pinned",
        "conversation_muted",
        "conversation_read",
        "conversation_unpinned",
        "conversation_deleted",
    ]


async def test_message_comment_and_content_changes(api: Api) -> None:
    await _seed(api)
    assert (await im(api, "PUT", "/api/im/messages/m2/read"))["data"]["is_read"] is True
    body = {"status": "read"}
    assert (await im(api, "PUT", "/api/im/messages/m2/status", json=body))["data"]["status"] == "read"
    assert (await im(api, "PUT", "/api/im/messages/m2/recall"))["data"]["is_recalled"] is True
    assert (await im(api, "DELETE", "/api/im/messages/m2"))["data"]["is_deleted"] is True
    assert (await im(api, "GET", "/api/im/messages?account_id=shop1&is_deleted=true"))["data"]["messages"][0][
        "msg_id"
    ] == "m2"
    assert (await im(api, "PUT", "/api/im/discussions/cm1/read"))["data"]["is_read"] is True
    assert (await im(api, "PUT", "/api/im/contents/v1/read"))["data"]["is_new"] is False
    stats = (await im(api, "GET", "/api/im/unified-messages/stats?account_id=shop1"))["data"]
    assert stats == {
        "total_unread": 1,
        "unread_comments": 0,
        "unread_discussions": 0,
        "unread_direct_messages": 1,
        "unread_notifications": 1,
    }
    # Reading again records nothing more.
    before = len(await api.store.history("inbox", "shop1"))
    await im(api, "PUT", "/api/im/discussions/cm1/read")
    assert len(await api.store.history("inbox", "shop1")) == before


async def test_unified_read_one_and_many(api: Api) -> None:
    await _seed(api)
    await api.record(comment("shop1", "cm2", t=5, parent="cm1"))
    one = await im(api, "PUT", "/api/im/unified-messages/m1/read", json={"business_type": "direct_message"})
    assert one["data"] == {"read": 1, "missing": [], "marked": True, "marked_count": 1}
    many = {"message_ids": ["cm1", "ghost", "m1"], "business_type": "comment"}
    assert (await im(api, "PUT", "/api/im/unified-messages/read-many", json=many))["data"] == {
        "read": 1,
        "missing": ["ghost", "m1"],  # m1 is a DM, not a comment
        "marked": False,
        "marked_count": 1,
    }
    again = {"message_ids": ["cm1"], "business_type": "comment"}
    assert (await im(api, "PUT", "/api/im/unified-messages/read-many", json=again))["data"] == {
        "read": 0,
        "missing": [],
        "marked": True,
        "marked_count": 1,
    }
    await im(
        api, "PUT", "/api/im/unified-messages/read-many", json={"message_ids": ["cm2"], "business_type": "discussion"}
    )
    inbox = (await im(api, "GET", "/api/im/unified-messages?account_id=shop1&is_read=false"))["data"]["messages"]
    assert [x["msg_id"] for x in inbox] == ["m2"]


async def test_a_polled_inbox_page_is_kept_only_until_its_account_changes(api: Api) -> None:
    await _seed(api)
    await api.create_account("shop2")
    page = "/api/im/unified-messages?account_id=shop1"
    cache = api.client._transport.app.state.page_cache  # type: ignore[attr-defined]
    first = await im(api, "GET", page)
    assert await im(api, "GET", page) == first
    assert cache.hits >= 1, "the same page twice, nothing changed: built once"
    await api.record(comment("shop2", "other", t=50))  # another account's inbox moves; shop1's page holds
    hits = cache.hits
    assert await im(api, "GET", page) == first and cache.hits == hits + 1

    await im(api, "PUT", "/api/im/unified-messages/cm1/read", json={"business_type": "comment"})
    after_read = await im(api, "GET", page)
    assert next(x for x in after_read["data"]["messages"] if x["msg_id"] == "cm1")["is_read"] is True
    await api.record(comment("shop1", "cm9", t=60))
    assert (await im(api, "GET", page))["data"]["messages"][0]["msg_id"] == "cm9"


async def test_sending_goes_through_the_reply_flow(api: Api) -> None:
    await _seed(api)
    sent = (
        await im(
            api,
            "POST",
            "/api/im/messages",
            201,
            json={"account_id": "shop1", "conversation_id": "0:1:11:22", "content": "你好", "request_id": "r1"},
        )
    )["data"]
    assert (sent["status"], sent["direction"], sent["content"], sent["conversation_id"]) == (
        "sending",
        "outbound",
        "你好",
        "0:1:11:22",
    )
    assert sent["receiver"]["user_id"] == "peer1"
    [requested] = await api.store.history("reply", sent["msg_id"])
    fact = requested.fact
    assert isinstance(fact, c.ReplyRequested) and (fact.target_type, fact.conversation_id) == (
        "direct_message",
        "0:1:11:22",
    )
    await api.record(c.ReplySent(reply_id=sent["msg_id"], account_id="shop1", platform_id="p1"))
    assert (await im(api, "GET", f"/api/im/messages/{sent['msg_id']}"))["data"]["status"] == "sent"

    reply = (await im(api, "POST", "/api/im/discussions", 201, json={"parent_comment_id": "cm1", "content": "谢谢"}))[
        "data"
    ]
    assert (reply["send_status"], reply["parent_comment_id"], reply["post_id"]) == ("pending", "cm1", "v1")
    await api.record(c.ReplyFailed(reply_id=reply["discussion_id"], account_id="shop1", reason="risk control"))
    shown = (await im(api, "GET", f"/api/im/discussions/{reply['discussion_id']}"))["data"]
    assert shown["send_status"] == "failed"


async def test_accounts_are_managed_through_the_admin_rules(api: Api) -> None:
    made = await im(api, "POST", "/api/im/accounts", 201, token="admin", json={"user_name": "Shop", "user_id": "s9"})
    assert made["data"]["user_id"] == "s9" and made["data"]["status"] == "pending"
    changed = await im(api, "PUT", "/api/im/accounts/s9", token="admin", json={"status": "inactive"})
    assert changed["data"]["status"] == "inactive"
    assert (await im(api, "DELETE", "/api/im/accounts/s9", token="admin"))["data"] == {"user_id": "s9", "deleted": True}
    r = await api.call("GET", "/api/im/accounts/s9", token="im")
    assert r.status_code == 404
