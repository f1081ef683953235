"""Replies: a comment reply and a DM really sent once each; refusals end in reply.failed with the reason."""

from __future__ import annotations

import msgspec

from hiscrm.facts.catalogue import CommentObserved, MessageObserved, ReplyFailed, ReplySent, SnapshotSynced
from hiscrm.facts.messages import ReplySend
from hiscrm.facts.subjects import command_subject
from hiscrm.sandbox import ids
from tests.worker.conftest import KITCHEN, Cluster, Sandbox, wait_for_facts


async def arm(sandbox: Sandbox, mode: str, kind: str) -> None:
    """The next send of that kind is refused (or rate limited) by the site."""
    await sandbox.control("POST", f"/accounts/{KITCHEN}/arm", {"mode": mode, "kind": kind, "times": 1})


async def test_a_comment_reply_and_a_dm_are_sent_once_and_refusals_fail(  # type: ignore[no-untyped-def]
    nc, cluster: Cluster, sandbox: Sandbox
) -> None:
    cluster.start_worker()
    await cluster.logged_in("kitchen", KITCHEN)
    await wait_for_facts(nc, SnapshotSynced, timeout=90)
    world = sandbox.world
    comments = await wait_for_facts(nc, CommentObserved)
    dm = next(m for m in await wait_for_facts(nc, MessageObserved) if m.direction == "inbound")
    discussion = next(c for c in comments if c.parent_comment_id and not c.is_author)
    private = next(w for w in world.works.values() if w.owner_uid == KITCHEN and w.private)
    closed = next(c for c in comments if c.content_id == private.aweme_id)

    await cluster.request_reply(1, "kitchen", target_type="comment", target_id=discussion.comment_id, content="谢谢～")
    await cluster.request_reply(2, "kitchen", target_type="direct_message", target_id=dm.message_id, content="收到")
    sent = {s.reply_id: s for s in await wait_for_facts(nc, ReplySent, 2)}
    # The same command delivered again (a redelivery after a crash) sends nothing.
    again = ReplySend(reply_id="R1", request_id="Q1", account_id="kitchen", target_type="comment",
                      target_id=discussion.comment_id, content="谢谢～")  # fmt: skip
    await nc.jetstream().publish(command_subject("w1", "kitchen", "reply_send"), msgspec.json.encode(again))

    # The site refuses one send at a time: wait for each outcome before arming the next.
    await arm(sandbox, "refuse", "dm")
    await cluster.request_reply(
        3, "kitchen", target_type="direct_message", target_id="-", conversation_id=dm.conversation_id, content="在吗"
    )
    await wait_for_facts(nc, ReplyFailed, 1)
    await cluster.request_reply(4, "kitchen", target_type="comment", target_id=closed.comment_id, content="私密")
    await wait_for_facts(nc, ReplyFailed, 2)
    await arm(sandbox, "rate_limit", "comment_reply")
    await cluster.request_reply(5, "kitchen", target_type="comment", target_id=discussion.comment_id, content="快")
    failed = {f.reply_id: f for f in await wait_for_facts(nc, ReplyFailed, 3)}

    on_site = await sandbox.control("GET", f"/sent?uid={KITCHEN}")
    assert sorted((s["kind"], s["text"]) for s in on_site) == [("comment_reply", "谢谢～"), ("dm", "收到")]
    by_kind = {s["kind"]: s for s in on_site}
    # The platform's id as the reply answer gave it: the encrypted form of the new comment's cid.
    assert sent["R1"].platform_id == ids.comment_token(by_kind["comment_reply"]["id"]) and sent["R1"].worker_id == "w1"
    assert by_kind["comment_reply"]["comment_id"] == discussion.comment_id
    assert sent["R2"].platform_id == by_kind["dm"]["id"]
    assert by_kind["dm"]["conversation_id"] == dm.conversation_id
    assert failed["R3"].code == "refused" and "无法" in failed["R3"].reason
    assert failed["R4"].code == "15421" and "私密" in failed["R4"].reason
    assert failed["R5"].code == "rate_limited" and "频繁" in failed["R5"].reason
    assert set(sent) == {"R1", "R2"} and set(failed) == {"R3", "R4", "R5"}
