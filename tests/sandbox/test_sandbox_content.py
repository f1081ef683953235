"""Profile, works, comments with replies, replying as the creator, notices."""

from __future__ import annotations

import re

import httpx

from hiscrm.sandbox import ids
from hiscrm.sandbox.state import World
from tests.sandbox.sandbox_helpers import KITCHEN, RIDER

COMMENTS = "/web/api/third_party/aweme/api/comment/read/aweme/v1/web/comment/list"
REPLY = "/aweme/v1/creator/comment/reply/"
NEW = {"is_new_notice": 1}  # what yields notice_list_v2


async def test_profile_page_and_api(client: httpx.AsyncClient, login) -> None:
    await login(KITCHEN)
    user = (await client.get("/web/api/media/user/info/")).json()["user"]
    assert user["uid"] == KITCHEN and user["unique_id"] == "linxiaoman.kitchen"
    assert user["sec_uid"].startswith("MS4wLjABAAAA") and user["short_id"].isdigit()
    assert user["nickname"] == "林小满的厨房" and user["follower_count"] == 286_400
    assert user["avatar_thumb"]["url_list"][0].startswith("http://sandbox.test/aweme/100x100/aweme-avatar/")
    picture = await client.get(user["avatar_thumb"]["url_list"][0])
    assert picture.headers["content-type"] == "image/jpeg" and picture.content[:2] == b"\xff\xd8"
    page = (await client.get("/creator-micro/home")).text
    assert 'id="header-avatar"' in page and "/web/api/media/user/info/" in page
    assert "unique_id-" in page  # the class the page's script gives the 抖音号 element


async def collect(
    client: httpx.AsyncClient, path: str, params: dict, items: str, cursor: str, answer_cursor: str = ""
) -> list[dict]:
    """Pages through an endpoint by feeding each answer's cursor back, as a crawler does."""
    seen: list[dict] = []
    for _ in range(100):
        answer = (await client.get(path, params=params)).json()
        assert answer["status_code"] == 0, answer
        seen.extend(answer[items])
        if not answer["has_more"]:
            return seen
        params = {**params, cursor: answer[answer_cursor or cursor]}
    raise AssertionError("paging never ended")


async def test_item_list_pages_newest_first(client: httpx.AsyncClient, login, world: World) -> None:
    await login(KITCHEN)
    first = (await client.get("/aweme/v1/creator/item/list/", params={"cursor": 0, "count": 3})).json()
    assert first["total_count"] == 8 and first["has_more"] is True and first["cursor"] == 3
    item = first["item_info_list"][0]
    assert set(item) >= {
        "item_id",
        "item_id_plain",
        "title",
        "create_time",
        "comment_count",
        "cover_image_url",
        "item_link",
    }
    assert item["item_id"].startswith("@j/") and item["item_id_plain"].isdigit() and len(item["item_id_plain"]) == 19
    assert re.fullmatch(r"发布于\d{4}年\d{2}月\d{2}日 \d{2}:\d{2}", item["create_time"])
    image_set = world.works[item["item_id_plain"]].aweme_type == 68
    assert item.get("media_type") == (None if image_set else 4)  # no public capture shows an image set's
    kind = "note" if image_set else "video"
    assert item["item_link"] == f"https://www.douyin.com/{kind}/" + item["item_id_plain"]
    items = await collect(client, "/aweme/v1/creator/item/list/", {"count": 3}, "item_info_list", "cursor")
    ids = [i["item_id_plain"] for i in items]
    assert ids == [w.aweme_id for w in world.newest_works(KITCHEN)]
    assert sum(i["comment_count"] for i in items) == 120


async def test_work_list_pages_by_time_without_losing_ties(client: httpx.AsyncClient, login, world: World) -> None:
    await login(RIDER)
    newest = world.newest_works(RIDER)[0].create_time
    for n in range(3):  # three works in the same second straddle a page boundary
        added = await client.post(
            "/__sandbox/works", json={"uid": RIDER, "desc": f"同一秒 {n}", "create_time": newest + 9}
        )
        assert added.status_code == 201
    works = await collect(
        client, "/janus/douyin/creator/pc/work_list", {"status": 0, "count": 2}, "aweme_list", "max_cursor"
    )
    assert len(works) == 9 and len({w["aweme_id"] for w in works}) == 9
    assert [w["create_time"] for w in works] == sorted((w["create_time"] for w in works), reverse=True)
    stats = works[-1]["statistics"]
    assert set(stats) == {"play_count", "digg_count", "comment_count", "share_count", "collect_count"}
    assert works[-1]["aweme_type"] in (0, 68)


async def test_comment_list_and_replies(client: httpx.AsyncClient, login, world: World) -> None:
    await login(KITCHEN)
    work = max(world.newest_works(KITCHEN), key=lambda w: len(world.top_comments[w.aweme_id]))
    params = {"aweme_id": work.aweme_id, "count": 4, "sort_options": 0, "comment_select_options": 0, "channel_id": 618}
    comments = await collect(client, f"{COMMENTS}/select/", params, "comments", "cursor")
    assert len(comments) == len(world.top_comments[work.aweme_id]) > 4
    assert len({c["cid"] for c in comments}) == len(comments)
    times = [c["create_time"] for c in comments]
    assert times == sorted(times, reverse=True)
    first = comments[0]
    assert set(first) >= {
        "cid",
        "aweme_id",
        "text",
        "create_time",
        "digg_count",
        "reply_comment_total",
        "reply_id",
        "user",
        "image_list",
        "ip_label",
        "label_text",
    }
    assert set(first["user"]) >= {"uid", "sec_uid", "nickname", "avatar_thumb"}
    assert first["reply_id"] == "0" and len(first["cid"]) == 19

    threaded = next(c for c in comments if c["reply_comment_total"] > 0)
    replies = await collect(
        client,
        f"{COMMENTS}/reply/",
        {"item_id": work.aweme_id, "comment_id": threaded["cid"], "count": 1},
        "comments",
        "cursor",
    )
    assert len(replies) == threaded["reply_comment_total"]
    assert all(r["reply_id"] == threaded["cid"] for r in replies)
    for r in replies:
        assert (r["label_text"] == "作者") == (r["user"]["uid"] == KITCHEN)

    older = (
        await client.get(
            "/aweme/v1/creator/comment/list/", params={"item_id": work.item_id, "count": 50, "sort": "TIME"}
        )
    ).json()
    assert [c["comment_id"] for c in older["comment_info_list"]] == [ids.comment_token(c["cid"]) for c in comments]
    sample = older["comment_info_list"][0]
    assert isinstance(sample["create_time"], str) and set(sample["user_info"]) == {
        "user_id",
        "screen_name",
        "avatar_url",
    }
    assert sample["comment_id"].startswith("@j/") and sample["user_info"]["user_id"].startswith("@j/")
    thread = next(c for c in older["comment_info_list"] if int(c["reply_count"]))
    answers = (
        await client.get("/aweme/v1/creator/comment/reply/list/", params={"comment_id": thread["comment_id"]})
    ).json()["comment_info_list"]
    assert len(answers) == int(thread["reply_count"]) and all(a["level"] == 2 for a in answers)
    bad = (await client.get(f"{COMMENTS}/select/", params={"aweme_id": "7"})).json()
    assert bad["status_code"] != 0


async def test_creator_reply_becomes_a_real_reply(client: httpx.AsyncClient, login, world: World) -> None:
    csrf = await login(KITCHEN)
    work = world.newest_works(KITCHEN)[0]
    target = world.top_comments[work.aweme_id][-1]
    body = {"comment_Id": target.cid, "item_id": work.item_id, "text": "谢谢喜欢，下期见～"}
    missing = await client.post(REPLY, json=body)
    assert missing.status_code == 403
    assert not world.sent

    answer = (await client.post(REPLY, json=body, headers={"X-Secsdk-Csrf-Token": csrf})).json()
    assert answer["status_code"] == 0
    reply_token = answer["comment_info"]["comment_id"]
    assert reply_token.startswith("@j/")  # the reply answer's id is the encrypted one, as public code sees
    replies = (
        await client.get(f"{COMMENTS}/reply/", params={"item_id": work.aweme_id, "comment_id": target.cid, "count": 50})
    ).json()["comments"]
    mine = [r for r in replies if ids.comment_token(r["cid"]) == reply_token]
    assert mine and mine[0]["label_text"] == "作者" and mine[0]["text"] == "谢谢喜欢，下期见～"
    reply_id = mine[0]["cid"]

    # A reply to a reply (named by its encrypted id) hangs under the same top-level comment; a form body works too.
    form = {"comment_Id": reply_token, "item_id": work.aweme_id, "text": "补充一下：火候要小"}
    nested = (await client.post(REPLY, data=form, headers={"X-Secsdk-Csrf-Token": csrf})).json()
    nested_cid = world.cid_by_token[nested["comment_info"]["comment_id"]]
    assert world.comments[nested_cid].reply_id == target.cid
    assert world.comments[nested_cid].reply_to_reply_id == reply_id

    sent = (await client.get("/__sandbox/sent", params={"uid": KITCHEN})).json()
    assert [(s["kind"], s["id"], s["comment_id"], s["text"]) for s in sent] == [
        ("comment_reply", reply_id, target.cid, "谢谢喜欢，下期见～"),
        ("comment_reply", nested_cid, reply_id, "补充一下：火候要小"),
    ]
    assert (await client.get("/__sandbox/sent", params={"after": 1})).json()[0]["seq"] == 2


async def test_reply_refusals(client: httpx.AsyncClient, login, world: World) -> None:
    csrf = await login(KITCHEN)
    headers = {"X-Secsdk-Csrf-Token": csrf}
    private = world.newest_works(KITCHEN)[-1]
    assert private.private and private.comments_closed  # the demo's private work
    closed_target = world.top_comments[private.aweme_id][0]
    closed = (
        await client.post(
            REPLY, json={"comment_Id": closed_target.cid, "item_id": private.aweme_id, "text": "hi"}, headers=headers
        )
    ).json()
    assert closed["status_code"] == 15421 and closed["status_msg"]

    work = world.newest_works(KITCHEN)[0]
    target = world.top_comments[work.aweme_id][0].cid
    shut = await client.post(f"/__sandbox/works/{work.aweme_id}/comments_closed", json={})
    assert shut.json()["comments_closed"] is True
    assert (await client.post(REPLY, json={"comment_Id": target, "text": "x"}, headers=headers)).json()[
        "status_code"
    ] == 15421
    await client.post(f"/__sandbox/works/{work.aweme_id}/comments_closed", json={"closed": False})

    await client.post(
        f"/__sandbox/accounts/{KITCHEN}/arm", json={"kind": "comment_reply", "mode": "refuse", "times": 1}
    )
    refused = (await client.post(REPLY, json={"comment_Id": target, "text": "x"}, headers=headers)).json()
    assert refused["status_code"] != 0 and any(w in refused["status_msg"] for w in ("无法", "失败", "禁", "限制"))
    await client.post(f"/__sandbox/accounts/{KITCHEN}/arm", json={"kind": "comment_reply", "mode": "rate_limit"})
    for _ in range(2):  # armed without a count: until disarmed
        limited = (await client.post(REPLY, json={"comment_Id": target, "text": "x"}, headers=headers)).json()
        assert "操作过于频繁" in limited["status_msg"]
    await client.post(f"/__sandbox/accounts/{KITCHEN}/arm", json={"kind": "comment_reply", "mode": "off"})
    ok = (await client.post(REPLY, json={"comment_Id": target, "text": "好的"}, headers=headers)).json()
    assert ok["status_code"] == 0
    assert len(world.sent) == 1

    other = world.newest_works(RIDER)[0]
    foreign = world.top_comments[other.aweme_id][0].cid
    assert (await client.post(REPLY, json={"comment_Id": foreign, "text": "x"}, headers=headers)).json()[
        "status_code"
    ] != 0
    empty = (await client.post(REPLY, json={"comment_Id": target, "text": "  "}, headers=headers)).json()
    assert empty["status_code"] != 0


async def test_notices_follow_comments_from_others(client: httpx.AsyncClient, login, world: World) -> None:
    csrf = await login(KITCHEN)
    first = (await client.get("/aweme/v1/web/notice/", params={**NEW, "notice_group": 700, "count": 10})).json()
    assert first["status_code"] == 0 and first["has_more"] == 1 and len(first["notice_list_v2"]) >= 10
    notice = first["notice_list_v2"][0]
    assert notice["type"] == 31 and notice["create_time"] == first["max_time"]
    assert set(notice["comment"]["comment"]) >= {"cid", "text", "user", "aweme_id"}
    assert notice["comment"]["aweme"]["aweme_id"] == notice["comment"]["comment"]["aweme_id"]

    everything = await collect(
        client,
        "/aweme/v1/web/notice/",
        {**NEW, "notice_group": 700, "count": 7},
        "notice_list_v2",
        "max_time",
        "min_time",
    )
    others = [
        c for c in world.comments.values() if world.works[c.aweme_id].owner_uid == KITCHEN and c.user_uid != KITCHEN
    ]
    assert sorted(n["comment"]["comment"]["cid"] for n in everything) == sorted(c.cid for c in others)
    assert (await client.get("/aweme/v1/web/notice/", params={**NEW, "notice_group": 3})).json()["notice_list_v2"] == []
    assert "notice_list_v2" not in (await client.get("/aweme/v1/web/notice/")).json()

    work = world.newest_works(KITCHEN)[0]
    newest_time = first["max_time"]
    added = await client.post(
        "/__sandbox/comments",
        json={
            "aweme_id": work.aweme_id,
            "text": "蹲更新！",
            "user": {"nickname": "新来的粉丝"},
            "create_time": newest_time + 5,
        },
    )
    assert added.status_code == 201
    fresh = (await client.get("/aweme/v1/web/notice/", params={**NEW, "min_time": newest_time})).json()
    assert [n["comment"]["comment"]["text"] for n in fresh["notice_list_v2"]] == ["蹲更新！"]
    assert fresh["notice_list_v2"][0]["comment"]["comment"]["user"]["nickname"] == "新来的粉丝"

    await client.post(
        REPLY, json={"comment_Id": added.json()["cid"], "text": "欢迎～"}, headers={"X-Secsdk-Csrf-Token": csrf}
    )
    after = (await client.get("/aweme/v1/web/notice/", params={**NEW, "min_time": newest_time})).json()
    assert len(after["notice_list_v2"]) == 1  # the creator's own reply notifies nobody
