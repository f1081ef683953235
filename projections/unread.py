"""Unread counters per account and across accounts, kept exact by tracking each item's state.

An item counts once: from its first observation that is `incoming` (not baseline, not the account's
own: an inbound message, a comment without the author label) until it is read, deleted, or its
conversation is read or deleted. Re-observations never count again.
A deleted account's counters leave the global total, and facts that still arrive for it are
ignored until the account is created again; an item first seen before that never counts.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from hiscrm.facts import catalogue as c
from hiscrm.facts.codec import Recorded
from hiscrm.projector.model import Tx, key
from projections import sightings

NAME = "unread"
VERSION = 3  # 3: the account's own comments never count
COUNTS = "unread_counts"  # key(account) -> Counts
TOTAL = "unread_total"  # TOTAL_KEY -> Counts over every live account
ITEMS = "unread_items"  # key(account, "c"|"m", item_id) -> ItemState while the item counts
OPEN_BY_CONVERSATION = "unread_conversations"  # key(account, conversation_id, message_id) -> True while counted
GONE = "unread_gone"  # key(account) -> True between account.deleted and a new account.created
TABLES = (COUNTS, TOTAL, ITEMS, OPEN_BY_CONVERSATION, GONE)
TOTAL_KEY = b"all"

Kind = Literal["comment", "discussion", "direct_message"]


class Counts(msgspec.Struct, kw_only=True):
    unread_comments: int = 0
    unread_discussions: int = 0
    unread_direct_messages: int = 0
    total_unread: int = 0


class ItemState(msgspec.Struct, kw_only=True):
    kind: Kind
    conversation_id: str | None = None


_FIELD = {"comment": "unread_comments", "discussion": "unread_discussions", "direct_message": "unread_direct_messages"}


def counts(tx: Tx, account_id: str | None = None) -> Counts:
    """An account's counters, or the global ones without an account."""
    found = tx.get(COUNTS, key(account_id), Counts) if account_id else tx.get(TOTAL, TOTAL_KEY, Counts)
    return found or Counts()


def _bump(tx: Tx, table: str, k: bytes, kind: Kind, by: int) -> None:
    row = tx.get(table, k, Counts) or Counts()
    field = _FIELD[kind]
    setattr(row, field, max(0, getattr(row, field) + by))
    row.total_unread = row.unread_comments + row.unread_discussions + row.unread_direct_messages
    tx.put(table, k, row)


def _count(tx: Tx, account_id: str, kind: Kind, by: int) -> None:
    _bump(tx, COUNTS, key(account_id), kind, by)
    _bump(tx, TOTAL, TOTAL_KEY, kind, by)


def _letter(kind: Kind) -> sightings.Kind:
    return "m" if kind == "direct_message" else "c"


def _sighted(tx: Tx, account_id: str, item_id: str, seq: int, counted: bool, state: ItemState) -> None:
    if tx.exists(GONE, key(account_id)):
        return
    letter = _letter(state.kind)
    if not sightings.is_first(tx, account_id, letter, item_id, seq) or not counted:
        return
    tx.put(ITEMS, key(account_id, letter, item_id), state)
    _count(tx, account_id, state.kind, 1)
    if state.conversation_id is not None:
        tx.put(OPEN_BY_CONVERSATION, key(account_id, state.conversation_id, item_id), True)


def _settle(tx: Tx, account_id: str, kind: Kind, item_id: str) -> None:
    """The item stops counting, if it still did."""
    k = key(account_id, _letter(kind), item_id)
    state = tx.get(ITEMS, k, ItemState)
    if state is None:
        return
    tx.delete(ITEMS, k)
    _count(tx, account_id, state.kind, -1)
    if state.conversation_id is not None:
        tx.delete(OPEN_BY_CONVERSATION, key(account_id, state.conversation_id, item_id))


def _comment_observed(tx: Tx, rec: Recorded) -> None:
    f: c.CommentObserved = rec.fact  # type: ignore[assignment]
    kind: Kind = "discussion" if f.parent_comment_id else "comment"
    _sighted(tx, f.account_id, f.comment_id, rec.seq, f.incoming, ItemState(kind=kind))


def _message_observed(tx: Tx, rec: Recorded) -> None:
    f: c.MessageObserved = rec.fact  # type: ignore[assignment]
    _sighted(
        tx,
        f.account_id,
        f.message_id,
        rec.seq,
        f.incoming,
        ItemState(kind="direct_message", conversation_id=f.conversation_id),
    )


def _comment_read(tx: Tx, rec: Recorded) -> None:
    f: c.CommentRead = rec.fact  # type: ignore[assignment]
    _settle(tx, f.account_id, "comment", f.comment_id)


def _message_settled(tx: Tx, rec: Recorded) -> None:
    f: c.MessageRead | c.MessageDeleted = rec.fact  # type: ignore[assignment]
    _settle(tx, f.account_id, "direct_message", f.message_id)


def _conversation_settled(tx: Tx, rec: Recorded) -> None:
    f: c.ConversationRead | c.ConversationDeleted = rec.fact  # type: ignore[assignment]
    prefix = key(f.account_id, f.conversation_id, b"")
    for k in [k for k, _ in tx.scan(OPEN_BY_CONVERSATION, prefix)]:
        _settle(tx, f.account_id, "direct_message", k[len(prefix) :].decode())


def _account_deleted(tx: Tx, rec: Recorded) -> None:
    f: c.AccountDeleted = rec.fact  # type: ignore[assignment]
    row = tx.get(COUNTS, key(f.account_id), Counts)
    if row is not None:
        for kind, field in _FIELD.items():
            _bump(tx, TOTAL, TOTAL_KEY, kind, -getattr(row, field))  # type: ignore[arg-type]
        tx.delete(COUNTS, key(f.account_id))
    for table in (ITEMS, OPEN_BY_CONVERSATION):
        for k in [k for k, _ in tx.scan(table, key(f.account_id, b""))]:
            tx.delete(table, k)
    tx.put(GONE, key(f.account_id), True)


def _account_created(tx: Tx, rec: Recorded) -> None:
    f: c.AccountCreated = rec.fact  # type: ignore[assignment]
    tx.delete(GONE, key(f.account_id))


HANDLERS = {
    c.CommentObserved.type_name(): _comment_observed,
    c.CommentRead.type_name(): _comment_read,
    c.MessageObserved.type_name(): _message_observed,
    c.MessageRead.type_name(): _message_settled,
    c.MessageDeleted.type_name(): _message_settled,
    c.ConversationRead.type_name(): _conversation_settled,
    c.ConversationDeleted.type_name(): _conversation_settled,
    c.AccountDeleted.type_name(): _account_deleted,
    c.AccountCreated.type_name(): _account_created,
}
