"""What the predecessor's clients expect: a count above the page maximum is a full page with has_more, a DM is
sent without naming its account, and every cursor that is not an item of its list is refused."""

from __future__ import annotations

from typing import Any

from hiscrm.facts import catalogue as c
from tests.api.api_client import Api
from tests.api_im.im_client import comment, im, im_fails, message

N = 101  # one more than a page holds

# route → (path, key of the items, whether cursor and has_more sit beside data)
LISTS = {
    "accounts": ("/api/im/accounts?", "users", False),
    "conversations": ("/api/im/conversations?account_id=shop1&", "conversations", False),
    "messages": ("/api/im/messages?account_id=shop1&", "messages", False),
    "contents": ("/api/im/contents?account_id=shop1&", "contents", True),
    "discussions": ("/api/im/discussions?account_id=shop1&", "discussions", True),
    "unified": ("/api/im/unified-messages?account_id=shop1&", "messages", True),
    "notifications": ("/api/im/notifications?account_id=shop1&", "notifications", False),
}


def _page(body: dict[str, Any], key: str, beside: bool) -> tuple[list[Any], int, bool]:
    holder = body if beside else body["data"]
    return body["data"][key], holder["cursor"], holder["has_more"]


async def _many(api: Api) -> None:
    await api.create_account("shop1")
    facts: list[c.Fact] = [
        c.AccountCreated(account_id=f"extra{i}", platform="douyin", account_name="x") for i in range(N)
    ]
    for i in range(N):
        facts.append(c.ContentObserved(account_id="shop1", content_id=f"v{i}", title=f"work {i}"))
        facts.append(comment("shop1", f"cm{i}", t=i))
        facts.append(message("shop1", f"m{i}", t=i, conversation=f"cv{i}"))
    await api.record(*facts)


async def test_a_count_above_the_page_maximum_answers_a_full_page_with_has_more(api: Api) -> None:
    await _many(api)
    for route, (path, key, beside) in LISTS.items():
        # The predecessor's clients ask for 1,000 and go on with the cursor they were given.
        pages = await _all(api, path, key, beside, count=1000)
        assert len(pages) > 1 and all(len(page) == 100 for page in pages[:-1]) and pages[-1], route
        assert pages == await _all(api, path, key, beside, count=100), route


async def _all(api: Api, path: str, key: str, beside: bool, count: int) -> list[list[Any]]:
    pages, cursor, more = [], 0, True
    while more:
        items, cursor, more = _page(await im(api, "GET", f"{path}count={count}&cursor={cursor}"), key, beside)
        pages.append(items)
    return pages


async def test_every_cursor_that_is_not_an_item_of_its_list_is_refused(api: Api) -> None:
    await api.create_account("shop1")
    await api.create_account("shop2")
    seqs = {
        "comment": await api.record(comment("shop1", "cm1", t=1)),
        "reply": await api.record(comment("shop1", "cm2", t=2, parent="cm1")),
        "message": await api.record(message("shop1", "m1", t=3)),
        "work": await api.record(c.ContentObserved(account_id="shop1", content_id="v1", title="w")),
        "other account": await api.record(comment("shop2", "cmx", t=4), message("shop2", "mx", t=5)),
        "read mark": await api.record(c.CommentRead(account_id="shop1", comment_id="cm1")),
    }
    seqs["beyond the stream"] = seqs["read mark"] + 1000
    # Each list, and the cursors that are items of it.
    lists = {
        "/api/im/accounts": set(),
        "/api/im/conversations?account_id=shop1": {"message"},  # its first message made the conversation
        "/api/im/messages?account_id=shop1": {"message"},
        "/api/im/messages/conversations/0:1:11:22/messages?account_id=shop1": {"message"},
        "/api/im/contents?account_id=shop1": {"work"},
        "/api/im/discussions?account_id=shop1": {"comment", "reply"},
        "/api/im/discussions/comments/cm1/discussions?account_id=shop1": {"reply"},
        "/api/im/unified-messages?account_id=shop1": {"comment", "reply", "message"},
        "/api/im/notifications?account_id=shop1": {"comment", "reply", "message"},
    }
    for path, items in lists.items():
        for what, seq in seqs.items():
            sep = "&" if "?" in path else "?"
            if what in items:
                await im(api, "GET", f"{path}{sep}cursor={seq}")
            else:
                message_ = await im_fails(api, "GET", f"{path}{sep}cursor={seq}", 400)
                assert f"cursor {seq}" in message_, (path, what)
    # Without account_id the lists hold every account's items; an account's own creation is an accounts cursor.
    await im(api, "GET", f"/api/im/unified-messages?cursor={seqs['other account']}")
    await im(api, "GET", f"/api/im/notifications?cursor={seqs['other account']}")
    users = (await im(api, "GET", "/api/im/accounts?count=1"))["data"]
    assert [u["user_id"] for u in users["users"]] == ["shop1"]
    first = users["cursor"]
    assert [u["user_id"] for u in (await im(api, "GET", f"/api/im/accounts?cursor={first}"))["data"]["users"]] == [
        "shop2"
    ]
    # A deleted account's cursor was an item when it was handed out: the walk goes on after it.
    await api.ok("DELETE", "/api/v1/accounts/shop1")
    assert [u["user_id"] for u in (await im(api, "GET", f"/api/im/accounts?cursor={first}"))["data"]["users"]] == [
        "shop2"
    ]
    # Its items are gone from every list with them, cursors included.
    await im_fails(api, "GET", f"/api/im/unified-messages?cursor={seqs['comment']}", 400)
    await im_fails(api, "GET", f"/api/im/notifications?cursor={seqs['comment']}", 400)


async def test_a_dm_is_sent_in_the_predecessors_shape(api: Api) -> None:
    await api.create_account("shop1")
    await api.create_account("shop2")
    await api.record(
        message("shop1", "m1", t=1, conversation="only-shop1"),
        message("shop1", "m2", t=2, conversation="both"),
        message("shop2", "m3", t=3, conversation="both"),
    )
    # The predecessor's body: no account_id, and fields of its own that we have no use for.
    body = {
        "conversation_id": "only-shop1",
        "content": "hi",
        "msg_type": "text",
        "sender_id": "me",
        "receiver_id": "peer1",
    }
    sent = (await im(api, "POST", "/api/im/messages", 201, json=body))["data"]
    assert (sent["account_id"], sent["status"], sent["conversation_id"]) == ("shop1", "sending", "only-shop1")
    [requested] = await api.store.history("reply", sent["msg_id"])
    assert requested.fact.account_id == "shop1"  # type: ignore[attr-defined]
    # A conversation id two accounts hold names no account by itself; with account_id it does.
    both = {"conversation_id": "both", "content": "hi"}
    refused = await im_fails(api, "POST", "/api/im/messages", 400, json=both)
    assert "account_id" in refused and "shop1" in refused and "shop2" in refused
    sent = (await im(api, "POST", "/api/im/messages", 201, json={**both, "account_id": "shop2"}))["data"]
    assert sent["account_id"] == "shop2"
    assert "not found" in await im_fails(api, "POST", "/api/im/messages", 404, json={**both, "conversation_id": "nope"})
    # Once shop2 is deleted, "both" is shop1's alone.
    await api.ok("DELETE", "/api/v1/accounts/shop2")
    assert (await im(api, "POST", "/api/im/messages", 201, json=both))["data"]["account_id"] == "shop1"
