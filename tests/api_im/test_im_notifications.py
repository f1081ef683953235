"""/api/im/notifications: listed newest first for one account or all, marked read one at a time or many, counted in
the unified stats; and a deleted account's items leave every list and count at once."""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hiscrm.facts import catalogue as c
from tests.api.api_client import Api
from tests.api_im.im_client import comment, im, im_fails, message


async def _unread_notifications(api: Api, account: str | None = None) -> int:
    query = f"?account_id={account}" if account else ""
    return (await im(api, "GET", f"/api/im/unified-messages/stats{query}"))["data"]["unread_notifications"]


async def test_notifications_are_listed_and_marked_read(api: Api) -> None:
    await api.create_account("shop1")
    await api.create_account("shop2")
    await api.record(
        comment("shop1", "cm1", t=1),
        message("shop2", "m1", t=2),
        c.NotificationObserved(
            account_id="shop1", notification_id="n1", notice_type=1, text="liked your work", create_time_ms=3
        ),
        c.AccountSessionExpired(account_id="shop2", worker_id="w1", detail="logged out"),
        message("shop1", "m2", t=4, inbound=False),  # what the account sent raises none
    )
    every = (await im(api, "GET", "/api/im/notifications"))["data"]
    kinds = [(n["account_id"], n["kind"]) for n in every["notifications"]]
    assert kinds == [
        ("shop2", "session_expired"),
        ("shop1", "notice"),
        ("shop2", "direct_message"),
        ("shop1", "comment"),
    ]
    ids = {n["kind"]: n["id"] for n in every["notifications"]}
    assert every["notifications"][1]["platform_notification_id"] == "n1"
    assert await _unread_notifications(api) == 4 and await _unread_notifications(api, "shop1") == 2

    read = (await im(api, "PUT", f"/api/im/notifications/{ids['notice']}/read"))["data"]
    assert (read["id"], read["is_read"]) == (ids["notice"], True)
    assert await _unread_notifications(api, "shop1") == 1
    # Reading it again records nothing; reading what a notification points at reads it too.
    before = len(await api.store.history("inbox", "shop1"))
    await im(api, "PUT", f"/api/im/notifications/{ids['notice']}/read")
    assert len(await api.store.history("inbox", "shop1")) == before
    await im(api, "PUT", "/api/im/unified-messages/cm1/read", json={"business_type": "comment"})
    assert await _unread_notifications(api, "shop1") == 0
    unread = (await im(api, "GET", "/api/im/notifications?is_read=false"))["data"]["notifications"]
    assert [n["id"] for n in unread] == [ids["session_expired"], ids["direct_message"]]

    many = {"ids": [ids["session_expired"], ids["direct_message"], ids["comment"], 999_999]}
    assert (await im(api, "PUT", "/api/im/notifications/read-many", json=many))["data"] == {
        "read": 2,
        "missing": [999_999],
    }
    assert await _unread_notifications(api) == 0
    assert [n["is_read"] for n in (await im(api, "GET", "/api/im/notifications"))["data"]["notifications"]] == [
        True
    ] * 4

    assert "'abc'" in await im_fails(api, "PUT", "/api/im/notifications/abc/read", 400)
    assert "not found" in await im_fails(api, "PUT", "/api/im/notifications/999999/read", 404)
    path = f"/api/im/notifications/{ids['comment']}/read?account_id=shop2"
    assert "not found" in await im_fails(api, "PUT", path, 404)
    tokens = api.client._transport.app.state.tokens  # type: ignore[attr-defined]
    limited = tokens.add("im", accounts=["shop1"], name="limited").secret
    path = f"/api/im/notifications/{ids['direct_message']}/read"
    assert "not found" in await im_fails(api, "PUT", path, 404, token=limited)
    mine = (await api.call("GET", "/api/im/notifications", token=limited)).json()["data"]["notifications"]
    assert {n["account_id"] for n in mine} == {"shop1"}


_runs = itertools.count()


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    items=st.lists(st.tuples(st.integers(0, 2), st.sampled_from(["comment", "reply", "dm"])), min_size=1, max_size=12),
    deleted=st.sets(st.integers(0, 2)),
)
async def test_a_deleted_accounts_items_leave_every_list_and_count(
    api: Api, items: list[tuple[int, str]], deleted: set[int]
) -> None:
    run = next(_runs)
    accounts = [f"r{run}a{i}" for i in range(3)]
    for account in accounts:
        await api.create_account(account)
    facts: list[c.Fact] = []
    for n, (owner, kind) in enumerate(items):
        if kind == "dm":
            facts.append(message(accounts[owner], f"r{run}m{n}", t=n, conversation=f"r{run}cv{n % 2}"))
        else:
            facts.append(comment(accounts[owner], f"r{run}c{n}", t=n, parent=f"r{run}c0" if kind == "reply" else None))
    await api.record(*facts)
    for i in sorted(deleted):
        await api.ok("DELETE", f"/api/v1/accounts/{accounts[i]}")

    live = [u["user_id"] for u in (await im(api, "GET", "/api/im/accounts?count=1000"))["data"]["users"]]
    assert not {accounts[i] for i in deleted} & set(live)
    # Without account_id every list and count is exactly the union of the live accounts' own.
    for path, key in (("/api/im/unified-messages", "messages"), ("/api/im/notifications", "notifications")):
        everyone = await _walk(api, path, key, None)
        per_account = [x for account in live for x in await _walk(api, path, key, account)]
        assert sorted(map(_ident, everyone)) == sorted(map(_ident, per_account)), path
    total = (await im(api, "GET", "/api/im/unified-messages/stats"))["data"]
    for field, value in total.items():
        assert value == sum([(await _stats(api, account))[field] for account in live]), field
    # And what is named by id alone is of the live accounts only.
    for n, (owner, kind) in enumerate(items):
        path = f"/api/im/messages/r{run}m{n}" if kind == "dm" else f"/api/im/discussions/r{run}c{n}"
        status = 404 if owner in deleted else 200
        assert (await api.call("GET", path, token="im")).status_code == status, (path, owner, deleted)


def _ident(item: dict[str, Any]) -> Any:
    return item.get("msg_id") or item["id"]


async def _stats(api: Api, account: str) -> dict[str, int]:
    return (await im(api, "GET", f"/api/im/unified-messages/stats?account_id={account}"))["data"]


async def _walk(api: Api, path: str, key: str, account: str | None) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    cursor, more = 0, True
    scope = f"account_id={account}&" if account else ""
    while more:
        body = await im(api, "GET", f"{path}?{scope}count=7&cursor={cursor}")
        holder = body if "cursor" in body else body["data"]
        found += body["data"][key]
        cursor, more = holder["cursor"], holder["has_more"]
    return found
