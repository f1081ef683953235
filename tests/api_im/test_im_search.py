"""/api/im/search over a real broker and projector, and a token limited to some accounts seeing nothing of
the others through any IM route, search or the live feed."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx

from hiscrm.api.app import endpoints
from hiscrm.api.auth import Tokens
from hiscrm.api.services import Services
from hiscrm.facts import catalogue as c
from tests.api.api_client import Api
from tests.api_im.im_client import comment, im, im_fails, message, person
from tests.api_im.live_server import live_stack


async def _two_shops(api: Api) -> None:
    await api.create_account("shop1")
    await api.create_account("shop2")
    await api.record(
        comment("shop1", "cm1", t=1, text="这个多少钱？价格多少", author=person("u1", "小明")),
        comment("shop1", "cm2", t=2, text="好看！", author=person("u2", "Ann Lee")),
        comment("shop1", "cm3", t=3, parent="cm1", text="价格私信你了", author=person("me", "店主")),
        message("shop1", "m1", t=4, content="Hello, price of the iPhone15?"),
        comment("shop2", "cx1", t=5, text="价格 SECRET2", author=person("u9", "隔壁老王"), content_id="v2"),
        message("shop2", "mx1", t=6, conversation="0:1:88:99", content="价格 SECRET2 hello"),
    )


def ids(body: dict) -> list[str]:  # type: ignore[type-arg]
    return [m["msg_id"] for m in body["data"]["messages"]]


async def test_search_by_text_and_nickname_newest_first_paged(api: Api) -> None:
    await _two_shops(api)
    body = await im(api, "GET", "/api/im/search", params={"q": "价格"})
    assert ids(body) == ["mx1", "cx1", "cm3", "cm1"] and body["data"]["terms"] == ["价格"]
    assert ids(await im(api, "GET", "/api/im/search", params={"q": "价格", "account_id": "shop1"})) == ["cm3", "cm1"]
    assert ids(await im(api, "GET", "/api/im/search", params={"q": "小明"})) == ["cm1"]  # the author's nickname
    assert ids(await im(api, "GET", "/api/im/search", params={"q": "Peer one"})) == ["mx1", "m1"]  # a DM's other party
    assert ids(await im(api, "GET", "/api/im/search", params={"q": "IPHONE15 hello", "account_id": "shop1"})) == ["m1"]
    assert ids(await im(api, "GET", "/api/im/search", params={"q": "价格", "types": "discussion"})) == ["cm3"]
    first = await im(api, "GET", "/api/im/search", params={"q": "价格", "count": 3})
    assert ids(first) == ["mx1", "cx1", "cm3"] and first["has_more"] is True
    rest = await im(api, "GET", "/api/im/search", params={"q": "价格", "count": 3, "cursor": first["cursor"]})
    assert ids(rest) == ["cm1"] and rest["has_more"] is False
    # A kept page is served only while no account in it has moved on: a new match shows at once.
    await api.record(comment("shop1", "cm4", t=9, text="价格呢"))
    assert ids(await im(api, "GET", "/api/im/search", params={"q": "价格", "account_id": "shop1"}))[0] == "cm4"
    await api.record(c.CommentRead(account_id="shop1", comment_id="cm4"))
    await im(api, "PUT", "/api/im/unified-messages/cm1/read", json={"business_type": "comment"})
    assert ids(await im(api, "GET", "/api/im/search", params={"q": "价格", "is_read": "false"})) == [
        "mx1",
        "cx1",
        "cm3",
    ]
    assert "no letters or digits" in await im_fails(api, "GET", "/api/im/search", 400, params={"q": "？！"})
    assert "`q`" in await im_fails(api, "GET", "/api/im/search", 400)
    assert "cursor 999" in await im_fails(api, "GET", "/api/im/search", 400, params={"q": "价格", "cursor": 999})


async def test_a_limited_token_sees_nothing_of_other_accounts_on_any_route(api: Api) -> None:
    await _two_shops(api)
    tokens = api.client._transport.app.state.tokens  # type: ignore[attr-defined]
    limited = tokens.add("im", accounts=["shop1"], name="desk shop1").secret
    other_items = {"cx1", "mx1", "0:1:88:99", "v2", "shop2", "SECRET2", "隔壁老王"}
    fill = {"user_id": "shop2", "id": "cx1", "work_id": "v2", "comment_id": "cx1", "conversation_id": "0:1:88:99"}
    asked = 0
    for e in endpoints():
        if e.method != "GET" or not e.path.startswith("/api/im/") or e.path == "/api/im/events":
            continue
        path = re.sub(r"{(\w+)}", lambda m: fill.get(m.group(1), "cx1"), e.path)
        for params in ({}, {"account_id": "shop2"}, {"q": "价格"}, {"q": "价格", "account_id": "shop2"}):
            r = await api.call("GET", path, token=limited, params=params)
            asked += 1
            if r.status_code != 200:
                # Hidden is as if absent: a 404 (its message names only what was asked), never a 403.
                assert r.status_code in (400, 404), (path, params, r.text)
                continue
            leaked = [s for s in other_items if s in r.text]
            assert not leaked, (path, params, leaked, r.text[:300])
    assert asked > 40
    # The control: a token for every account does see shop2's items on the same routes.
    assert "SECRET2" in (await api.call("GET", "/api/im/unified-messages", token="im")).text
    # The limited token does see its own account.
    assert "cm1" in ids(await im(api, "GET", "/api/im/search", token=limited, params={"q": "价格"}))


async def _seed_two(services: Services) -> None:
    for shop in ("shop1", "shop2"):
        await services.store.append(c.AccountCreated(account_id=shop, platform="douyin", account_name=shop))
    assert await services.models.wait_for(2, 10)


def test_a_limited_tokens_feed_carries_only_its_accounts(tmp_path: Path) -> None:
    with live_stack(tmp_path, _seed_two) as live, httpx.Client(base_url=live.url, timeout=10) as client:
        # As `hiscrm tokens add` would, from outside the API process.
        secret = Tokens(live.services.settings.data_dir / "tokens.json").add("im", accounts=["shop1"]).secret
        headers = {"Authorization": f"Bearer {secret}"}
        with client.stream("GET", "/api/im/events?heartbeat_s=0.2", headers=headers) as feed:
            time.sleep(0.3)

            async def go() -> list[int]:
                done = await live.store.append_many(
                    [comment("shop2", "cx1", t=1, text="SECRET2"), comment("shop1", "cm1", t=2, text="mine")]
                )
                return [d.seq for d in done]

            _, mine = live.run(go())
            seen = []
            for line in feed.iter_lines():
                if line.startswith("id: "):
                    seen.append(int(line[4:]))
                assert "SECRET2" not in line
                if seen and seen[-1] >= mine:
                    break
            assert seen == [mine]


async def test_read_all_by_scope_brings_the_counts_to_zero(api: Api) -> None:
    await _two_shops(api)

    async def unread(**params: str) -> int:
        return (await im(api, "GET", "/api/im/unified-messages/stats", params=params))["data"]["total_unread"]

    assert await unread() == 6
    # One conversation, then one work's comments, then a kind, then an account, then everything.
    body = {"conversation_id": "0:1:88:99"}
    assert (await im(api, "PUT", "/api/im/unified-messages/read-all", json=body))["data"]["read"] == 1
    assert (await im(api, "PUT", "/api/im/unified-messages/read-all", json=body))["data"]["read"] == 0
    assert await unread() == 5
    read = await im(api, "PUT", "/api/im/unified-messages/read-all", json={"content_id": "v2", "account_id": "shop2"})
    assert read["data"] == {"read": 1, "remaining": 0} and await unread(account_id="shop2") == 0
    await im(api, "PUT", "/api/im/unified-messages/read-all", json={"types": "discussion"})
    assert await unread() == 3
    limited = api.client._transport.app.state.tokens.add("im", accounts=["shop2"]).secret  # type: ignore[attr-defined]
    # A limited token reads only what it sees.
    await im(api, "PUT", "/api/im/unified-messages/read-all", json={}, token=limited)
    assert await unread() == 3
    await im(api, "PUT", "/api/im/unified-messages/read-all", json={"account_id": "shop1", "types": "comment"})
    assert await unread() == 1
    await im(api, "PUT", "/api/im/unified-messages/read-all", json={})
    assert await unread() == 0
    assert "not both" in await im_fails(
        api, "PUT", "/api/im/unified-messages/read-all", 400, json={"content_id": "v1", "conversation_id": "k"}
    )
