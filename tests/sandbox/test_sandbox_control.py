"""The /__sandbox/ control API: accounts, risk control, request counters, traffic, persistence, the CLI."""

from __future__ import annotations

import asyncio
import random
import signal
import sys
import time
from pathlib import Path

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.requests import Request

from hiscrm.lifeline import command_for as lifeline_command
from hiscrm.sandbox.app import create_app
from hiscrm.sandbox.auth import CSRF_HEADER as CSRF
from hiscrm.sandbox.control import host_refusal
from hiscrm.sandbox.seed import demo_world
from hiscrm.sandbox.state import World
from hiscrm.sandbox.stir import Stir, Stirrer
from hiscrm.sandbox.traffic import Traffic
from hiscrm.store.broker import free_port
from tests.sandbox.sandbox_helpers import KITCHEN, RIDER, pb_fields, serving

COMMENTS = "/web/api/third_party/aweme/api/comment/read/aweme/v1/web/comment/list"
REPO = Path(__file__).resolve().parents[2]


async def test_accounts_are_listed_and_created(client: httpx.AsyncClient) -> None:
    accounts = (await client.get("/__sandbox/accounts")).json()
    assert [a["uid"] for a in accounts] == [KITCHEN, RIDER]
    assert (accounts[0]["works"], accounts[0]["comments"], accounts[0]["conversations"]) == (8, 120, 6)

    created = await client.post(
        "/__sandbox/accounts",
        json={"nickname": "压测账号", "unique_id": "bench_0001", "works": 3, "comments": 30, "conversations": 2},
    )
    assert created.status_code == 201
    account = created.json()
    assert len(account["uid"]) == 19 and account["nickname"] == "压测账号"
    assert (account["works"], account["comments"], account["conversations"]) == (3, 30, 2)
    assert (await client.get("/__sandbox/accounts/bench_0001")).json()["uid"] == account["uid"]

    taken = await client.post("/__sandbox/accounts", json={"unique_id": "bench_0001"})
    assert taken.status_code == 400 and "taken" in taken.json()["error"]
    typo = await client.post("/__sandbox/accounts", json={"nickame": "x"})
    assert typo.status_code == 400 and "nickame" in typo.json()["error"]
    assert (await client.get("/__sandbox/accounts/nobody")).status_code == 404
    assert (await client.post("/__sandbox/qr/scan", json={"uid": "42"})).status_code == 404
    assert (await client.post("/__sandbox/comments", json={"aweme_id": "1", "text": "x"})).status_code == 404


async def test_a_benchmark_sized_account_pages_completely(client: httpx.AsyncClient, login, world: World) -> None:
    created = await client.post("/__sandbox/accounts", json={"works": 20, "comments": 500, "seed": 3})
    uid = created.json()["uid"]
    assert created.json()["comments"] == 500
    await login(uid)
    started = time.perf_counter()
    works = (await client.get("/aweme/v1/creator/item/list/", params={"count": 20})).json()["item_info_list"]
    assert len(works) == 20
    seen = set()
    for work in works:
        cursor, more = 0, 1
        while more:
            params = {"aweme_id": work["item_id_plain"], "cursor": cursor, "count": 20}
            page = (await client.get(f"{COMMENTS}/select/", params=params)).json()
            seen.update(c["cid"] for c in page["comments"])
            cursor, more = page["cursor"], page["has_more"]
    tops = {c.cid for w in world.works_by_owner[uid] for c in world.top_comments[w.aweme_id]}
    assert seen == tops and len(tops) > 300
    assert time.perf_counter() - started < 10


async def test_risk_control_empties_apis_and_shows_verification(client: httpx.AsyncClient, login) -> None:
    await login(KITCHEN)
    switched = await client.post(f"/__sandbox/accounts/{KITCHEN}/risk", json={"on": True})
    assert switched.json()["risk_control"] is True
    for path in ("/web/api/media/user/info/", "/aweme/v1/creator/item/list/", "/aweme/v1/creator/im/user_detail/"):
        answer = await client.get(path)
        assert answer.status_code == 200 and answer.content == b""
    page = await client.get("/creator-micro/content/manage")
    # The public signals: the "验证码中间页" interstitial with a slider captcha.
    assert page.status_code == 200 and "<title>验证码中间页</title>" in page.text
    assert "captcha-verify-image" in page.text
    assert "作品管理" not in page.text

    await client.post(f"/__sandbox/accounts/{KITCHEN}/risk", json={"on": False})
    assert (await client.get("/web/api/media/user/info/")).json()["status_code"] == 0
    assert "作品管理" in (await client.get("/creator-micro/content/manage")).text


async def test_requests_are_counted_per_account_and_path(client: httpx.AsyncClient, login) -> None:
    await login(KITCHEN)
    await client.post("/__sandbox/requests/reset", json={})
    for _ in range(3):
        await client.get("/web/api/media/user/info/")
    await client.get("/aweme/v1/web/notice/")
    await client.post(f"/__sandbox/accounts/{KITCHEN}/sessions/expire", json={})
    await client.get("/web/api/media/user/info/")  # a dead cookie still counts for its account
    client.cookies.clear()
    await client.get("/web/api/media/user/info/")

    counts = (await client.get("/__sandbox/requests", params={"uid": "linxiaoman.kitchen"})).json()
    by_path = {r["path"]: r["count"] for r in counts["requests"]}
    assert by_path == {"/web/api/media/user/info/": 4, "/aweme/v1/web/notice/": 1}
    assert counts["total"] == 5
    row = counts["requests"][1]
    assert row["uid"] == KITCHEN and row["first"] <= row["last"]
    anonymous = (await client.get("/__sandbox/requests", params={"uid": ""})).json()
    assert anonymous["total"] == 1
    only = (await client.get("/__sandbox/requests", params={"path": "/aweme/v1/web/notice/"})).json()
    assert only["total"] == 1

    assert (await client.post("/__sandbox/requests/reset", json={})).json()["total"] == 0
    assert (await client.get("/__sandbox/requests")).json() == {"requests": [], "total": 0}


async def test_traffic_adds_comments_and_messages_at_the_set_rate(client: httpx.AsyncClient, world: World) -> None:
    set_rate = await client.post(
        f"/__sandbox/accounts/{RIDER}/traffic", json={"comments_per_minute": 30, "messages_per_minute": 12}
    )
    assert set_rate.json()["comments_per_minute"] == 30
    comments_before = len(world.comments)
    kitchen_before = len(world.notices_of[KITCHEN])
    notices_before = len(world.notices_of[RIDER])
    messages_before = sum(len(c.messages) for c in world.conversations_of[RIDER].values())
    traffic = Traffic(world, random.Random(5))
    assert traffic.step(20) == 10 + 4
    assert traffic.step(90) == 45 + 18
    assert len(world.comments) - comments_before == 55
    assert len(world.notices_of[RIDER]) - notices_before == 55
    assert sum(len(c.messages) for c in world.conversations_of[RIDER].values()) - messages_before == 22
    fresh = sorted(world.comments.values(), key=lambda c: int(c.cid))[-55:]
    assert len({c.user_uid for c in fresh}) > 10 and all(world.works[c.aweme_id].owner_uid == RIDER for c in fresh)
    assert all(not world.works[c.aweme_id].comments_closed for c in fresh)
    assert len(world.notices_of[KITCHEN]) == kitchen_before  # no rate set there, nothing added

    await client.post(f"/__sandbox/accounts/{RIDER}/traffic", json={"comments_per_minute": 0, "messages_per_minute": 0})
    assert traffic.step(600) == 0
    negative = await client.post(f"/__sandbox/accounts/{RIDER}/traffic", json={"comments_per_minute": -1})
    assert negative.status_code == 400


async def test_save_and_load_keep_the_world_and_its_sessions(world: World, tmp_path: Path) -> None:
    target = tmp_path / "state" / "sandbox.json"
    app = create_app(world, state_path=target, traffic=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox.test") as client:
        token = (await client.get("/passport/web/get_qrcode/")).json()["data"]["token"]
        await client.post("/__sandbox/qr/scan", json={"uid": KITCHEN, "token": token})
        await client.get("/passport/web/check_qrconnect/", params={"token": token})
        saved = (await client.post("/__sandbox/save", json={})).json()
        assert saved == {"path": str(target), "bytes": target.stat().st_size}
        assert saved["bytes"] > 10_000
        loaded = World.load(target)
        assert loaded.encode() == world.encode()
        assert loaded.session(client.cookies["sessionid"]).uid == KITCHEN
        assert [w.aweme_id for w in loaded.newest_works(KITCHEN)] == [w.aweme_id for w in world.newest_works(KITCHEN)]


async def test_save_takes_no_path_from_the_request(client: httpx.AsyncClient, tmp_path: Path) -> None:
    """Finding 3 of issue 13: anyone who could reach the port could write any file as the service user."""
    elsewhere = tmp_path / "chosen-by-the-caller.json"
    refused = await client.post("/__sandbox/save", json={"path": str(elsewhere)})
    assert refused.status_code == 400 and "path" in refused.json()["error"]
    assert not elsewhere.exists()
    nowhere = await client.post("/__sandbox/save", json={})  # this sandbox has no --state
    assert nowhere.status_code == 400 and "--state" in nowhere.json()["error"]


async def test_changes_must_be_json(client: httpx.AsyncClient) -> None:
    """A page in a local browser can post text/plain or a form cross-origin without a preflight; not JSON."""
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None):
        headers = {"content-type": content_type} if content_type else {}
        answer = await client.post(f"/__sandbox/accounts/{KITCHEN}/risk", content=b'{"on": true}', headers=headers)
        assert answer.status_code == 415, (content_type, answer.text)
        assert "application/json" in answer.json()["error"]
    assert (await client.get(f"/__sandbox/accounts/{KITCHEN}")).json()["risk_control"] is False
    charset = {"content-type": "application/json; charset=utf-8"}
    switched = await client.post(f"/__sandbox/accounts/{KITCHEN}/risk", content=b'{"on": true}', headers=charset)
    assert switched.status_code == 200 and switched.json()["risk_control"] is True


async def test_a_deeply_nested_body_is_a_400_not_a_recursion_error(client: httpx.AsyncClient, login) -> None:
    deep = b'{"on": true, "x": ' + b"[" * 1000 + b"]" * 1000 + b"}"
    json_type = {"content-type": "application/json"}
    refused = await client.post(f"/__sandbox/accounts/{KITCHEN}/risk", content=deep, headers=json_type)
    assert refused.status_code == 400 and "deep" in refused.json()["error"]
    csrf = await login(KITCHEN)
    page = await client.post(
        "/aweme/v1/creator/comment/reply/", content=deep, headers={**json_type, "X-Secsdk-Csrf-Token": csrf}
    )
    assert page.status_code == 200 and "deep" in page.json()["status_msg"]


def test_a_sandbox_on_every_interface_takes_control_on_loopback_names_only() -> None:
    def refusal(server: tuple[str, int], host: str) -> str | None:
        scope = {"type": "http", "method": "GET", "path": "/__sandbox/accounts", "query_string": b""}
        return host_refusal(Request({**scope, "server": server, "headers": [(b"host", host.encode())]}))

    for bound in ("0.0.0.0", "::"):
        assert refusal((bound, 8600), "localhost:8600") is None and refusal((bound, 8600), "127.0.0.1:8600") is None
        assert refusal((bound, 8600), "sandbox.example:8600") is not None
    assert refusal(("192.0.2.7", 8600), "192.0.2.7:8600") is None
    assert refusal(("192.0.2.7", 8600), "localhost:8600") is not None  # not bound to loopback


async def test_the_control_api_answers_only_to_its_own_address(world: World) -> None:
    """A DNS-rebound name (evil.example resolving to 127.0.0.1) reaches the socket but not the control API."""
    async with serving(world) as base, httpx.AsyncClient(base_url=base, timeout=10) as http:
        port = int(base.rsplit(":", 1)[1])
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"):
            answer = await http.get("/__sandbox/accounts", headers={"host": host})
            assert answer.status_code == 200, (host, answer.text)
        for host in (f"evil.example:{port}", "127.0.0.1", f"127.0.0.1:{port + 1}", "localhost:x", ""):
            for method in ("GET", "POST"):
                answer = await http.request(method, "/__sandbox/accounts", json={}, headers={"host": host})
                assert answer.status_code == 403, (host, method, answer.text)
                assert "Host" in answer.json()["error"]
        assert [a["uid"] for a in (await http.get("/__sandbox/accounts")).json()] == [KITCHEN, RIDER]


async def test_cli_serves_until_sigterm_and_saves_state(tmp_path: Path) -> None:
    port = free_port()
    state = tmp_path / "world.json"
    process = await asyncio.create_subprocess_exec(
        *lifeline_command(
            [sys.executable, "-m", "hiscrm", "sandbox", "--port", str(port), "--state", str(state), "--seed", "empty"]
        ),
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        banner = await asyncio.wait_for(process.stdout.readline(), 20)
        assert f"127.0.0.1:{port}" in banner.decode()
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            created = await http.post("/__sandbox/accounts", json={"unique_id": "saved_on_exit"})
            assert created.status_code == 201

            busy = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "hiscrm",
                "sandbox",
                "--port",
                str(port),
                cwd=REPO,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            _, err = await asyncio.wait_for(busy.communicate(), 20)
            assert busy.returncode == 2 and b"--port" in err
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 20)
    assert process.returncode == 0
    assert [a.uid for a in World.load(state).accounts.values()] == [created.json()["uid"]]


async def test_stirs_move_the_inbox_when_the_accounts_page_asks(client: httpx.AsyncClient, login, world: World) -> None:
    """A stir's moves at once land before the request is answered (the answer holds them), later ones
    after their delay; it fires on `times` requests only."""
    csrf = await login()
    stirs = f"/__sandbox/accounts/{KITCHEN}/stirs"
    user_detail = "/aweme/v1/creator/im/user_detail/"
    peers = lambda answer: [u["user_id"] for u in answer.json()["user_list"]]  # noqa: E731
    before = peers(await client.get(user_detail))
    armed = await client.post(stirs, json={"on": "/creator/im/user_detail", "move": "newcomer"})
    assert armed.status_code == 201 and armed.json()[0]["fired"] == 0
    bottom = world.conversations_newest_first(KITCHEN)[-1]
    await client.post(stirs, json={"on": "/v1/message/get_by_conversation", "move": "lift", "count": 2,
                                   "after_ms": 50, "every_ms": 50})  # fmt: skip

    stirred = peers(await client.get(user_detail))
    assert len(stirred) == len(before) + 1 and stirred[1:] == before  # someone new, on top, in this very answer
    assert peers(await client.get(user_detail)) == stirred  # times: 1
    await client.get("/v1/message/get_by_conversation", params={"conversation_id": bottom.conversation_id})
    assert world.conversations_newest_first(KITCHEN)[-1] is bottom  # the lifts come later
    await asyncio.sleep(0.3)
    lifted = world.conversations_newest_first(KITCHEN)
    assert lifted[0] is not bottom and lifted[1] is bottom  # the least recent was lifted, then the next one
    assert [(s["fired"], s["moved"]) for s in (await client.get(stirs)).json()] == [(1, 1), (1, 2)]

    conversation = lifted[2].conversation_id
    await client.post(stirs, json={"on": "/v1/message/send", "move": "message", "conversation_id": conversation,
                                   "text": "同一时刻", "times": None})  # fmt: skip
    for _ in range(2):
        sent = await client.post(
            "/v1/message/send", json={"conversation_id": conversation, "content": "我们的"}, headers={CSRF: csrf}
        )
        assert pb_fields(sent.content)[1] == [0]
    texts = [(m.sender_uid == KITCHEN, m.content) for m in world.conversations[conversation].messages[-4:]]
    assert texts == [(False, "同一时刻"), (True, "我们的")] * 2  # the peer's message first, every time
    assert (await client.post(f"{stirs}/clear", json={})).json() == []

    for bad, why in (
        ({"on": "/x", "move": "comment"}, "aweme_id"),
        ({"on": "/x", "move": "message", "conversation_id": "0:1:1:2"}, "not the account's"),
        ({"on": "/x", "move": "lift", "count": 0}, "at least 1"),
        ({"on": "/x", "move": "stir"}, "move"),
        ({"on": "/x", "move": "lift", "fired": 3}, "fired"),
    ):
        refused = await client.post(stirs, json=bad)
        assert refused.status_code == 400 and why in refused.json()["error"], (bad, refused.text)
    assert (await client.post("/__sandbox/accounts/nobody/stirs", json={"on": "/x", "move": "lift"})).status_code == 404


@settings(max_examples=40, deadline=None)
@given(
    paths=st.lists(st.sampled_from(["/aweme/v1/creator/im/user_detail/", "/v1/message/send", "/ws/v2"]), max_size=12),
    times=st.one_of(st.none(), st.integers(1, 4)),
    count=st.integers(1, 3),
)
def test_a_stir_fires_on_at_most_times_requests_of_its_path(paths: list[str], times: int | None, count: int) -> None:
    world = demo_world()
    stirrer = Stirrer(world, random.Random(0))
    stirrer.add(KITCHEN, Stir(on="/creator/im/user_detail", move="newcomer", count=count, times=times))
    conversations = len(world.conversations_of[KITCHEN])
    for path in paths:
        stirrer.fire(KITCHEN, path)
        stirrer.fire(RIDER, path)  # another account's requests never set it off
    matching = paths.count("/aweme/v1/creator/im/user_detail/")
    fired = matching if times is None else min(matching, times)
    [stirring] = stirrer.stirs[KITCHEN]
    assert (stirring.fired, stirring.moved) == (fired, fired * count)
    assert len(world.conversations_of[KITCHEN]) == conversations + fired * count
