"""Request ids are each tenant's own (issue 13, finding 11): a tenant that reuses another tenant's
request_id gets its own new reply, never a 409 naming the other tenant's reply id."""

from __future__ import annotations

from tests.api.api_client import Api
from tests.api_im.im_client import comment, im


async def test_two_tenants_using_the_same_request_id_each_get_their_own_reply(api: Api) -> None:
    await api.create_account("shop1")
    await api.create_account("shop2")
    await api.record(comment("shop1", "cm1", t=1), comment("shop2", "cm2", t=2))
    tokens = api.client._transport.app.state.tokens  # type: ignore[attr-defined]
    alice = tokens.add("im", accounts=["shop1"], name="tenant-a").secret
    bob = tokens.add("im", accounts=["shop2"], name="tenant-b").secret

    body = {"content": "谢谢", "request_id": "order-42"}
    mine = await im(api, "POST", "/api/im/discussions", 201, token=alice, json={"parent_comment_id": "cm1", **body})
    theirs = await api.call("POST", "/api/im/discussions", token=bob, json={"parent_comment_id": "cm2", **body})
    assert theirs.status_code == 201, theirs.text  # was 409: "already used for a different reply (rp-…)"
    mine_id, theirs_id = mine["data"]["discussion_id"], theirs.json()["data"]["discussion_id"]
    assert mine_id != theirs_id and mine_id not in theirs.text
    assert [r.fact.account_id for r in await api.store.history("reply", theirs_id)] == ["shop2"]

    # Within a tenant the id still makes the send idempotent: a repeat is the first reply, no new fact.
    again = await im(api, "POST", "/api/im/discussions", 201, token=alice, json={"parent_comment_id": "cm1", **body})
    assert again["data"]["discussion_id"] == mine_id
    assert len(await api.store.history("reply", mine_id)) == 1
    other = await api.call(
        "POST", "/api/im/discussions", token=alice, json={**body, "parent_comment_id": "cm1", "content": "别的"}
    )
    assert other.status_code == 409 and mine_id in other.text
