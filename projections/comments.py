"""Comments on an account's works and their replies (discussions: comments with a parent).

An item is (account_id, comment_id). Its `seq`, create time, content and parent are fixed by the
first observation; a re-observation (new like count, edited text) updates the row in place, so
it neither becomes new again nor moves in any order. The account's own comments and replies
(`is_author`) are read from their first sighting: the team wrote them.
"""

from __future__ import annotations

import msgspec

from hiscrm.facts import catalogue as c
from hiscrm.facts.codec import Recorded
from hiscrm.projector.model import Tx, be64, key
from projections._rows import mark_read, owners, when

NAME = "comments"
VERSION = 2  # 2: the account's own comments are read from the start
ROWS = "comments"  # key(account, comment_id) -> CommentRow
BY_SEQ = "comments_seq"  # be64(seq) -> row key
INBOX = "comments_inbox"  # key(account, when) -> row key: comments and discussions, newest first
INBOX_ALL = "comments_inbox_all"  # when -> row key: the same across accounts
BY_CONTENT = "comments_by_content"  # key(account, content_id, when) -> row key: comments and discussions
BY_PARENT = "comments_by_parent"  # key(account, parent_comment_id, when) -> row key: discussions only
BY_ID = "comments_by_id"  # key(comment_id, account) -> True: routes that name a comment without its account
TABLES = (ROWS, BY_SEQ, INBOX, INBOX_ALL, BY_CONTENT, BY_PARENT, BY_ID)


class CommentRow(msgspec.Struct, kw_only=True):
    seq: int
    account_id: str
    comment_id: str
    platform: str
    content_id: str
    parent_comment_id: str | None
    content_title: str | None
    text: str
    author: c.Person
    create_time: int
    detected_at: int
    updated_at: int
    like_count: int = 0
    reply_count: int = 0
    is_author: bool = False
    ip_label: str | None = None
    baseline: bool = False
    is_read: bool = False
    is_new: bool = False
    read_at: int | None = None


def row_key(account_id: str, comment_id: str) -> bytes:
    return key(account_id, comment_id)


def inbox_key(row: CommentRow) -> bytes:
    return key(row.account_id, when(row.create_time, row.seq))


def inbox_all_key(row: CommentRow) -> bytes:
    return when(row.create_time, row.seq)


def content_key(row: CommentRow) -> bytes:
    return key(row.account_id, row.content_id, when(row.create_time, row.seq))


def parent_key(row: CommentRow) -> bytes:
    return key(row.account_id, row.parent_comment_id or "", when(row.create_time, row.seq))


def by_seq(tx: Tx, seq: int) -> CommentRow | None:
    """The comment a cursor names, or None when that seq did not create a comment."""
    k = tx.get(BY_SEQ, be64(seq), bytes)
    return None if k is None else tx.get(ROWS, k, CommentRow)


def accounts_of(tx: Tx, comment_id: str) -> list[str]:
    return owners(tx, BY_ID, comment_id)


def _observed(tx: Tx, rec: Recorded) -> None:
    f: c.CommentObserved = rec.fact  # type: ignore[assignment]
    k = row_key(f.account_id, f.comment_id)
    row = tx.get(ROWS, k, CommentRow)
    if row is None:
        row = CommentRow(
            seq=rec.seq,
            account_id=f.account_id,
            comment_id=f.comment_id,
            platform=f.platform,
            content_id=f.content_id,
            # Platforms send "" for "no parent" as often as they omit it.
            parent_comment_id=f.parent_comment_id or None,
            content_title=f.content_title,
            text=f.text,
            author=f.author,
            create_time=f.create_time_ms,
            detected_at=rec.time_ms,
            updated_at=rec.time_ms,
            like_count=f.like_count,
            reply_count=f.reply_count,
            is_author=f.is_author,
            ip_label=f.ip_label,
            baseline=f.baseline,
            is_read=not f.incoming,
            is_new=f.incoming,
        )
        tx.put(BY_SEQ, be64(rec.seq), k)
        tx.put(BY_ID, key(f.comment_id, f.account_id), True)
        tx.put(INBOX, inbox_key(row), k)
        tx.put(INBOX_ALL, inbox_all_key(row), k)
        tx.put(BY_CONTENT, content_key(row), k)
        if row.parent_comment_id is not None:
            tx.put(BY_PARENT, parent_key(row), k)
    else:
        row.text, row.author = f.text, f.author
        row.like_count, row.reply_count = f.like_count, f.reply_count
        row.is_author, row.ip_label = f.is_author, f.ip_label
        row.content_title = f.content_title or row.content_title
        row.updated_at = rec.time_ms
    tx.put(ROWS, k, row)


def _read(tx: Tx, rec: Recorded) -> None:
    f: c.CommentRead = rec.fact  # type: ignore[assignment]
    mark_read(tx, ROWS, row_key(f.account_id, f.comment_id), CommentRow, rec.time_ms)


HANDLERS = {
    c.CommentObserved.type_name(): _observed,
    c.CommentRead.type_name(): _read,
}
