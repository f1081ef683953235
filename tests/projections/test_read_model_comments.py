"""Comments, works, unread counters and notifications as comments arrive, change and are read."""

from __future__ import annotations

from hiscrm.facts import catalogue as c
from hiscrm.projector.model import key
from projections import comments, contents, notifications, unread
from projections.comments import CommentRow
from projections.contents import ContentRow
from projections.notifications import NotificationRow
from projections.unread import Counts
from tests.projections.factlog import T0, FactLog

ALICE = c.Person(user_id="u1", name="Alice", avatar="https://a/1.jpeg")


def comment(
    comment_id: str,
    *,
    account_id: str = "acc1",
    content_id: str = "v1",
    parent: str | None = None,
    baseline: bool = False,
    likes: int = 0,
    text: str = "好看",
    create_time_ms: int = T0,
) -> c.CommentObserved:
    return c.CommentObserved(
        account_id=account_id,
        comment_id=comment_id,
        content_id=content_id,
        parent_comment_id=parent,
        text=text,
        author=ALICE,
        create_time_ms=create_time_ms,
        content_title="My video",
        like_count=likes,
        baseline=baseline,
    )


def work(
    content_id: str, publish_time_ms: int | None, *, baseline: bool = False, comments_: int = 0
) -> c.ContentObserved:
    return c.ContentObserved(
        account_id="acc1",
        content_id=content_id,
        title=f"title {content_id}",
        publish_time_ms=publish_time_ms,
        stats=c.ContentStats(comments=comments_, likes=7, shares=2, views=100),
        baseline=baseline,
    )


def row(log: FactLog, comment_id: str, account_id: str = "acc1") -> CommentRow:
    return log.get(comments.ROWS, comments.row_key(account_id, comment_id), CommentRow)


def counts(log: FactLog, account_id: str | None = "acc1") -> Counts:
    with log.tx() as tx:
        return unread.counts(tx, account_id)


def notes(log: FactLog, account_id: str = "acc1") -> list[NotificationRow]:
    return log.values(notifications.ROWS, key(account_id, b""), NotificationRow)


def content(log: FactLog, content_id: str) -> ContentRow:
    return log.get(contents.ROWS, contents.row_key("acc1", content_id), ContentRow)


def test_baseline_comments_are_history(log: FactLog) -> None:
    log.append(work("v1", T0, baseline=True), comment("c1", baseline=True), comment("r1", parent="c1", baseline=True))
    r = row(log, "c1")
    assert (r.is_read, r.is_new, r.baseline) == (True, False, True)
    assert counts(log) == Counts()
    assert notes(log) == []
    assert content(log, "v1").stats.new_comments == 0
    assert content(log, "v1").is_new is False


def test_a_new_comment_counts_once_and_a_reobservation_changes_it_in_place(log: FactLog) -> None:
    seq = log.append(comment("c1", likes=1))
    first = row(log, "c1")
    assert (first.seq, first.is_new, first.is_read, first.detected_at, first.like_count) == (
        seq,
        True,
        False,
        log.now,
        1,
    )
    assert (first.content_title, first.author, first.parent_comment_id) == ("My video", ALICE, None)
    assert counts(log) == Counts(unread_comments=1, total_unread=1)
    assert [n.kind for n in notes(log)] == ["comment"]
    with log.tx() as tx:
        order_before = [k for k, _ in tx.scan(comments.INBOX, key("acc1", b""))]

    log.append(comment("c1", likes=9, text="好看！！", create_time_ms=T0 + 5))
    again = row(log, "c1")
    assert (again.like_count, again.text, again.updated_at) == (9, "好看！！", log.now)
    assert (again.seq, again.detected_at, again.create_time, again.is_new) == (seq, first.detected_at, T0, True)
    assert counts(log) == Counts(unread_comments=1, total_unread=1)
    assert len(notes(log)) == 1
    with log.tx() as tx:
        assert [k for k, _ in tx.scan(comments.INBOX, key("acc1", b""))] == order_before


def test_reading_decrements_once(log: FactLog) -> None:
    log.append(comment("c1"), comment("c2"), comment("r1", parent="c1"))
    assert counts(log) == Counts(unread_comments=2, unread_discussions=1, total_unread=3)
    assert counts(log, None) == counts(log)
    log.append(c.CommentRead(account_id="acc1", comment_id="c1"), c.CommentRead(account_id="acc1", comment_id="c1"))
    assert counts(log) == Counts(unread_comments=1, unread_discussions=1, total_unread=2)
    log.append(c.CommentRead(account_id="acc1", comment_id="r1"), c.CommentRead(account_id="acc1", comment_id="nope"))
    assert counts(log) == Counts(unread_comments=1, total_unread=1)
    r = row(log, "c1")
    assert (r.is_read, r.is_new) == (True, False)
    assert {n.refs.comment_id: n.is_read for n in notes(log)} == {"c1": True, "c2": False, "r1": True}
    log.append(comment("c1", likes=3))
    assert row(log, "c1").is_read, "a re-observation does not make a read comment unread"
    assert counts(log) == Counts(unread_comments=1, total_unread=1)


def test_discussions_are_indexed_under_their_parent_and_content(log: FactLog) -> None:
    log.append(
        comment("c1"),
        comment("r1", parent="c1", create_time_ms=T0 + 10),
        comment("r2", parent="c1", create_time_ms=T0 + 20),
    )
    log.append(comment("x1", content_id="v2"), comment("r3", parent="", create_time_ms=T0 + 30))
    with log.tx() as tx:
        under_c1 = [v for _, v in tx.scan(comments.BY_PARENT, key("acc1", "c1", b""), bytes)]
        on_v1 = [v for _, v in tx.scan(comments.BY_CONTENT, key("acc1", "v1", b""), bytes)]
    assert under_c1 == [key("acc1", "r2"), key("acc1", "r1")]
    assert on_v1 == [key("acc1", "r3"), key("acc1", "r2"), key("acc1", "r1"), key("acc1", "c1")]
    assert row(log, "r3").parent_comment_id is None, "an empty parent id means a top-level comment"
    assert [n.kind for n in notes(log)] == ["comment", "comment", "discussion", "discussion", "comment"]
    assert notes(log)[2].title == "Reply from Alice on My video"


def test_contents_order_stats_and_new_comments(log: FactLog) -> None:
    log.append(comment("c0", content_id="v2"))  # a comment seen before its work still counts for it
    log.append(work("v1", T0 - 1000, comments_=3), work("v2", T0 - 10), work("v3", None, baseline=True))
    assert content(log, "v2").stats.new_comments == 1
    log.append(
        comment("c1", content_id="v1"), comment("c2", content_id="v1"), comment("c3", content_id="v1", baseline=True)
    )
    v1 = content(log, "v1")
    assert (v1.stats.total_comments, v1.stats.new_comments, v1.stats.likes, v1.stats.views) == (3, 2, 7, 100)
    assert (v1.is_new, v1.title, v1.publish_time) == (True, "title v1", T0 - 1000)
    log.append(c.CommentRead(account_id="acc1", comment_id="c1"), c.CommentRead(account_id="acc1", comment_id="c3"))
    assert content(log, "v1").stats.new_comments == 1

    log.append(c.ContentRead(account_id="acc1", content_id="v1"))
    assert (content(log, "v1").is_new, content(log, "v1").is_read) == (False, True)
    log.append(work("v1", T0 - 1000, comments_=5))
    v1 = content(log, "v1")
    assert (v1.is_new, v1.stats.total_comments, v1.stats.new_comments) == (False, 5, 1)

    # v3 has no publish time, so it is listed by when it was first seen: the newest.
    order = log.values(contents.ORDER, key("acc1", b""), bytes)
    assert order == [key("acc1", "v3"), key("acc1", "v2"), key("acc1", "v1")]


def test_unread_totals_across_accounts_and_deleted_accounts(log: FactLog) -> None:
    log.append(
        c.AccountCreated(account_id="acc1", platform="douyin", account_name="a"),
        c.AccountCreated(account_id="acc2", platform="douyin", account_name="b"),
        comment("c1"),
        comment("c2", account_id="acc2"),
        comment("r1", account_id="acc2", parent="c2"),
    )
    assert counts(log, None) == Counts(unread_comments=2, unread_discussions=1, total_unread=3)
    log.append(c.AccountDeleted(account_id="acc2"), comment("c3", account_id="acc2"))
    assert counts(log, None) == Counts(unread_comments=1, total_unread=1)
    assert counts(log, "acc2") == Counts()
    log.append(
        c.AccountCreated(account_id="acc2", platform="douyin", account_name="b"), comment("c4", account_id="acc2")
    )
    assert counts(log, "acc2") == Counts(unread_comments=1, total_unread=1)
    assert counts(log, None) == Counts(unread_comments=2, total_unread=2)


def test_trouble_notifications_are_read_once_a_login_succeeds(log: FactLog) -> None:
    log.append(
        c.AccountSessionExpired(account_id="acc1", detail="cookie gone"),
        c.LoginVerificationRequired(login_id="L1", account_id="acc1", method="sms"),
        c.LoginFailed(login_id="L1", account_id="acc1", reason="timeout"),
        c.AccountBlocked(account_id="acc1", kind="verification", detail="slider"),
    )
    got = notes(log)
    assert [(n.kind, n.text, n.is_read) for n in got] == [
        ("blocked", "slider", False),
        ("login_failed", "timeout", False),
        ("verification_required", None, False),
        ("session_expired", "cookie gone", False),
    ]
    assert got[1].refs.login_id == "L1"
    log.append(c.LoginSucceeded(login_id="L2", account_id="acc1", profile=c.Profile(uid="1"), sealed_credentials="x"))
    assert all(n.is_read for n in notes(log))


def test_platform_notices_notify_once_and_not_for_baseline(log: FactLog) -> None:
    def notice(nid: str, baseline: bool = False) -> c.NotificationObserved:
        return c.NotificationObserved(
            account_id="acc1",
            notification_id=nid,
            notice_type=3,
            create_time_ms=T0,
            text="liked",
            user=ALICE,
            baseline=baseline,
        )

    seq = log.append(notice("n1"), notice("n1"), notice("n2", baseline=True), notice("n2"))
    got = notes(log)
    assert [(n.kind, n.refs.notification_id, n.title, n.item_time) for n in got] == [
        ("notice", "n1", "Notice from Alice", T0)
    ]
    assert got[0].seq == seq - 3 and got[0].at == T0 + 1000


def test_comments_and_works_are_found_by_id_alone(log: FactLog) -> None:
    log.append(comment("c1"), comment("c1"), comment("c12", account_id="acc2"), work("v1", T0))
    with log.tx() as tx:
        assert comments.accounts_of(tx, "c1") == ["acc1"]
        assert comments.accounts_of(tx, "c12") == ["acc2"]
        assert contents.accounts_of(tx, "v1") == ["acc1"]
        assert contents.accounts_of(tx, "v") == []
