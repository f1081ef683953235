"""Every /api/im route's answer against reference/im-api.md: each field present, of the right type, with the value
the appended facts carried (never a placeholder), and the cursor and has_more where each list puts them."""

from __future__ import annotations

from typing import Any

import pytest

from hiscrm.facts import catalogue as c
from tests.api.api_client import Api
from tests.api_im.im_client import NOW, comment, im, message, person

S, INT, B, N = str, int, bool, type(None)

USER = {
    "user_id": S,
    "user_name": S,
    "avatar": (S, N),
    "signature": (S, N),
    "verified": (B, N),
    "follower_count": (INT, N),
    "following_count": (INT, N),
    "status": S,
    "platform": S,
    "created_at": INT,
    "updated_at": INT,
}
PERSON = {"user_id": (S, N), "user_name": (S, N), "avatar": (S, N)}
CONVERSATION = {
    "conversation_id": S,
    "conversation_short_id": (S, N),
    "conversation_type": S,
    "participant": (dict, N),
    "last_message": (dict, N),
    "unread_count": INT,
    "is_pinned": B,
    "is_muted": B,
    "last_message_type": (S, N),
    "create_time": INT,
    "update_time": INT,
    "platform": S,
    "status": S,
}
MESSAGE = {
    "msg_id": S,
    "conversation_id": (S, N),
    "sender": (dict, N),
    "receiver": (dict, N),
    "msg_type": S,
    "content": S,
    "create_time": INT,
    "status": S,
    "is_read": B,
    "is_deleted": B,
    "is_recalled": B,
    "reply_to_message_id": (S, N),
    "media_url": (S, N),
    "media_thumbnail": (S, N),
    "file_size": (INT, N),
    "file_name": (S, N),
    "duration": (INT, N),
    "recalled_at": (INT, N),
    "direction": S,
    "platform": S,
}
STATS = {"total_comments": INT, "new_comments": INT, "likes": INT, "shares": INT, "views": INT}
CONTENT = {
    "content_id": S,
    "platform": S,
    "platform_content_id": S,
    "content_type": S,
    "title": (S, N),
    "description": (S, N),
    "cover": (S, N),
    "url": (S, N),
    "publish_time": (INT, N),
    "stats": dict,
    "is_new": B,
    "crawl_status": (S, N),
    "created_at": INT,
    "updated_at": INT,
    "last_crawl_time": INT,
}
DISCUSSION = {
    "discussion_id": S,
    "platform": S,
    "platform_discussion_id": S,
    "parent_comment_id": (S, N),
    "content": S,
    "author": dict,
    "content_id": (S, N),
    "post_id": (S, N),
    "post_title": (S, N),
    "is_read": B,
    "is_new": B,
    "detected_at": INT,
    "created_at": INT,
}
UNIFIED = {
    "msg_id": S,
    "conversation_id": S,
    "msg_type": S,
    "business_type": S,
    "sender": (dict, N),
    "content": S,
    "is_read": B,
    "is_new": B,
    "create_time": INT,
    "detected_at": INT,
    "platform": S,
}
UNIFIED_KIND = {
    "comment": {"content_id": S, "work_title": (S, N), "platform_comment_id": S},
    "discussion": {"parent_comment_id": S, "content_id": S, "work_title": (S, N), "platform_discussion_id": S},
    "direct_message": {"receiver": (dict, N), "direction": S, "platform_message_id": S, "status": S},
}
NOTIFICATION = {
    "id": INT,
    "account_id": S,
    "kind": S,
    "title": S,
    "text": (S, N),
    "is_read": B,
    "create_time": INT,
    "item_time": (INT, N),
    "content_id": (S, N),
    "comment_id": (S, N),
    "parent_comment_id": (S, N),
    "conversation_id": (S, N),
    "message_id": (S, N),
    "platform_notification_id": (S, N),
    "login_id": (S, N),
    "worker_id": (S, N),
    "user": (dict, N),
}


def shaped(item: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    for name, kind in spec.items():
        assert name in item, f"{name} missing from {item}"
        assert isinstance(item[name], kind) and not (kind is INT and isinstance(item[name], bool)), (name, item[name])
    assert "未知用户" not in str(item)
    return item


def listed(body: dict[str, Any], key: str, *, beside: bool) -> list[dict[str, Any]]:
    """The items of a list, checking where the predecessor put cursor and has_more."""
    holder = body if beside else body["data"]
    assert isinstance(holder["cursor"], int) and isinstance(holder["has_more"], bool), body
    assert ("cursor" in body["data"]) != beside, body
    return body["data"][key]


@pytest.fixture
async def world(api: Api) -> Api:
    await api.create_account("shop1")
    await api.record(
        c.LoginRequested(login_id="L1", account_id="shop1", expires_at_ms=NOW + 300_000),
        c.LoginSucceeded(
            login_id="L1",
            account_id="shop1",
            sealed_credentials="sealed",
            profile=c.Profile(
                uid="me",
                nickname="Shop",
                avatar="https://img.test/me.png",
                signature="hi",
                follower_count=12,
                following_count=3,
            ),
        ),
        c.ContentObserved(
            account_id="shop1",
            content_id="v1",
            title="My work",
            description="d",
            cover="https://img.test/c.png",
            url="https://v.test/v1",
            publish_time_ms=NOW - 5000,
            stats=c.ContentStats(comments=7, likes=9, shares=2, views=40),
        ),
        comment("shop1", "cm1", t=1),
        comment("shop1", "cm2", t=2, parent="cm1", ip_label="Shanghai"),
        c.ConversationObserved(
            account_id="shop1", conversation_id="0:1:11:22", peer=person("peer1", "Peer One"), short_id="s1"
        ),
        message("shop1", "m1", t=3, inbound=True),
        message("shop1", "m2", t=4, inbound=False),
    )
    return api


async def test_health_version_and_accounts(world: Api) -> None:
    r = await world.call("GET", "/api/im/health", token=None)
    health = r.json()["data"]
    assert r.status_code == 200 and health["status"] == "ok"
    # What the predecessor's clients read, beside our own fields.
    assert isinstance(health["version"], str) and isinstance(health["timestamp"], int) and health["nats"] is True
    version = (await im(world, "GET", "/api/im/version"))["data"]
    assert version["platforms"] == version["supported_platforms"] == ["douyin"]
    assert isinstance(version["api_version"], str) and isinstance(version["compatibility"], str)
    users = listed(await im(world, "GET", "/api/im/accounts"), "users", beside=False)
    [user] = [shaped(u, USER) for u in users]
    assert (user["user_id"], user["user_name"], user["avatar"], user["signature"]) == (
        "shop1",
        "Shop",
        "https://img.test/me.png",
        "hi",
    )
    assert (user["follower_count"], user["status"], user["verified"]) == (12, "active", None)
    assert shaped((await im(world, "GET", "/api/im/accounts/shop1"))["data"], USER) == user


async def test_conversations(world: Api) -> None:
    body = await im(world, "GET", "/api/im/conversations?account_id=shop1")
    [conv] = [shaped(x, CONVERSATION) for x in listed(body, "conversations", beside=False)]
    assert shaped(conv["participant"], PERSON) == {
        "user_id": "peer1",
        "user_name": "Peer One",
        "avatar": "https://img.test/peer1.png",
    }
    assert conv["last_message"] == {"content": "content of m2", "msg_type": "text", "create_time": NOW + 4}
    assert (conv["unread_count"], conv["conversation_short_id"], conv["last_message_type"]) == (1, "s1", "text")
    one = await im(world, "GET", "/api/im/conversations/0:1:11:22?account_id=shop1")
    assert one["data"] == conv


async def test_messages(world: Api) -> None:
    body = await im(world, "GET", "/api/im/messages?account_id=shop1")
    m2, m1 = (shaped(x, MESSAGE) for x in listed(body, "messages", beside=False))
    assert (m1["msg_id"], m1["direction"], m1["status"], m1["is_read"]) == ("m1", "inbound", "delivered", False)
    assert (m2["msg_id"], m2["direction"], m2["status"], m2["is_read"]) == ("m2", "outbound", "sent", True)
    assert shaped(m1["sender"], PERSON)["user_name"] == "Peer One" and m1["receiver"]["user_id"] == "me"
    assert m1["create_time"] == NOW + 3 and m1["content"] == "content of m1"
    assert (await im(world, "GET", "/api/im/messages/m1"))["data"] == m1
    same = await im(world, "GET", "/api/im/messages/conversations/0:1:11:22/messages?account_id=shop1")
    assert listed(same, "messages", beside=False) == [m2, m1]


async def test_contents(world: Api) -> None:
    body = await im(world, "GET", "/api/im/contents?account_id=shop1")
    [work] = [shaped(x, CONTENT) for x in listed(body, "contents", beside=True)]
    assert (work["title"], work["url"], work["publish_time"], work["platform_content_id"]) == (
        "My work",
        "https://v.test/v1",
        NOW - 5000,
        "v1",
    )
    assert shaped(work["stats"], STATS) == {
        "total_comments": 7,
        "new_comments": 2,
        "likes": 9,
        "shares": 2,
        "views": 40,
    }
    assert (await im(world, "GET", "/api/im/contents/v1"))["data"] == work
    stats = (await im(world, "GET", "/api/im/contents/v1/stats"))["data"]
    assert stats == {"content_id": "v1", **work["stats"]}


async def test_discussions(world: Api) -> None:
    body = await im(world, "GET", "/api/im/discussions?account_id=shop1")
    reply, top = (shaped(x, DISCUSSION) for x in listed(body, "discussions", beside=True))
    assert (top["discussion_id"], top["parent_comment_id"], top["post_title"]) == ("cm1", None, "My work")
    assert (reply["parent_comment_id"], reply["content_id"], reply["post_id"]) == ("cm1", "v1", "v1")
    assert top["author"]["author_id"] == "a-cm1" and top["author"]["author_name"] == "name-a-cm1"
    assert top["created_at"] == NOW + 1 and top["is_new"] and not top["is_read"]
    assert (await im(world, "GET", "/api/im/discussions/cm2"))["data"] == reply
    thread = await im(world, "GET", "/api/im/discussions/comments/cm1/discussions")
    assert listed(thread, "discussions", beside=True) == [reply]
    assert thread["data"]["stats"] == {"total": 1, "new_count": 1, "unread_count": 1}


async def test_unified_inbox_and_stats(world: Api) -> None:
    body = await im(world, "GET", "/api/im/unified-messages?account_id=shop1")
    items = [shaped(x, UNIFIED) for x in listed(body, "messages", beside=True)]
    assert [(x["msg_id"], x["business_type"]) for x in items] == [
        ("m2", "direct_message"),
        ("m1", "direct_message"),
        ("cm2", "discussion"),
        ("cm1", "comment"),
    ]
    for x in items:
        shaped(x, UNIFIED_KIND[x["business_type"]])
    assert items[3]["work_title"] == "My work" and items[3]["conversation_id"] == "v1"
    assert items[1]["direction"] == "inbound" and items[1]["receiver"]["user_id"] == "me"
    assert (items[1]["platform_message_id"], items[1]["status"]) == ("m1", "delivered")
    assert (items[0]["platform_message_id"], items[0]["status"]) == ("m2", "sent")
    stats = (await im(world, "GET", "/api/im/unified-messages/stats?account_id=shop1"))["data"]
    assert stats == {
        "total_unread": 3,
        "unread_comments": 1,
        "unread_discussions": 1,
        "unread_direct_messages": 1,
        "unread_notifications": 3,  # cm1, cm2 and the inbound m1; the outbound m2 raises none
    }
    only = await im(world, "GET", "/api/im/unified-messages?types=comment,direct_message&is_new=true")
    assert [x["msg_id"] for x in only["data"]["messages"]] == ["m1", "cm1"]


async def test_notifications(world: Api) -> None:
    body = await im(world, "GET", "/api/im/notifications?account_id=shop1")
    items = [shaped(x, NOTIFICATION) for x in listed(body, "notifications", beside=False)]
    assert [(x["kind"], x["message_id"] or x["comment_id"]) for x in items] == [
        ("direct_message", "m1"),
        ("discussion", "cm2"),
        ("comment", "cm1"),
    ]
    assert items[0]["conversation_id"] == "0:1:11:22" and shaped(items[0]["user"], PERSON)["user_name"] == "Peer One"
    assert items[2]["content_id"] == "v1" and items[2]["item_time"] == NOW + 1 and not items[2]["is_read"]
    assert [x["id"] for x in items] == sorted((x["id"] for x in items), reverse=True)


async def test_history(world: Api) -> None:
    body = await im(world, "GET", "/api/im/history?account_id=shop1&limit=3")
    page = body["data"]
    assert [e["event"] for e in page["events"]] == [
        "account.created",
        "inbox.content_observed",
        "inbox.comment_observed",
    ]
    assert page["has_more"] is True and page["cursor"] == page["events"][-1]["seq"]
    rest = (await im(world, "GET", f"/api/im/history?account_id=shop1&after_seq={page['cursor']}&limit=100"))["data"]
    seqs = [e["seq"] for e in page["events"] + rest["events"]]
    assert seqs == sorted(seqs) and rest["has_more"] is False
    events = [e["event"] for e in rest["events"]]
    assert "inbox.message_observed" in events and all(e.split(".")[0] in ("account", "inbox") for e in events)
    assert all(e["data"]["account_id"] == "shop1" for e in page["events"] + rest["events"])
