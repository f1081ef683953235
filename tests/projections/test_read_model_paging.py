"""Paging with an integer cursor (an item's seq) never repeats or skips an item, while facts keep landing."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest

from hiscrm.facts import catalogue as c
from hiscrm.projector.model import Tx, key
from projections import comments, contents, conversations, paging
from projections.comments import CommentRow
from projections.contents import ContentRow
from projections.conversations import MessageRow
from tests.projections.factlog import T0, FactLog

Page = Callable[[Tx, int | None, int], list[tuple[int, bytes]]]
_serial = itertools.count()


def comment(account_id: str, at: int, content_id: str = "v1", parent: str | None = None) -> c.CommentObserved:
    n = next(_serial)
    return c.CommentObserved(
        account_id=account_id,
        comment_id=f"c{n}",
        content_id=content_id,
        parent_comment_id=parent,
        text=f"comment {n}",
        author=c.Person(user_id="u1"),
        create_time_ms=T0 + at,
    )


def message(account_id: str, at: int, conversation_id: str = "conv1") -> c.MessageObserved:
    n = next(_serial)
    peer, me = c.Person(user_id="u2"), c.Person(user_id="me")
    return c.MessageObserved(
        account_id=account_id,
        message_id=f"m{n}",
        conversation_id=conversation_id,
        sender=peer,
        receiver=me,
        direction="inbound",
        content=f"message {n}",
        create_time_ms=T0 + at,
    )


def seeded(log: FactLog) -> None:
    facts = []
    for i in range(12):
        # Equal create times on purpose: ties must still page exactly.
        facts.append(comment("acc1", (i // 2) * 100, content_id=f"v{i % 2}"))
        facts.append(message("acc1", i * 70 + 5, conversation_id=f"conv{i % 2}"))
        facts.append(comment("acc2", i * 90))
    log.append(*facts)
    log.append(*(work(f"w{i}", (i * 7) % 5) for i in range(9)))


def work(content_id: str, at: int) -> c.ContentObserved:
    return c.ContentObserved(account_id="acc1", content_id=content_id, publish_time_ms=T0 + at)


def interference(log: FactLog) -> Callable[[int], None]:
    """Between pages: items newer, older and in the middle of the list, re-observations, reads, deletes."""

    def land(page_no: int) -> None:
        if page_no >= 6:
            return  # items keep landing ahead of the walk: stop eventually so it can end
        at = 300 - page_no * 50
        log.append(
            comment("acc1", at, content_id="v0"),
            comment("acc1", 10_000),
            message("acc1", at, conversation_id="conv0"),
            message("acc1", -5),
            comment("acc2", at),
            work(f"late{page_no}", at),
            c.CommentObserved(
                account_id="acc1",
                comment_id="c0",
                content_id="v0",
                text="edited",
                author=c.Person(user_id="u1"),
                create_time_ms=T0,
            ),
            c.CommentRead(account_id="acc1", comment_id=f"c{page_no}"),
            c.MessageDeleted(account_id="acc1", message_id=f"m{page_no + 1}"),
        )

    return land


def unified_page(account_id: str | None) -> Page:
    def page(tx: Tx, cursor: int | None, count: int) -> list[tuple[int, bytes]]:
        out = []
        for kind, rk in paging.unified(tx, account_id, cursor):
            row = (
                tx.get(comments.ROWS, rk, CommentRow)
                if kind == "comment"
                else tx.get(conversations.MESSAGES, rk, MessageRow)
            )
            out.append((row.seq, rk))
            if len(out) == count:
                break
        return out

    return page


def index_page(
    table: str,
    prefix: bytes,
    by_seq: Callable[[Tx, int], object],
    position: Callable[[object], bytes],
    rows: str,
    type_: type,
) -> Page:
    def page(tx: Tx, cursor: int | None, count: int) -> list[tuple[int, bytes]]:
        after = position(by_seq(tx, cursor)) if cursor else None
        out = []
        for _, rk in paging.scan_after(tx, table, prefix, after, bytes):
            out.append((tx.get(rows, rk, type_).seq, rk))
            if len(out) == count:
                break
        return out

    return page


def walk(log: FactLog, page: Page, between: Callable[[int], None] | None = None, count: int = 4) -> list[bytes]:
    got: list[bytes] = []
    cursor = None
    for page_no in itertools.count():
        with log.tx() as tx:
            items = page(tx, cursor, count)
        got.extend(rk for _, rk in items)
        if len(items) < count:
            return got
        cursor = items[-1][0]
        if between is not None:
            between(page_no)
    raise AssertionError("unreachable")


PAGES: dict[str, Page] = {
    "unified acc1": unified_page("acc1"),
    "unified all": unified_page(None),
    "comments on v0": index_page(
        comments.BY_CONTENT, key("acc1", "v0", b""), comments.by_seq, comments.content_key, comments.ROWS, CommentRow
    ),
    "messages in conv0": index_page(
        conversations.MESSAGES_BY_CONVERSATION,
        key("acc1", "conv0", b""),
        conversations.message_by_seq,
        conversations.conversation_messages_key,
        conversations.MESSAGES,
        MessageRow,
    ),
    "contents of acc1": index_page(
        contents.ORDER, key("acc1", b""), contents.by_seq, contents.order_key, contents.ROWS, ContentRow
    ),
}


@pytest.mark.parametrize("name", list(PAGES))
def test_a_walk_returns_every_item_that_existed_once_in_order(log: FactLog, name: str) -> None:
    seeded(log)
    page = PAGES[name]
    before = walk(log, page, count=1000)
    assert len(before) >= 6
    during = walk(log, page, between=interference(log), count=3)
    assert len(during) == len(set(during)), "no item twice"
    assert [rk for rk in during if rk in set(before)] == before, "every item that existed, in its order"
    assert len(walk(log, page, count=1000)) > len(before), "facts really landed during the walk"


def test_the_unified_inbox_is_newest_first_across_comments_and_messages(log: FactLog) -> None:
    log.append(comment("acc1", 10), message("acc1", 20), comment("acc1", 30), message("acc1", 5))
    with log.tx() as tx:
        kinds = [kind for kind, _ in paging.unified(tx, "acc1")]
        assert kinds == ["comment", "message", "comment", "message"]
        times = []
        for kind, rk in paging.unified(tx, None):
            row = (
                tx.get(comments.ROWS, rk, CommentRow)
                if kind == "comment"
                else tx.get(conversations.MESSAGES, rk, MessageRow)
            )
            times.append(row.create_time)
        assert times == sorted(times, reverse=True)


def test_a_cursor_that_names_no_item_of_the_list_is_refused(log: FactLog) -> None:
    log.append(comment("acc1", 1), comment("acc2", 2), c.ContentObserved(account_id="acc1", content_id="v1"))
    with log.tx() as tx:
        assert len(list(paging.unified(tx, "acc1", 1))) == 0
        with pytest.raises(paging.UnknownCursor):
            list(paging.unified(tx, "acc1", 2))  # acc2's comment
        with pytest.raises(paging.UnknownCursor):
            list(paging.unified(tx, "acc1", 3))  # a work, not an inbox item
