"""Conversations and messages: last message, unread counts, order, IM-state changes."""

from __future__ import annotations

import msgspec

from hiscrm.facts import catalogue as c
from hiscrm.projector.model import key
from projections import conversations, notifications, unread
from projections.conversations import ConversationRow, MessageRow
from projections.notifications import NotificationRow
from tests.projections.factlog import T0, FactLog

ME = c.Person(user_id="me", name="小店")
BOB = c.Person(user_id="u2", name="Bob", avatar="https://a/2.jpeg")
CAROL = c.Person(user_id="u3", name="Carol")


def msg(
    message_id: str,
    conversation_id: str = "conv1",
    *,
    at: int = 0,
    inbound: bool = True,
    peer: c.Person = BOB,
    baseline: bool = False,
    content: str | None = None,
) -> c.MessageObserved:
    return c.MessageObserved(
        account_id="acc1",
        message_id=message_id,
        conversation_id=conversation_id,
        sender=peer if inbound else ME,
        receiver=ME if inbound else peer,
        direction="inbound" if inbound else "outbound",
        content=content or f"text {message_id}",
        create_time_ms=T0 + at,
        baseline=baseline,
    )


def conv(log: FactLog, conversation_id: str = "conv1") -> ConversationRow:
    return log.get(
        conversations.CONVERSATIONS, conversations.conversation_key("acc1", conversation_id), ConversationRow
    )


def message(log: FactLog, message_id: str) -> MessageRow:
    return log.get(conversations.MESSAGES, conversations.message_key("acc1", message_id), MessageRow)


def unread_dms(log: FactLog) -> int:
    with log.tx() as tx:
        return unread.counts(tx, "acc1").unread_direct_messages


def listed(log: FactLog) -> list[str]:
    return [
        k.split(b"\x00")[1].decode() for k in log.values(conversations.CONVERSATIONS_ORDER, key("acc1", b""), bytes)
    ]


def test_messages_update_last_message_and_unread(log: FactLog) -> None:
    log.append(
        c.ConversationObserved(account_id="acc1", conversation_id="conv1", peer=BOB, short_id="s1", unread_count=4)
    )
    log.append(msg("m1", at=10), msg("m2", at=30), msg("m0", at=5))
    row = conv(log)
    assert row.last_message is not None
    assert (row.last_message.message_id, row.last_message.content, row.last_message.create_time) == (
        "m2",
        "text m2",
        T0 + 30,
    )
    assert (row.unread_count, row.platform_unread_count, row.participant, row.short_id) == (3, 4, BOB, "s1")
    assert unread_dms(log) == 3

    log.append(msg("m2", at=30, content="edited"))
    assert conv(log).last_message.content == "edited"  # type: ignore[union-attr]
    assert conv(log).unread_count == 3, "a re-observation does not count again"
    m = message(log, "m2")
    assert (m.content, m.is_new, m.is_read, m.status, m.direction) == ("edited", True, False, "delivered", "inbound")


def test_outbound_and_baseline_messages_are_not_unread(log: FactLog) -> None:
    log.append(msg("m1", baseline=True), msg("m2", at=1, inbound=False))
    assert (conv(log).unread_count, unread_dms(log)) == (0, 0)
    m2 = message(log, "m2")
    assert (m2.is_read, m2.is_new, m2.status) == (True, False, "sent")
    assert log.values(notifications.ROWS, key("acc1", b"")) == []
    assert conv(log).participant == BOB, "a conversation first seen through a message takes its peer from it"


def test_reading_and_deleting_messages(log: FactLog) -> None:
    log.append(msg("m1", at=1), msg("m2", at=2), msg("m3", at=3))
    log.append(c.MessageRead(account_id="acc1", message_id="m1"), c.MessageRead(account_id="acc1", message_id="m1"))
    assert (conv(log).unread_count, unread_dms(log)) == (2, 2)
    m1 = message(log, "m1")
    assert (m1.is_read, m1.is_new, m1.read_at) == (True, False, log.now - 1000)

    log.append(c.MessageDeleted(account_id="acc1", message_id="m1"))
    assert (conv(log).unread_count, unread_dms(log)) == (2, 2), "deleting a read message changes no count"
    log.append(
        c.MessageDeleted(account_id="acc1", message_id="m3"), c.MessageDeleted(account_id="acc1", message_id="m3")
    )
    assert (conv(log).unread_count, unread_dms(log)) == (1, 1)
    assert message(log, "m3").is_deleted
    assert conv(log).last_message.message_id == "m2", "the last message falls back past a deleted one"  # type: ignore[union-attr]

    log.append(c.MessageRecalled(account_id="acc1", message_id="m2"))
    log.append(c.MessageStatusChanged(account_id="acc1", message_id="m2", status="read"))
    m2 = message(log, "m2")
    assert (m2.is_recalled, m2.recalled_at, m2.status, m2.is_new) == (True, log.now - 1000, "read", True)

    note = {n.refs.message_id: n.is_read for n in log.values(notifications.ROWS, key("acc1", b""), NotificationRow)}
    assert note == {"m1": True, "m2": False, "m3": True}


def test_conversation_read_and_delete(log: FactLog) -> None:
    log.append(msg("m1", at=1), msg("m2", at=2), msg("x1", "conv2", at=3, peer=CAROL))
    log.append(c.ConversationRead(account_id="acc1", conversation_id="conv1"))
    assert (conv(log).unread_count, conv(log, "conv2").unread_count, unread_dms(log)) == (0, 1, 1)
    assert all(message(log, m).is_read for m in ("m1", "m2"))
    assert not message(log, "x1").is_read
    notes = log.values(notifications.ROWS, key("acc1", b""), NotificationRow)
    assert {n.refs.message_id: n.is_read for n in notes} == {"m1": True, "m2": True, "x1": False}

    log.append(c.ConversationDeleted(account_id="acc1", conversation_id="conv2"))
    row = conv(log, "conv2")
    assert (row.status, row.unread_count, row.deleted_at, unread_dms(log)) == ("deleted", 0, log.now, 0)
    x1 = message(log, "x1")
    assert (x1.is_new, x1.is_read) == (False, True)

    log.append(msg("x2", "conv2", at=9, peer=CAROL))
    row = conv(log, "conv2")
    assert (row.status, row.unread_count, unread_dms(log)) == ("active", 1, 1), "a new message brings it back"


def test_conversation_order_pinned_first_then_newest_last_message(log: FactLog) -> None:
    log.append(msg("a1", "A", at=10), msg("b1", "B", at=20, peer=CAROL), msg("c1", "C", at=30))
    assert listed(log) == ["C", "B", "A"]
    log.append(msg("a2", "A", at=40))
    assert listed(log) == ["A", "C", "B"]
    log.append(msg("b0", "B", at=1, peer=CAROL))
    assert listed(log) == ["A", "C", "B"], "an older message does not move a conversation"
    log.append(c.ConversationPinned(account_id="acc1", conversation_id="B"))
    assert listed(log) == ["B", "A", "C"]
    log.append(c.ConversationMuted(account_id="acc1", conversation_id="C"))
    assert (conv(log, "B").is_pinned, conv(log, "C").is_muted) == (True, True)
    log.append(
        c.ConversationUnpinned(account_id="acc1", conversation_id="B"),
        c.ConversationUnmuted(account_id="acc1", conversation_id="C"),
    )
    assert listed(log) == ["A", "C", "B"]
    assert (conv(log, "B").is_pinned, conv(log, "C").is_muted) == (False, False)
    assert len(log.values(conversations.CONVERSATIONS_ORDER)) == 3, "moving leaves no stale entries"


def test_messages_per_conversation_newest_first(log: FactLog) -> None:
    log.append(msg("m1", at=10), msg("m3", at=30), msg("m2", at=20), msg("m2", at=20, content="again"))
    keys = log.values(conversations.MESSAGES_BY_CONVERSATION, key("acc1", "conv1", b""), bytes)
    assert keys == [key("acc1", m) for m in ("m3", "m2", "m1")]
    assert len(log.values(conversations.MESSAGES_INBOX_ALL)) == 3


def test_a_sent_reply_invents_no_message(log: FactLog) -> None:
    log.append(
        c.ReplyRequested(
            reply_id="r1",
            account_id="acc1",
            request_id="q1",
            target_type="direct_message",
            target_id="conv1",
            content="hi",
        ),
        c.ReplySent(reply_id="r1", account_id="acc1", platform_id="p1"),
    )
    assert log.values(conversations.MESSAGES) == []
    assert log.values(conversations.CONVERSATIONS) == []


def test_conversations_and_messages_are_found_by_id_alone(log: FactLog) -> None:
    # A DM between two managed accounts: both see the same conversation and message ids.
    log.append(msg("m1"), msgspec.structs.replace(msg("m1"), account_id="acc2", direction="outbound"))
    with log.tx() as tx:
        assert conversations.accounts_of_message(tx, "m1") == ["acc1", "acc2"]
        assert conversations.accounts_of_conversation(tx, "conv1") == ["acc1", "acc2"]
        assert conversations.accounts_of_message(tx, "m") == []
