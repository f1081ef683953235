"""A top-level comment on a work through the same reply flow: `POST /api/im/discussions` with `content_id`
and `POST /api/v1/replies` with target_type "work", their refusals, and the send as the models show it."""

from __future__ import annotations

from hiscrm.facts import catalogue as c
from tests.api.api_client import Api
from tests.api_im.im_client import comment, im, im_fails


async def _seed(api: Api) -> None:
    await api.create_account("shop1")
    await api.record(comment("shop1", "cm1", t=1), c.ContentObserved(account_id="shop1", content_id="v1", title="Work"))


async def test_a_comment_on_a_work_is_a_reply_request_with_the_work_as_target(api: Api) -> None:
    await _seed(api)
    body = {"content_id": "v1", "content": "下周更新", "request_id": "w1"}
    sent = (await im(api, "POST", "/api/im/discussions", 201, json=body))["data"]
    assert (sent["send_status"], sent["parent_comment_id"], sent["post_id"], sent["post_title"]) == (
        "pending",
        None,
        "v1",
        "Work",
    )
    [requested] = await api.store.history("reply", sent["discussion_id"])
    fact = requested.fact
    assert isinstance(fact, c.ReplyRequested)
    assert (fact.target_type, fact.target_id, fact.video_id, fact.content) == ("work", "v1", "v1", "下周更新")
    again = (await im(api, "POST", "/api/im/discussions", 201, json=body))["data"]  # idempotent on request_id
    assert again["discussion_id"] == sent["discussion_id"]

    await api.record(c.ReplySent(reply_id=sent["discussion_id"], account_id="shop1", platform_id="@j/x"))
    shown = (await im(api, "GET", f"/api/im/discussions/{sent['discussion_id']}"))["data"]
    assert (shown["send_status"], shown["parent_comment_id"]) == ("sent", None)
    v1 = await api.ok("GET", f"/api/v1/replies/{sent['discussion_id']}")
    assert (v1["target_type"], v1["target_id"], v1["status"]) == ("work", "v1", "sent")


async def test_the_admin_route_takes_a_work_target(api: Api) -> None:
    await _seed(api)
    request = {"request_id": "a1", "account_id": "shop1", "target_type": "work", "target_id": "v1",
               "reply_content": "感谢大家"}  # fmt: skip
    data = await api.ok("POST", "/api/v1/replies", 201, json=request)
    assert (data["target_type"], data["target_id"], data["video_id"]) == ("work", "v1", "v1")
    unknown = await api.fails("POST", "/api/v1/replies", 404, json={**request, "request_id": "a2", "target_id": "v9"})
    assert "'v9'" in unknown and "shop1" in unknown
    other = await api.fails("POST", "/api/v1/replies", 400, json={**request, "request_id": "a3", "video_id": "v2"})
    assert "video_id" in other


async def test_a_send_names_a_comment_or_a_work(api: Api) -> None:
    await _seed(api)
    neither = await im_fails(api, "POST", "/api/im/discussions", 400, json={"content": "hi"})
    assert "parent_comment_id" in neither and "content_id" in neither
    unknown = await im_fails(api, "POST", "/api/im/discussions", 404, json={"content_id": "v9", "content": "hi"})
    assert "'v9'" in unknown
    mismatch = await im_fails(
        api, "POST", "/api/im/discussions", 400, json={"parent_comment_id": "cm1", "content_id": "v2", "content": "hi"}
    )
    assert "'v2'" in mismatch
