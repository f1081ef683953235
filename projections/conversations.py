"""Direct-message conversations and their messages, per account.

A message is (account_id, message_id) with a `seq`, create time and conversation fixed by its
first observation, so its places in the message orders never change. A conversation's place does
change: the list is pinned first, then newest last message, so pinning or a newer message moves it.

A message is new (`is_new`) while it is inbound, not baseline, not read and not deleted; reading or
deleting its conversation reads it. A conversation's `unread_count` is the number of its new messages.
Messages are only ever created by `message_observed`: a DM sent through the reply flow shows up
here when the crawler sees it on the platform.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from hiscrm.facts import catalogue as c
from hiscrm.facts.codec import Recorded
from hiscrm.projector.model import Tx, be64, key
from projections._rows import owners, when

NAME = "conversations"
VERSION = 1
CONVERSATIONS = "conversations"  # key(account, conversation_id) -> ConversationRow
CONVERSATIONS_SEQ = "conversations_seq"  # be64(seq) -> conversation row key
CONVERSATIONS_ORDER = "conversations_order"  # order_key(row) -> conversation row key; mutable
MESSAGES = "messages"  # key(account, message_id) -> MessageRow
MESSAGES_SEQ = "messages_seq"  # be64(seq) -> message row key
MESSAGES_INBOX = "messages_inbox"  # key(account, when) -> message row key
MESSAGES_INBOX_ALL = "messages_inbox_all"  # when -> message row key, across accounts
MESSAGES_BY_CONVERSATION = "messages_by_conversation"  # key(account, conversation_id, when) -> message row key
NEW_MESSAGES = "messages_new"  # key(account, conversation_id, message_id) -> True while the message is new
# key(id, account) -> True: for routes that name a conversation or message without its account.
CONVERSATIONS_BY_ID = "conversations_by_id"
MESSAGES_BY_ID = "messages_by_id"
TABLES = (
    CONVERSATIONS,
    CONVERSATIONS_SEQ,
    CONVERSATIONS_ORDER,
    MESSAGES,
    MESSAGES_SEQ,
    MESSAGES_INBOX,
    MESSAGES_INBOX_ALL,
    MESSAGES_BY_CONVERSATION,
    NEW_MESSAGES,
    CONVERSATIONS_BY_ID,
    MESSAGES_BY_ID,
)

# The pin flag and its separator: with `when` after it, the key ends in one byte part, which key() joins fastest.
_PINNED, _UNPINNED = b"\x00\x00", b"\x01\x00"


class LastMessage(msgspec.Struct, kw_only=True):
    message_id: str
    seq: int
    content: str
    msg_type: str
    create_time: int
    direction: str


class ConversationRow(msgspec.Struct, kw_only=True):
    seq: int
    account_id: str
    conversation_id: str
    platform: str
    conversation_type: str = "one_on_one"
    short_id: str | None = None
    participant: c.Person | None = None
    last_message: LastMessage | None = None
    unread_count: int = 0
    # What the platform's own list said, kept apart from the exact count derived from messages.
    platform_unread_count: int | None = None
    is_pinned: bool = False
    is_muted: bool = False
    status: Literal["active", "deleted"] = "active"
    deleted_at: int | None = None
    create_time: int
    update_time: int

    @property
    def last_activity(self) -> int:
        return self.last_message.create_time if self.last_message is not None else self.create_time


class MessageRow(msgspec.Struct, kw_only=True):
    seq: int
    account_id: str
    message_id: str
    conversation_id: str
    platform: str
    sender: c.Person
    receiver: c.Person | None
    direction: str
    msg_type: str
    content: str
    create_time: int
    detected_at: int
    updated_at: int
    status: str
    baseline: bool
    is_read: bool
    is_new: bool
    read_at: int | None = None
    is_deleted: bool = False
    deleted_at: int | None = None
    is_recalled: bool = False
    recalled_at: int | None = None
    reply_to_message_id: str | None = None
    media_url: str | None = None
    media_thumbnail: str | None = None
    file_size: int | None = None
    file_name: str | None = None
    duration: int | None = None


def conversation_key(account_id: str, conversation_id: str) -> bytes:
    return key(account_id, conversation_id)


def message_key(account_id: str, message_id: str) -> bytes:
    return key(account_id, message_id)


def order_key(row: ConversationRow) -> bytes:
    """Pinned first, then newest last message (or creation when there is none), then newest seq."""
    return key(row.account_id, (_PINNED if row.is_pinned else _UNPINNED) + when(row.last_activity, row.seq))


def inbox_key(row: MessageRow) -> bytes:
    return key(row.account_id, when(row.create_time, row.seq))


def inbox_all_key(row: MessageRow) -> bytes:
    return when(row.create_time, row.seq)


def conversation_messages_key(row: MessageRow) -> bytes:
    return key(row.account_id, row.conversation_id, when(row.create_time, row.seq))


def conversation_by_seq(tx: Tx, seq: int) -> ConversationRow | None:
    k = tx.get(CONVERSATIONS_SEQ, be64(seq), bytes)
    return None if k is None else tx.get(CONVERSATIONS, k, ConversationRow)


def message_by_seq(tx: Tx, seq: int) -> MessageRow | None:
    k = tx.get(MESSAGES_SEQ, be64(seq), bytes)
    return None if k is None else tx.get(MESSAGES, k, MessageRow)


def accounts_of_conversation(tx: Tx, conversation_id: str) -> list[str]:
    return owners(tx, CONVERSATIONS_BY_ID, conversation_id)


def accounts_of_message(tx: Tx, message_id: str) -> list[str]:
    return owners(tx, MESSAGES_BY_ID, message_id)


def _save_conversation(tx: Tx, row: ConversationRow, old_order: bytes | None, at_ms: int) -> None:
    """Write the row and move its order entry if pinning or the last message changed it."""
    row.update_time = at_ms
    k = conversation_key(row.account_id, row.conversation_id)
    new_order = order_key(row)
    if old_order != new_order:
        if old_order is not None:
            tx.delete(CONVERSATIONS_ORDER, old_order)
        tx.put(CONVERSATIONS_ORDER, new_order, k)
    tx.put(CONVERSATIONS, k, row)


def _conversation(tx: Tx, rec: Recorded, conversation_id: str) -> tuple[ConversationRow, bytes | None]:
    """The conversation and its current order key (None when it is created by this fact)."""
    f: c.ConversationObserved | c.MessageObserved = rec.fact  # type: ignore[assignment]
    row = tx.get(CONVERSATIONS, conversation_key(f.account_id, conversation_id), ConversationRow)
    if row is not None:
        return row, order_key(row)
    row = ConversationRow(
        seq=rec.seq,
        account_id=f.account_id,
        conversation_id=conversation_id,
        platform=f.platform,
        create_time=rec.time_ms,
        update_time=rec.time_ms,
    )
    tx.put(CONVERSATIONS_SEQ, be64(rec.seq), conversation_key(f.account_id, conversation_id))
    tx.put(CONVERSATIONS_BY_ID, key(conversation_id, f.account_id), True)
    return row, None


def _conversation_observed(tx: Tx, rec: Recorded) -> None:
    f: c.ConversationObserved = rec.fact  # type: ignore[assignment]
    row, old_order = _conversation(tx, rec, f.conversation_id)
    row.participant, row.conversation_type = f.peer, f.conversation_type
    row.short_id = f.short_id or row.short_id
    if f.unread_count is not None:
        row.platform_unread_count = f.unread_count
    _save_conversation(tx, row, old_order, rec.time_ms)


def _last_message(row: MessageRow) -> LastMessage:
    return LastMessage(
        message_id=row.message_id,
        seq=row.seq,
        content=row.content,
        msg_type=row.msg_type,
        create_time=row.create_time,
        direction=row.direction,
    )


def _new_message(tx: Tx, rec: Recorded, k: bytes) -> MessageRow:
    f: c.MessageObserved = rec.fact  # type: ignore[assignment]
    inbound = f.direction == "inbound"
    row = MessageRow(
        seq=rec.seq,
        account_id=f.account_id,
        message_id=f.message_id,
        conversation_id=f.conversation_id,
        platform=f.platform,
        sender=f.sender,
        receiver=f.receiver,
        direction=f.direction,
        msg_type=f.msg_type,
        content=f.content,
        create_time=f.create_time_ms,
        detected_at=rec.time_ms,
        updated_at=rec.time_ms,
        status="delivered" if inbound else "sent",
        baseline=f.baseline,
        is_read=f.baseline or not inbound,
        is_new=inbound and not f.baseline,
        reply_to_message_id=f.reply_to_message_id,
        media_url=f.media_url,
        media_thumbnail=f.media_thumbnail,
        file_size=f.file_size,
        file_name=f.file_name,
        duration=f.duration,
    )
    tx.put(MESSAGES_SEQ, be64(rec.seq), k)
    tx.put(MESSAGES_BY_ID, key(f.message_id, f.account_id), True)
    tx.put(MESSAGES_INBOX, inbox_key(row), k)
    tx.put(MESSAGES_INBOX_ALL, inbox_all_key(row), k)
    tx.put(MESSAGES_BY_CONVERSATION, conversation_messages_key(row), k)
    return row


def _message_observed(tx: Tx, rec: Recorded) -> None:
    f: c.MessageObserved = rec.fact  # type: ignore[assignment]
    k = message_key(f.account_id, f.message_id)
    row = tx.get(MESSAGES, k, MessageRow)
    created = row is None
    if row is None:
        row = _new_message(tx, rec, k)
    else:
        row.sender, row.receiver = f.sender, f.receiver
        row.msg_type, row.content = f.msg_type, f.content
        row.reply_to_message_id = f.reply_to_message_id
        row.media_url, row.media_thumbnail = f.media_url, f.media_thumbnail
        row.file_size, row.file_name, row.duration = f.file_size, f.file_name, f.duration
        row.updated_at = rec.time_ms
    tx.put(MESSAGES, k, row)

    conv, old_order = _conversation(tx, rec, row.conversation_id)
    changed = old_order is None or created
    if created:
        if row.is_new:
            conv.unread_count += 1
            tx.put(NEW_MESSAGES, key(row.account_id, row.conversation_id, row.message_id), True)
        # A new message brings a deleted conversation back, as it does on the platform.
        conv.status, conv.deleted_at = "active", None
    last = conv.last_message
    if not row.is_deleted and (last is None or (row.create_time, row.seq) >= (last.create_time, last.seq)):
        conv.last_message = _last_message(row)
        changed = True
    if changed:
        # Only here: a row read from the batch is the pending one, so a change that is not saved must not be made.
        if conv.participant is None:
            conv.participant = row.sender if row.direction == "inbound" else row.receiver
        _save_conversation(tx, conv, old_order, rec.time_ms)


def _clear_new(tx: Tx, row: MessageRow, at_ms: int) -> None:
    """The message stops counting as new; its conversation's unread count drops with it."""
    if not row.is_new:
        return
    row.is_new = False
    tx.delete(NEW_MESSAGES, key(row.account_id, row.conversation_id, row.message_id))
    k = conversation_key(row.account_id, row.conversation_id)
    conv = tx.get(CONVERSATIONS, k, ConversationRow)
    if conv is not None:
        conv.unread_count = max(0, conv.unread_count - 1)
        conv.update_time = at_ms
        tx.put(CONVERSATIONS, k, conv)


def _read_all(tx: Tx, rec: Recorded) -> None:
    """Every new message of the conversation becomes read; the others are read already or deleted."""
    f: c.ConversationRead | c.ConversationDeleted = rec.fact  # type: ignore[assignment]
    prefix = key(f.account_id, f.conversation_id, b"")
    for k in [k for k, _ in tx.scan(NEW_MESSAGES, prefix)]:
        tx.delete(NEW_MESSAGES, k)
        mk = message_key(f.account_id, k[len(prefix) :].decode())
        row = tx.get(MESSAGES, mk, MessageRow)
        if row is None:
            continue
        row.is_new, row.is_read, row.read_at = False, True, rec.time_ms
        row.updated_at = rec.time_ms
        tx.put(MESSAGES, mk, row)


def _conversation_state(tx: Tx, rec: Recorded) -> None:
    f: c.ConversationRead = rec.fact  # type: ignore[assignment]
    row = tx.get(CONVERSATIONS, conversation_key(f.account_id, f.conversation_id), ConversationRow)
    if row is None:
        return
    old_order = order_key(row)
    event = rec.fact.event
    if event in ("conversation_read", "conversation_deleted"):
        # Deleting a conversation reads it too: what is gone from the list cannot stay unread.
        _read_all(tx, rec)
        row.unread_count = 0
        if event == "conversation_deleted":
            row.status, row.deleted_at = "deleted", rec.time_ms
    elif event in ("conversation_pinned", "conversation_unpinned"):
        row.is_pinned = event == "conversation_pinned"
    else:
        row.is_muted = event == "conversation_muted"
    _save_conversation(tx, row, old_order, rec.time_ms)


def _newest_kept(tx: Tx, account_id: str, conversation_id: str) -> LastMessage | None:
    for _, mk in tx.scan(MESSAGES_BY_CONVERSATION, key(account_id, conversation_id, b""), bytes):
        row = tx.get(MESSAGES, mk, MessageRow)
        if row is not None and not row.is_deleted:
            return _last_message(row)
    return None


def _message_state(tx: Tx, rec: Recorded) -> None:
    f: c.MessageRead = rec.fact  # type: ignore[assignment]
    k = message_key(f.account_id, f.message_id)
    row = tx.get(MESSAGES, k, MessageRow)
    if row is None:
        return
    event = rec.fact.event
    if event == "message_read":
        _clear_new(tx, row, rec.time_ms)
        if not row.is_read:
            row.is_read, row.read_at = True, rec.time_ms
    elif event == "message_deleted":
        _clear_new(tx, row, rec.time_ms)
        row.is_deleted, row.deleted_at = True, row.deleted_at or rec.time_ms
    elif event == "message_recalled":
        row.is_recalled, row.recalled_at = True, row.recalled_at or rec.time_ms
    else:
        row.status = f.status  # type: ignore[attr-defined]
    row.updated_at = rec.time_ms
    tx.put(MESSAGES, k, row)
    if event == "message_deleted":
        ck = conversation_key(row.account_id, row.conversation_id)
        conv = tx.get(CONVERSATIONS, ck, ConversationRow)
        if conv is not None and conv.last_message is not None and conv.last_message.message_id == row.message_id:
            old_order = order_key(conv)
            conv.last_message = _newest_kept(tx, row.account_id, row.conversation_id)
            _save_conversation(tx, conv, old_order, rec.time_ms)


HANDLERS = {
    c.ConversationObserved.type_name(): _conversation_observed,
    c.MessageObserved.type_name(): _message_observed,
    **{
        cls.type_name(): _conversation_state
        for cls in (
            c.ConversationRead,
            c.ConversationPinned,
            c.ConversationUnpinned,
            c.ConversationMuted,
            c.ConversationUnmuted,
            c.ConversationDeleted,
        )
    },
    **{
        cls.type_name(): _message_state
        for cls in (c.MessageRead, c.MessageDeleted, c.MessageRecalled, c.MessageStatusChanged)
    },
}
