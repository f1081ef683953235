"""An account's works (IM "contents") with their stats and how many new comments each has.

A work is (account_id, content_id). It is listed newest publish first; the time it is listed by
(`order_time`: the publish time, or when it was first seen if the page gave none) and its `seq`
are fixed by the first observation, so it never moves. `stats.new_comments` counts its comments
and replies that are new: `incoming` (not baseline, not the account's own) and not yet read.
"""

from __future__ import annotations

from typing import TypeVar

import msgspec

from hiscrm.facts import catalogue as c
from hiscrm.facts.codec import Recorded
from hiscrm.projector.model import Tx, be64, key
from projections import sightings
from projections._rows import mark_read, owners, when

NAME = "contents"
VERSION = 3  # 3: the account's own comments are not new
ROWS = "contents"  # key(account, content_id) -> ContentRow
BY_SEQ = "contents_seq"  # be64(seq) -> row key
ORDER = "contents_order"  # key(account, when(order_time, seq)) -> row key
# key(account, comment_id) -> content_id while that comment counts as new.
COMMENTS = "contents_comments"
# key(account, content_id) -> number of new comments; kept apart from the row so comments seen before their work count.
NEW_COMMENTS = "contents_new_comments"
BY_ID = "contents_by_id"  # key(content_id, account) -> True: routes that name a work without its account
TABLES = (ROWS, BY_SEQ, ORDER, COMMENTS, NEW_COMMENTS, BY_ID)

T = TypeVar("T")


class Stats(msgspec.Struct, kw_only=True):
    total_comments: int = 0
    new_comments: int = 0
    likes: int = 0
    shares: int = 0
    views: int = 0
    collects: int = 0


class ContentRow(msgspec.Struct, kw_only=True):
    seq: int
    account_id: str
    content_id: str
    platform: str
    content_type: str
    title: str | None = None
    description: str | None = None
    cover: str | None = None
    url: str | None = None
    publish_time: int | None = None
    order_time: int
    stats: Stats = msgspec.field(default_factory=Stats)
    baseline: bool = False
    is_read: bool = False
    is_new: bool = False
    read_at: int | None = None
    created_at: int
    updated_at: int
    last_crawl_time: int


def row_key(account_id: str, content_id: str) -> bytes:
    return key(account_id, content_id)


def order_key(row: ContentRow) -> bytes:
    return key(row.account_id, when(row.order_time, row.seq))


def by_seq(tx: Tx, seq: int) -> ContentRow | None:
    k = tx.get(BY_SEQ, be64(seq), bytes)
    return None if k is None else tx.get(ROWS, k, ContentRow)


def accounts_of(tx: Tx, content_id: str) -> list[str]:
    return owners(tx, BY_ID, content_id)


def _given(new: T | None, old: T | None) -> T | None:
    return old if new is None else new


def _observed(tx: Tx, rec: Recorded) -> None:
    f: c.ContentObserved = rec.fact  # type: ignore[assignment]
    k = row_key(f.account_id, f.content_id)
    row = tx.get(ROWS, k, ContentRow)
    if row is None:
        row = ContentRow(
            seq=rec.seq,
            account_id=f.account_id,
            content_id=f.content_id,
            platform=f.platform,
            content_type=f.content_type,
            order_time=f.publish_time_ms if f.publish_time_ms is not None else rec.time_ms,
            stats=Stats(new_comments=tx.get(NEW_COMMENTS, k, int) or 0),
            baseline=f.baseline,
            is_read=f.baseline,
            is_new=not f.baseline,
            created_at=rec.time_ms,
            updated_at=rec.time_ms,
            last_crawl_time=rec.time_ms,
        )
        tx.put(BY_SEQ, be64(rec.seq), k)
        tx.put(BY_ID, key(f.content_id, f.account_id), True)
        tx.put(ORDER, order_key(row), k)
    row.content_type = f.content_type
    # A page that omits a field says nothing about it: keep what an earlier observation saw.
    row.title = _given(f.title, row.title)
    row.description = _given(f.description, row.description)
    row.cover, row.url = _given(f.cover, row.cover), _given(f.url, row.url)
    row.publish_time = _given(f.publish_time_ms, row.publish_time)
    s = f.stats
    row.stats = Stats(
        total_comments=s.comments,
        new_comments=row.stats.new_comments,
        likes=s.likes,
        shares=s.shares,
        views=s.views,
        collects=s.collects,
    )
    row.updated_at = rec.time_ms
    row.last_crawl_time = f.observed_at_ms or rec.time_ms
    tx.put(ROWS, k, row)


def _count_new(tx: Tx, account_id: str, content_id: str, by: int, at_ms: int) -> None:
    k = row_key(account_id, content_id)
    value = tx.add(NEW_COMMENTS, k, by)
    row = tx.get(ROWS, k, ContentRow)
    if row is not None:
        row.stats.new_comments = value
        row.updated_at = at_ms
        tx.put(ROWS, k, row)


def _comment_observed(tx: Tx, rec: Recorded) -> None:
    f: c.CommentObserved = rec.fact  # type: ignore[assignment]
    if sightings.is_first(tx, f.account_id, "c", f.comment_id, rec.seq) and f.incoming:
        tx.put(COMMENTS, key(f.account_id, f.comment_id), f.content_id)
        _count_new(tx, f.account_id, f.content_id, 1, rec.time_ms)


def _comment_read(tx: Tx, rec: Recorded) -> None:
    f: c.CommentRead = rec.fact  # type: ignore[assignment]
    k = key(f.account_id, f.comment_id)
    content_id = tx.get(COMMENTS, k, str)
    if content_id is not None:
        tx.delete(COMMENTS, k)
        _count_new(tx, f.account_id, content_id, -1, rec.time_ms)


def _read(tx: Tx, rec: Recorded) -> None:
    f: c.ContentRead = rec.fact  # type: ignore[assignment]
    mark_read(tx, ROWS, row_key(f.account_id, f.content_id), ContentRow, rec.time_ms)


HANDLERS = {
    c.ContentObserved.type_name(): _observed,
    c.ContentRead.type_name(): _read,
    c.CommentObserved.type_name(): _comment_observed,
    c.CommentRead.type_name(): _comment_read,
}
