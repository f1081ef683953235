"""The account's own comments, replies and DMs, seen again by the crawler, are never unread, new or notified.

The control is the same sequence with the own items left out: every counter a reader sees must be the
same with and without them, and each own item's row must say it is read.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from hiscrm.facts import catalogue as c
from hiscrm.facts.base import Fact
from hiscrm.projector.model import key
from projections import comments, contents, conversations, notifications, unread
from projections.comments import CommentRow
from projections.contents import ContentRow
from projections.conversations import MessageRow
from projections.notifications import NotificationRow
from tests.projections.factlog import T0, FactLog

ME = c.Person(user_id="me", name="林小满的厨房")
FAN = c.Person(user_id="u1", name="Ann")
times = st.integers(T0, T0 + 100_000)
content_id = st.sampled_from(("v0", "v1"))


def _comment(own: bool) -> st.SearchStrategy[c.CommentObserved]:
    # Own and other items never share an id: the property is about each item's first sighting.
    ids = ("o0", "o1", "o2") if own else ("c0", "c1", "c2")
    return st.builds(
        c.CommentObserved,
        account_id=st.just("a1"),
        comment_id=st.sampled_from(ids),
        content_id=content_id,
        parent_comment_id=st.one_of(st.none(), st.sampled_from(("c0", "o0"))),
        text=st.sampled_from(("谢谢支持", "好看")),
        author=st.just(ME if own else FAN),
        create_time_ms=times,
        is_author=st.just(own),
        baseline=st.booleans(),
    )


def _message(own: bool) -> st.SearchStrategy[c.MessageObserved]:
    ids = ("om0", "om1") if own else ("m0", "m1")
    return st.builds(
        c.MessageObserved,
        account_id=st.just("a1"),
        message_id=st.sampled_from(ids),
        conversation_id=st.just("k0"),
        sender=st.just(ME if own else FAN),
        receiver=st.just(FAN if own else ME),
        direction=st.just("outbound" if own else "inbound"),
        content=st.sampled_from(("收到", "价格?")),
        create_time_ms=times,
        baseline=st.booleans(),
    )


reads = st.one_of(
    st.builds(c.CommentRead, account_id=st.just("a1"), comment_id=st.sampled_from(("c0", "o0", "c1"))),
    st.builds(c.MessageRead, account_id=st.just("a1"), message_id=st.sampled_from(("m0", "om0"))),
    st.builds(c.ConversationRead, account_id=st.just("a1"), conversation_id=st.just("k0")),
)
entries = st.one_of(_comment(True), _comment(False), _message(True), _message(False), reads)


def _own(fact: Fact) -> bool:
    return (isinstance(fact, c.CommentObserved) and fact.is_author) or (
        isinstance(fact, c.MessageObserved) and fact.direction == "outbound"
    )


def _seen(facts: list[Fact], path: Path) -> tuple[object, ...]:
    """What a reader is shown of the account's unread state, and the rows of its own items."""
    log = FactLog(path)
    try:
        log.append(*facts)
        with log.tx() as tx:
            notes = [n for _, n in tx.scan(notifications.ROWS, key("a1", b""), NotificationRow)]
            rows = [r for _, r in tx.scan(comments.ROWS, key("a1", b""), CommentRow)]
            messages = [m for _, m in tx.scan(conversations.MESSAGES, key("a1", b""), MessageRow)]
            works = {w.content_id: w.stats.new_comments for _, w in tx.scan(contents.ROWS, key("a1", b""), ContentRow)}
            own_rows = [(r.is_read, r.is_new) for r in rows if r.is_author]
            own_rows += [(m.is_read, m.is_new) for m in messages if m.direction == "outbound"]
            return (
                unread.counts(tx, "a1"),
                notifications.unread(tx, "a1"),
                sorted((n.kind, n.refs.comment_id, n.refs.message_id, n.is_read) for n in notes),
                {w: n for w, n in works.items() if n},
                own_rows,
            )
    finally:
        log.close()


@settings(max_examples=60, deadline=None)
@given(facts=st.lists(entries, min_size=1, max_size=30))
def test_own_items_never_count_as_unread_new_or_notified(facts: list[Fact]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        counts, unread_notes, notes, new_by_work, own_rows = _seen(facts, Path(tmp) / "all")
        control = _seen([f for f in facts if not _own(f)], Path(tmp) / "control")
    assert (counts, unread_notes, notes, new_by_work) == control[:4]
    assert all(row == (True, False) for row in own_rows)
    assert not any(ref in ("o0", "o1", "o2", "om0", "om1") for _, comment_ref, message_ref, _ in notes
                   for ref in (comment_ref, message_ref))  # fmt: skip


def test_our_own_reply_seen_after_a_fans_comment_leaves_only_the_fans_unread(tmp_path: Path) -> None:
    """The reply flow's sent reply comes back from the crawler with the platform's author label."""
    log = FactLog(tmp_path / "models")
    try:
        fan = c.CommentObserved(account_id="a1", comment_id="c0", content_id="v0", text="好看", author=FAN,
                                create_time_ms=T0)  # fmt: skip
        ours = c.CommentObserved(account_id="a1", comment_id="o0", content_id="v0", text="谢谢支持", author=ME,
                                 create_time_ms=T0 + 1, parent_comment_id="c0", is_author=True)  # fmt: skip
        log.append(fan, ours)
        with log.tx() as tx:
            assert unread.counts(tx, "a1") == unread.Counts(unread_comments=1, total_unread=1)
            assert notifications.unread(tx, "a1") == 1
        log.append(c.CommentRead(account_id="a1", comment_id="c0"))
        with log.tx() as tx:
            assert unread.counts(tx, "a1") == unread.Counts()
            assert notifications.unread(tx, "a1") == 0
            assert tx.get(comments.ROWS, comments.row_key("a1", "o0"), CommentRow).is_read
    finally:
        log.close()
