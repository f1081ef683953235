"""/api/im/unified-messages/stats/accounts: every visible account's unread counts in one answer, equal to
what the per-account stats route says of each, and nothing of the accounts a limited token may not see."""

from __future__ import annotations

from typing import Any

from hiscrm.facts import catalogue as c
from tests.api.api_client import Api
from tests.api_im.im_client import comment, im, message

ROUTE = "/api/im/unified-messages/stats/accounts"
SHOPS = ("shop1", "shop2", "shop3", "shop4")


async def _stats(api: Api, token: str, account: str | None = None) -> dict[str, int]:
    params = {"account_id": account} if account else {}
    return (await im(api, "GET", "/api/im/unified-messages/stats", token=token, params=params))["data"]


async def _seed(api: Api) -> None:
    for shop in SHOPS:
        await api.create_account(shop)
    facts: list[c.Fact] = []
    # Each shop a different mix, so a sum or an account swapped for another shows.
    for n, shop in enumerate(SHOPS):
        for i in range(n + 1):
            facts.append(comment(shop, f"{shop}c{i}", t=10 * n + i, text=f"comment {i}"))
        for i in range(n):
            facts.append(comment(shop, f"{shop}r{i}", t=10 * n + 5 + i, parent=f"{shop}c0"))
        for i in range(2 * n):
            facts.append(message(shop, f"{shop}m{i}", t=10 * n + 8, conversation=f"0:1:{n}:9"))
    await api.record(*facts)
    await api.record(c.CommentRead(account_id="shop2", comment_id="shop2c0"))


async def test_counts_per_account_and_total_equal_the_per_account_route(api: Api) -> None:
    await _seed(api)
    body = (await im(api, "GET", ROUTE))["data"]
    users = (await im(api, "GET", "/api/im/accounts", params={"count": 100}))["data"]["users"]
    assert [(a["user_id"], a["user_name"]) for a in body["accounts"]] == [(u["user_id"], u["user_name"]) for u in users]
    for row in body["accounts"]:
        counts = {k: v for k, v in row.items() if k not in ("user_id", "user_name")}
        assert counts == await _stats(api, "im", row["user_id"]), row["user_id"]
    assert body["total"] == await _stats(api, "im")
    assert body["total"]["total_unread"] > 0 and body["total"]["unread_notifications"] > 0
    # The control that the mix differs: not every account counts the same.
    assert len({row["total_unread"] for row in body["accounts"]}) == len(SHOPS)


async def test_a_limited_token_sees_only_its_accounts(api: Api) -> None:
    await _seed(api)
    tokens = api.client._transport.app.state.tokens  # type: ignore[attr-defined]
    limited = tokens.add("im", accounts=["shop2", "shop4"], name="desk 2+4").secret
    body: dict[str, Any] = (await im(api, "GET", ROUTE, token=limited))["data"]
    assert [a["user_id"] for a in body["accounts"]] == ["shop2", "shop4"]
    everyone = {a["user_id"]: a for a in (await im(api, "GET", ROUTE))["data"]["accounts"]}
    for row in body["accounts"]:
        assert row == everyone[row["user_id"]]
        assert {k: v for k, v in row.items() if k not in ("user_id", "user_name")} == await _stats(
            api, limited, row["user_id"]
        )
    assert body["total"] == await _stats(api, limited)
    # Its total is of its own accounts only: less than everyone's, by exactly the others' counts.
    full = (await im(api, "GET", ROUTE))["data"]["total"]
    for field, value in body["total"].items():
        assert value == full[field] - everyone["shop1"][field] - everyone["shop3"][field], field
    assert body["total"]["total_unread"] < full["total_unread"]
