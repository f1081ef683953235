"""The search read model: what it finds is exactly what a filter over every item finds, in inbox order,
page after page; and applying the facts in any batches (incremental) gives the tables a rebuild gives."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from hiscrm.facts import catalogue as c
from hiscrm.projector.model import Tx
from projections import comments, conversations, search
from projections._rows import when
from projections.comments import CommentRow
from projections.conversations import MessageRow
from tests.projections.factlog import T0, to_raw
from tests.projections.test_read_model_properties import project, split

ACCOUNTS = ("a1", "a2")
# A few characters and words, so that queries often match, partly match, and match across items.
PIECES = ("好", "看", "好看", "价格", "多少", "抖音", "Hello", "hello", "iPhone15", "ok", "！", " ", ",", "ＡＢ", "ab")
text = st.lists(st.sampled_from(PIECES), max_size=6).map("".join)
name = st.sampled_from((None, "小明", "Ann Lee", "好看的人"))
person = st.builds(c.Person, user_id=st.sampled_from(("u1", "u2")), name=name)
times = st.integers(T0 - 5_000, T0 + 5_000)
observations = st.one_of(
    st.builds(
        c.CommentObserved,
        account_id=st.sampled_from(ACCOUNTS),
        comment_id=st.sampled_from(("c0", "c1", "c2", "c3")),
        content_id=st.just("v0"),
        parent_comment_id=st.one_of(st.none(), st.just("c0")),
        text=text,
        author=person,
        create_time_ms=times,
    ),
    # A message's direction is its own for good (m0, m1 come in; m2, m3 go out).
    st.builds(
        lambda i, **kw: c.MessageObserved(message_id=f"m{i}", direction="inbound" if i < 2 else "outbound", **kw),
        st.integers(0, 3),
        account_id=st.sampled_from(ACCOUNTS),
        conversation_id=st.just("k0"),
        sender=person,
        receiver=person,
        content=text,
        create_time_ms=times,
    ),
)
queries = st.one_of(text, st.sampled_from(PIECES), st.sampled_from(("好看 hello", "看好", "小明", "lee", "AB", "!!")))


def brute_force(tx: Tx, accounts: list[str], query: search.Query) -> list[tuple[str, str, str]]:
    """Every item of these accounts whose indexed text matches, in inbox order: the answer to compare with."""
    found = []
    for account_id in accounts:
        prefix = account_id.encode() + b"\x00"
        for _, row in tx.scan(comments.ROWS, prefix, CommentRow):
            if search.matches(query, search.comment_text(row.text, row.author)):
                found.append((when(row.create_time, row.seq), account_id, "c", row.comment_id))
        for _, m in tx.scan(conversations.MESSAGES, prefix, MessageRow):
            if search.matches(query, search.message_text(m.content, m.direction, m.sender, m.receiver)):
                found.append((when(m.create_time, m.seq), account_id, "m", m.message_id))
    return [item[1:] for item in sorted(found)]


@settings(max_examples=40, deadline=None)
@given(
    facts=st.lists(observations, min_size=1, max_size=40),
    cuts=st.lists(st.integers(0, 40), max_size=8),
    asked=st.lists(queries, min_size=1, max_size=6),
    scope=st.sampled_from((ACCOUNTS, ("a1",), ("a2",))),
)
def test_search_equals_a_filter_over_every_item_and_rebuild_equals_incremental(
    facts: list[c.Fact], cuts: list[int], asked: list[str], scope: tuple[str, ...]
) -> None:
    raws = [to_raw(f, seq, T0 + seq * 1000) for seq, f in enumerate(facts, start=1)]
    with tempfile.TemporaryDirectory() as tmp:
        rebuilt = project(Path(tmp) / "whole", [raws])
        incremental = project(Path(tmp) / "pieces", split(raws, cuts))
        try:
            assert list(rebuilt.items()) == list(incremental.items())
            with rebuilt.read() as txn:
                tx = rebuilt.tx(txn)
                for q in asked:
                    query = search.parse(q)
                    if query is None:
                        assert not any(ch.isalnum() for ch in q)
                        continue
                    hits = list(search.find(tx, list(scope), query))
                    assert [(h.account_id, h.letter, h.item_id) for h in hits] == brute_force(tx, list(scope), query)
                    # Paging: resuming after any hit gives exactly the hits after it.
                    for i, hit in enumerate(hits):
                        rest = list(search.find(tx, list(scope), query, hit.when))
                        assert rest == hits[i + 1 :]
        finally:
            rebuilt.close()
            incremental.close()


def test_terms_of_chinese_and_latin_text() -> None:
    assert search.terms_of("价格多少？Hello iPhone15") == {
        "价",
        "格",
        "多",
        "少",
        "价格",
        "格多",
        "多少",
        "hello",
        "iphone15",
    }
    query = search.parse("格多 HELLO")
    assert query is not None and query.parts == ("hello", "格多")
    assert search.matches(query, "价格多少 hello")
    assert not search.matches(query, "价格 多少 hello")  # 格多 is not inside one run there
    assert not search.matches(query, "价格多少 hellos")  # words match whole
    assert search.parse(" ，！") is None
