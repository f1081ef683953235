"""Replies, freshness and activity."""

from __future__ import annotations

from hiscrm.facts import catalogue as c
from hiscrm.projector.model import be64, key
from projections import activity, freshness, replies
from projections.activity import NewItems
from projections.freshness import FreshnessRow
from projections.replies import ReplyRow
from tests.projections.factlog import T0, FactLog


def request(reply_id: str, request_id: str, account_id: str = "acc1") -> c.ReplyRequested:
    return c.ReplyRequested(
        reply_id=reply_id,
        account_id=account_id,
        request_id=request_id,
        target_type="comment",
        target_id="c1",
        content="谢谢支持",
        video_id="v1",
    )


def reply(log: FactLog, reply_id: str) -> ReplyRow:
    return log.get(replies.ROWS, replies.row_key(reply_id), ReplyRow)


def test_reply_lifecycle_and_request_index(log: FactLog) -> None:
    seq = log.append(request("r1", "q1"))
    r = reply(log, "r1")
    assert (r.status, r.seq, r.request_id, r.target_type, r.content, r.requested_at) == (
        "pending",
        seq,
        "q1",
        "comment",
        "谢谢支持",
        log.now,
    )
    with log.tx() as tx:
        found = replies.by_request(tx, "acc1", "q1")
        assert found is not None and found.reply_id == "r1"
        assert replies.by_request(tx, "acc1", "q2") is None

    log.append(request("r2", "q1"))
    assert reply(log, "r2") is None, "a request_id is owned by its first reply"

    log.append(c.ReplyFailed(reply_id="r1", account_id="acc1", reason="rate limited", code="429"))
    r = reply(log, "r1")
    assert (r.status, r.reason, r.code, r.failed_at) == ("failed", "rate limited", "429", log.now)
    log.append(c.ReplySent(reply_id="r1", account_id="acc1", platform_id="p9", sent_at_ms=T0 + 5, worker_id="w1"))
    r = reply(log, "r1")
    assert (r.status, r.platform_id, r.sent_at, r.reason, r.worker_id) == ("sent", "p9", T0 + 5, None, "w1")
    log.append(c.ReplyFailed(reply_id="r1", account_id="acc1", reason="late"))
    assert reply(log, "r1").status == "sent", "a stale failure does not unsend"


def test_replies_listed_newest_first(log: FactLog) -> None:
    log.append(request("r1", "q1"), request("r2", "q2", "acc2"), request("r3", "q3"))
    assert log.values(replies.BY_ACCOUNT, key("acc1", b""), str) == ["r3", "r1"]
    assert log.values(replies.ALL, type_=str) == ["r3", "r2", "r1"]


def test_freshness_is_the_last_pass(log: FactLog) -> None:
    for n in (1, 2):
        seq = log.append(
            c.SnapshotSynced(
                account_id="acc1",
                worker_id=f"w{n}",
                pass_no=n,
                counts=c.PassCounts(comments=n),
                new_counts=c.PassCounts(comments=1),
                duration_ms=100 * n,
                digest=f"d{n}",
                baseline=n == 1,
            )
        )
    row = log.get(freshness.ROWS, key("acc1"), FreshnessRow)
    assert (row.seq, row.at, row.worker_id, row.pass_no, row.duration_ms, row.digest, row.baseline) == (
        seq,
        log.now,
        "w2",
        2,
        200,
        "d2",
        False,
    )
    assert row.counts == c.PassCounts(comments=2)


def comment(comment_id: str, baseline: bool = False) -> c.CommentObserved:
    return c.CommentObserved(
        account_id="acc1",
        comment_id=comment_id,
        content_id="v1",
        text="hi",
        author=c.Person(user_id="u1"),
        create_time_ms=T0,
        baseline=baseline,
    )


def dm(message_id: str, inbound: bool = True) -> c.MessageObserved:
    me, peer = c.Person(user_id="me"), c.Person(user_id="u1")
    return c.MessageObserved(
        account_id="acc1",
        message_id=message_id,
        conversation_id="conv1",
        sender=peer if inbound else me,
        receiver=me if inbound else peer,
        direction="inbound" if inbound else "outbound",
        content="hi",
        create_time_ms=T0,
    )


def minute(time_ms: int) -> int:
    return activity.minute_of(time_ms)


def test_activity_counts_facts_and_new_items_per_minute(log: FactLog) -> None:
    log.now = 60_000 * (T0 // 60_000)  # minute-aligned, so 5 facts 1 s apart share a minute
    log.append(comment("c1"), comment("c1"), comment("c2", baseline=True), dm("m1"), dm("m2", inbound=False))
    m = minute(log.now)
    assert log.get(activity.FACTS, be64(m), int) == 5
    assert log.get(activity.NEW, key("acc1", be64(m)), NewItems) == NewItems(comments=1, messages=1)
    log.append(comment("c3"), step_ms=60_000)
    assert log.get(activity.FACTS, be64(m + 1), int) == 1
    assert log.get(activity.NEW, key("acc1", be64(m + 1)), NewItems) == NewItems(comments=1)


def test_activity_drops_buckets_older_than_the_retention(log: FactLog) -> None:
    log.append(comment("c1"))
    first = minute(log.now)
    log.append(comment("c2"), step_ms=60_000 * activity.RETENTION_MINUTES)
    assert log.get(activity.FACTS, be64(first), int) == 1, "exactly the retention old is still kept"
    log.append(comment("c3"), step_ms=60_000)
    assert log.get(activity.FACTS, be64(first)) is None
    assert log.get(activity.NEW, key("acc1", be64(first))) is None
    kept = [first + activity.RETENTION_MINUTES, first + activity.RETENTION_MINUTES + 1]
    with log.tx() as tx:
        assert [k for k, _ in tx.scan(activity.FACTS)] == [be64(m) for m in kept]
        assert [k for k, _ in tx.scan(activity.NEW)] == [key("acc1", be64(m)) for m in kept]
