"""Reading the order indexes a page at a time, for the API. Not a read model.

A cursor is the `seq` of the last item a page returned. To go on, find that item's row (by the
model's `by_seq`), rebuild its key in the index being walked (the model's key function), and scan
strictly after it. Item keys never change, so a walk neither repeats nor skips an item that
existed when it began, however many facts land meanwhile.

The unified inbox is two indexes with the same key layout, comments and messages, merged.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

from hiscrm.projector.model import Tx, decoder, key
from projections import comments, conversations

Kind = Literal["comment", "message"]


def scan_after(
    tx: Tx, table: str, prefix: bytes, after: bytes | None = None, type_: Any = Any
) -> Iterator[tuple[bytes, Any]]:
    """(key, value) of `table`'s entries under `prefix` in key order, strictly after `after` when given."""
    dec = decoder(type_)
    with tx.txn.cursor(db=tx.dbs[table]) as cur:
        if not cur.set_range(after if after is not None and after > prefix else prefix):
            return
        for k, v in cur:
            k = bytes(k)
            if not k.startswith(prefix):
                return
            if k != after:
                yield k, dec.decode(v)


def unified_position(tx: Tx, seq: int, account_id: str | None) -> bytes | None:
    """Where the comment or message created at `seq` sits in the unified inbox (one account's or all)."""
    comment = comments.by_seq(tx, seq)
    if comment is not None:
        return comments.inbox_key(comment) if account_id else comments.inbox_all_key(comment)
    message = conversations.message_by_seq(tx, seq)
    if message is not None:
        return conversations.inbox_key(message) if account_id else conversations.inbox_all_key(message)
    return None


class UnknownCursor(LookupError):
    """The cursor names no item of the list being walked: the client sent something it was not given."""


def unified(tx: Tx, account_id: str | None, after_seq: int | None = None) -> Iterator[tuple[Kind, bytes]]:
    """(kind, row key) of comments, discussions and messages, newest first, after the item `after_seq`.

    With an account, that account's inbox; without one, every account's.
    """
    prefix = key(account_id, b"") if account_id else b""
    after = None
    if after_seq:
        after = unified_position(tx, after_seq, account_id)
        if after is None or not after.startswith(prefix):
            raise UnknownCursor(f"cursor {after_seq} is not an item of this inbox")
    comment_index = comments.INBOX if account_id else comments.INBOX_ALL
    message_index = conversations.MESSAGES_INBOX if account_id else conversations.MESSAGES_INBOX_ALL
    # Two sources only, walked for every inbox page: a plain two-way merge costs far less than heapq's.
    comment_entries = scan_after(tx, comment_index, prefix, after, bytes)
    message_entries = scan_after(tx, message_index, prefix, after, bytes)
    comment, message = next(comment_entries, None), next(message_entries, None)
    while comment is not None or message is not None:
        if message is None or (comment is not None and comment[0] <= message[0]):
            yield "comment", comment[1]  # type: ignore[index]
            comment = next(comment_entries, None)
        else:
            yield "message", message[1]
            message = next(message_entries, None)
