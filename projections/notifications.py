"""Notifications for the console: new comments, replies and inbound DMs, platform notices, account trouble.

Only the first observation of an item raises one, and only when it is `incoming` (not baseline, not
the account's own comment or message). Each account's list is newest
first by the seq of the fact that raised it, which is also its key and its id: a cursor needs no
lookup. A notification reads as read once `notification_read` names it, once what it points at was
read or deleted (comment_read, message_read|deleted, conversation_read|deleted), and account trouble
once a later login succeeded. UNREAD counts each account's unread notifications.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from hiscrm.facts import catalogue as c
from hiscrm.facts.codec import Recorded
from hiscrm.projector.model import Tx, be64, from_be64, key, newest_first
from projections import sightings

NAME = "notifications"
VERSION = 4  # 4: the account's own comments raise none
# key(account, newest_first(seq)) -> NotificationRow. An item's notification, if it raised one, has
# the seq of the item's first sighting: that is how reading the item finds it.
ROWS = "notifications"
OPEN_BY_CONVERSATION = "notifications_conversations"  # key(account, conversation_id, be64(seq)) -> True while unread
OPEN_TROUBLE = "notifications_trouble"  # key(account, be64(seq)) -> True while unread
BY_SEQ = "notifications_by_seq"  # be64(seq) -> account_id: whose notification a seq is
UNREAD = "notifications_unread"  # key(account) -> how many of its notifications are unread
TABLES = (ROWS, OPEN_BY_CONVERSATION, OPEN_TROUBLE, BY_SEQ, UNREAD)


Kind = Literal[
    "comment",
    "discussion",
    "direct_message",
    "notice",
    "session_expired",
    "blocked",
    "login_failed",
    "verification_required",
]


class Refs(msgspec.Struct, kw_only=True, omit_defaults=True):
    """What a notification points at, so the console can open it."""

    content_id: str | None = None
    comment_id: str | None = None
    parent_comment_id: str | None = None
    conversation_id: str | None = None
    message_id: str | None = None
    notification_id: str | None = None
    login_id: str | None = None
    worker_id: str | None = None
    user: c.Person | None = None


class NotificationRow(msgspec.Struct, kw_only=True):
    seq: int
    account_id: str
    kind: Kind
    title: str
    text: str | None
    at: int
    item_time: int | None = None
    refs: Refs
    is_read: bool = False


def row_key(account_id: str, seq: int) -> bytes:
    return key(account_id, newest_first(seq))


def _who(person: c.Person) -> str:
    return person.name or person.unique_id or person.user_id


def account_of(tx: Tx, seq: int) -> str | None:
    """The account whose notification was raised at `seq`, if one was."""
    return tx.get(BY_SEQ, be64(seq), str)


def unread(tx: Tx, account_id: str) -> int:
    return tx.get(UNREAD, key(account_id), int) or 0


def _count(tx: Tx, account_id: str, by: int) -> None:
    tx.put(UNREAD, key(account_id), unread(tx, account_id) + by)


def _put(tx: Tx, row: NotificationRow) -> None:
    tx.put(ROWS, row_key(row.account_id, row.seq), row)
    tx.put(BY_SEQ, be64(row.seq), row.account_id)
    _count(tx, row.account_id, 1)


def _announce(tx: Tx, account_id: str, kind: sightings.Kind, item_id: str, raises: bool, seq: int) -> bool:
    """True when this is the item's first sighting and it deserves a notification."""
    return sightings.is_first(tx, account_id, kind, item_id, seq) and raises


def _mark_read(tx: Tx, account_id: str, seq: int) -> None:
    k = row_key(account_id, seq)
    row = tx.get(ROWS, k, NotificationRow)
    if row is not None and not row.is_read:
        row.is_read = True
        tx.put(ROWS, k, row)
        _count(tx, account_id, -1)


def _comment_observed(tx: Tx, rec: Recorded) -> None:
    f: c.CommentObserved = rec.fact  # type: ignore[assignment]
    if not _announce(tx, f.account_id, "c", f.comment_id, f.incoming, rec.seq):
        return
    reply = bool(f.parent_comment_id)
    where = f" on {f.content_title}" if f.content_title else ""
    row = NotificationRow(
        seq=rec.seq,
        account_id=f.account_id,
        kind="discussion" if reply else "comment",
        title=f"{'Reply' if reply else 'Comment'} from {_who(f.author)}{where}",
        text=f.text,
        at=rec.time_ms,
        item_time=f.create_time_ms,
        refs=Refs(
            content_id=f.content_id,
            comment_id=f.comment_id,
            parent_comment_id=f.parent_comment_id or None,
            user=f.author,
        ),
    )
    _put(tx, row)


def _message_observed(tx: Tx, rec: Recorded) -> None:
    f: c.MessageObserved = rec.fact  # type: ignore[assignment]
    if not _announce(tx, f.account_id, "m", f.message_id, f.incoming, rec.seq):
        return
    row = NotificationRow(
        seq=rec.seq,
        account_id=f.account_id,
        kind="direct_message",
        title=f"Message from {_who(f.sender)}",
        text=f.content,
        at=rec.time_ms,
        item_time=f.create_time_ms,
        refs=Refs(conversation_id=f.conversation_id, message_id=f.message_id, user=f.sender),
    )
    _put(tx, row)
    tx.put(OPEN_BY_CONVERSATION, key(f.account_id, f.conversation_id, be64(rec.seq)), True)


def _notification_observed(tx: Tx, rec: Recorded) -> None:
    f: c.NotificationObserved = rec.fact  # type: ignore[assignment]
    if not _announce(tx, f.account_id, "n", f.notification_id, not f.baseline, rec.seq):
        return
    row = NotificationRow(
        seq=rec.seq,
        account_id=f.account_id,
        kind="notice",
        title=f"Notice from {_who(f.user)}" if f.user else "Notice",
        text=f.text,
        at=rec.time_ms,
        item_time=f.create_time_ms,
        refs=Refs(notification_id=f.notification_id, content_id=f.content_id, comment_id=f.comment_id, user=f.user),
    )
    _put(tx, row)


def _trouble(tx: Tx, rec: Recorded) -> None:
    f = rec.fact
    account_id: str = f.account_id  # type: ignore[attr-defined]
    refs = Refs(login_id=getattr(f, "login_id", None), worker_id=getattr(f, "worker_id", None))
    kind: Kind
    if isinstance(f, c.AccountSessionExpired):
        kind, title, text = "session_expired", "Login session expired", f.detail
    elif isinstance(f, c.AccountBlocked):
        kind, title, text = "blocked", f"Account blocked ({f.kind})", f.detail
    elif isinstance(f, c.LoginFailed):
        kind, title, text = "login_failed", "Login failed", f.reason
    else:
        v: c.LoginVerificationRequired = f  # type: ignore[assignment]
        kind, title, text = "verification_required", f"Login needs verification ({v.method})", v.message
    row = NotificationRow(
        seq=rec.seq, account_id=account_id, kind=kind, title=title, text=text, at=rec.time_ms, refs=refs
    )
    _put(tx, row)
    tx.put(OPEN_TROUBLE, key(account_id, be64(rec.seq)), True)


def _login_succeeded(tx: Tx, rec: Recorded) -> None:
    f: c.LoginSucceeded = rec.fact  # type: ignore[assignment]
    prefix = key(f.account_id, b"")
    for k in [k for k, _ in tx.scan(OPEN_TROUBLE, prefix)]:
        tx.delete(OPEN_TROUBLE, k)
        _mark_read(tx, f.account_id, from_be64(k[len(prefix) :]))


def _comment_read(tx: Tx, rec: Recorded) -> None:
    f: c.CommentRead = rec.fact  # type: ignore[assignment]
    seq = sightings.first_seq(tx, f.account_id, "c", f.comment_id)
    if seq is not None:
        _mark_read(tx, f.account_id, seq)


def _message_settled(tx: Tx, rec: Recorded) -> None:
    f: c.MessageRead | c.MessageDeleted = rec.fact  # type: ignore[assignment]
    seq = sightings.first_seq(tx, f.account_id, "m", f.message_id)
    row = tx.get(ROWS, row_key(f.account_id, seq), NotificationRow) if seq is not None else None
    if row is not None and row.refs.conversation_id is not None:
        tx.delete(OPEN_BY_CONVERSATION, key(f.account_id, row.refs.conversation_id, be64(row.seq)))
        _mark_read(tx, f.account_id, row.seq)


def _conversation_read(tx: Tx, rec: Recorded) -> None:
    f: c.ConversationRead | c.ConversationDeleted = rec.fact  # type: ignore[assignment]
    prefix = key(f.account_id, f.conversation_id, b"")
    for k in [k for k, _ in tx.scan(OPEN_BY_CONVERSATION, prefix)]:
        tx.delete(OPEN_BY_CONVERSATION, k)
        _mark_read(tx, f.account_id, from_be64(k[len(prefix) :]))


def _notification_read(tx: Tx, rec: Recorded) -> None:
    f: c.NotificationRead = rec.fact  # type: ignore[assignment]
    _mark_read(tx, f.account_id, f.notification_seq)


HANDLERS = {
    c.NotificationRead.type_name(): _notification_read,
    c.CommentObserved.type_name(): _comment_observed,
    c.MessageObserved.type_name(): _message_observed,
    c.NotificationObserved.type_name(): _notification_observed,
    c.CommentRead.type_name(): _comment_read,
    c.MessageRead.type_name(): _message_settled,
    c.MessageDeleted.type_name(): _message_settled,
    c.ConversationRead.type_name(): _conversation_read,
    c.ConversationDeleted.type_name(): _conversation_read,
    c.AccountSessionExpired.type_name(): _trouble,
    c.AccountBlocked.type_name(): _trouble,
    c.LoginFailed.type_name(): _trouble,
    c.LoginVerificationRequired.type_name(): _trouble,
    c.LoginSucceeded.type_name(): _login_succeeded,
}
