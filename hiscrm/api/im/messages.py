"""/api/im/messages: an account's direct messages, newest first, their state, and sending one for real."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import msgspec

from hiscrm.api.envelopes import ReadyResponse
from hiscrm.api.errors import not_found
from hiscrm.api.im.common import (
    Id,
    ItemQuery,
    PageQuery,
    Seq,
    im_router,
    item_id,
    maybe_ident,
    owner,
    path_ident,
    recorded,
    visible_account,
    visible_account_id,
)
from hiscrm.api.im.conversations import conversation_row
from hiscrm.api.im.page_cache import account_page
from hiscrm.api.im.queries import Page, after_key, index, under, walk
from hiscrm.api.im.sending import RequestId, Text, account_of, send, sent_by_api
from hiscrm.api.im.shaped import ShapedItems, Stored
from hiscrm.api.im.shapes import Message, MessageStatus
from hiscrm.api.routing import Accepted, Call
from hiscrm.api.v1.common import caller
from hiscrm.facts import catalogue as c
from hiscrm.facts.base import Fact
from hiscrm.projector.model import Tx
from projections import conversations as conv
from projections.conversations import MessageRow

router = im_router("im messages")

MsgType = Literal["text", "image", "file", "video", "audio", "link"]


class MessageQuery(PageQuery, kw_only=True):
    """Filters combine; `since_time` (Unix ms) keeps messages created at or after it."""

    conversation_id: Id | None = None
    sender_id: str | None = None
    receiver_id: str | None = None
    status: MessageStatus | None = None
    message_type: MsgType | None = None
    is_deleted: bool | None = None
    is_recalled: bool | None = None
    since_time: Seq | None = None


class MessageList(msgspec.Struct, kw_only=True):
    messages: list[Message]
    cursor: int
    has_more: bool


class MessageSend(msgspec.Struct, kw_only=True):
    """Send a text DM in one of the account's conversations. Answers the message with status sending; it turns
    sent or failed when the worker reports (GET /api/im/messages/{msg_id}, or the events feed).
    Without `account_id` (the predecessor's body) the account is the one holding the conversation; a
    conversation id two accounts hold needs `account_id`. Other fields of the predecessor's body are ignored."""

    account_id: Id | None = None
    conversation_id: Id
    content: Text
    receiver_id: str | None = None
    msg_type: Literal["text"] = "text"
    request_id: RequestId | None = None


class StatusChange(msgspec.Struct, kw_only=True):
    status: MessageStatus


def _page(call: Call, q: MessageQuery, conversation_id: str | None) -> ReadyResponse:
    with call.services.models.read() as tx:
        account_id = visible_account_id(call, tx, q.account_id)
        return account_page(call, tx, account_id, lambda: _messages(call, tx, q, account_id, conversation_id))


def _messages(call: Call, tx: Tx, q: MessageQuery, account_id: str, conversation_id: str | None) -> MessageList:
    cursor_row = conv.message_by_seq(tx, q.cursor) if q.cursor else None
    if conversation_id is not None:
        # Whether the account has the conversation is a fact of its inbox too, so a kept page stands for it.
        conversation_row(call, tx, conversation_id, account_id)
        table, prefix = conv.MESSAGES_BY_CONVERSATION, under(account_id, conversation_id)
        position = conv.conversation_messages_key(cursor_row) if cursor_row else None
    else:
        table, prefix = conv.MESSAGES_INBOX, under(account_id)
        position = conv.inbox_key(cursor_row) if cursor_row else None
    shaped: ShapedItems = call.request.app.state.shaped
    keep = _filter(q)
    page: Page[Stored] = walk(
        index(tx, table, prefix, after_key(q.cursor, position, prefix)),
        lambda k: shaped.load(tx, conv.MESSAGES, k, MessageRow),
        lambda stored: keep(stored.row),
        q.count,
        q.cursor,
        lambda stored: stored.row.seq,
        # Newest first: past the first message older than since_time, none can match.
        stop=(lambda stored: stored.row.create_time < q.since_time) if q.since_time is not None else None,  # type: ignore[operator]
    )
    return MessageList(
        messages=[shaped.json(s, Message.of) for s in page.rows], cursor=page.cursor, has_more=page.has_more
    )


def _filter(q: MessageQuery) -> Callable[[MessageRow], bool]:
    def keep(row: MessageRow) -> bool:
        return (
            (q.sender_id is None or row.sender.user_id == q.sender_id)
            and (q.receiver_id is None or (row.receiver is not None and row.receiver.user_id == q.receiver_id))
            and (q.status is None or row.status == q.status)
            and (q.message_type is None or row.msg_type == q.message_type)
            and (q.is_deleted is None or row.is_deleted == q.is_deleted)
            and (q.is_recalled is None or row.is_recalled == q.is_recalled)
        )

    return keep


@router.route(
    "GET", "/api/im/messages", summary="an account's messages, newest first", query=MessageQuery, response=MessageList
)
async def list_messages(call: Call) -> ReadyResponse:
    q: MessageQuery = call.query
    return _page(call, q, maybe_ident(q.conversation_id, "conversation_id"))


@router.route(
    "GET",
    "/api/im/messages/conversations/{conversation_id}/messages",
    summary="one conversation's messages, newest first",
    query=PageQuery,
    response=MessageList,
)
async def conversation_messages(call: Call) -> ReadyResponse:
    q: PageQuery = call.query
    conversation_id = path_ident(call, "conversation_id", "conversation id")
    return _page(call, MessageQuery(account_id=q.account_id, cursor=q.cursor, count=q.count), conversation_id)


def message_row(call: Call, tx: Tx, message_id: str, account_id: str | None) -> MessageRow:
    found = owner(call, tx, conv.accounts_of_message(tx, message_id), account_id, f"message {message_id!r}")
    row = tx.get(conv.MESSAGES, conv.message_key(found, message_id), MessageRow)
    if row is None:
        raise not_found(f"message {message_id!r}")
    return row


def _shown(call: Call, tx: Tx, message_id: str, account_id: str | None) -> Message:
    """An observed message, or a DM sent through the API that the crawler has not seen yet."""
    reply = sent_by_api(tx, message_id, "direct_message")
    if reply is None or (account_id is not None and reply.account_id != account_id):
        return Message.of(message_row(call, tx, message_id, account_id))
    visible_account(call, tx, reply.account_id)
    peer = None
    if reply.conversation_id is not None:
        found = tx.get(
            conv.CONVERSATIONS, conv.conversation_key(reply.account_id, reply.conversation_id), conv.ConversationRow
        )
        peer = found.participant if found is not None else None
    return Message.sending(reply, account_of(tx, reply.account_id), peer)


@router.route("GET", "/api/im/messages/{id}", summary="one message", query=ItemQuery, response=Message)
async def get_message(call: Call) -> Message:
    message_id = path_ident(call, "id", "message id")
    with call.services.models.read() as tx:
        return _shown(call, tx, message_id, call.query.account_id)


@router.route(
    "POST", "/api/im/messages", summary="send a direct message", body=MessageSend, response=Message, status=201
)
async def send_message(call: Call) -> Message | Accepted:
    b: MessageSend = call.body
    with call.services.models.read() as tx:
        conversation_id = item_id(b.conversation_id, "conversation_id")
        conversation = conversation_row(call, tx, conversation_id, b.account_id, unique=True)
    account_id = conversation.account_id
    peer = conversation.participant
    sent = await send(
        call,
        account_id=account_id,
        target_type="direct_message",
        target_id=conversation.conversation_id,
        content=b.content,
        request_id=b.request_id,
        user_id=b.receiver_id or (peer.user_id if peer is not None else None),
        conversation_id=conversation.conversation_id,
    )
    if isinstance(sent, Accepted):
        return sent
    return Message.sending(sent.reply, sent.account, peer)


# Each change: the fact it records, or None when the message already is that way.
Decide = Callable[[MessageRow, dict[str, Any]], Fact | None]


def _read(row: MessageRow, ids: dict[str, Any]) -> Fact | None:
    return None if row.is_read and not row.is_new else c.MessageRead(**ids)


def _delete(row: MessageRow, ids: dict[str, Any]) -> Fact | None:
    return None if row.is_deleted else c.MessageDeleted(**ids)


def _recall(row: MessageRow, ids: dict[str, Any]) -> Fact | None:
    return None if row.is_recalled else c.MessageRecalled(**ids)


async def _change(call: Call, decide: Decide) -> Message | Accepted:
    message_id = path_ident(call, "id", "message id")
    with call.services.models.read() as tx:
        row = message_row(call, tx, message_id, call.query.account_id)
    fact = decide(row, {"account_id": row.account_id, "message_id": message_id, "by": caller(call)})
    account_id = row.account_id
    return await recorded(
        call, [fact] if fact else [], lambda tx: Message.of(message_row(call, tx, message_id, account_id))
    )


@router.route("PUT", "/api/im/messages/{id}/read", summary="mark a message read", query=ItemQuery, response=Message)
async def read_message(call: Call) -> Message | Accepted:
    return await _change(call, _read)


@router.route(
    "DELETE",
    "/api/im/messages/{id}",
    summary="delete a message (kept, flagged is_deleted)",
    query=ItemQuery,
    response=Message,
)
async def delete_message(call: Call) -> Message | Accepted:
    return await _change(call, _delete)


@router.route(
    "PUT", "/api/im/messages/{id}/recall", summary="mark a message recalled", query=ItemQuery, response=Message
)
async def recall_message(call: Call) -> Message | Accepted:
    return await _change(call, _recall)


@router.route(
    "PUT",
    "/api/im/messages/{id}/status",
    summary="set a message's status",
    query=ItemQuery,
    body=StatusChange,
    response=Message,
)
async def set_status(call: Call) -> Message | Accepted:
    status: MessageStatus = call.body.status
    return await _change(
        call, lambda row, ids: None if row.status == status else c.MessageStatusChanged(status=status, **ids)
    )
