"""/api/im/conversations: an account's DM conversations, pinned first, then newest last message.

The list order is the one that moves (pinning, a new message); see docs/read-models.md for what a
walk guarantees. State changes append `inbox.conversation_*` facts and answer once they show.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import msgspec

from hiscrm.api.envelopes import ReadyResponse
from hiscrm.api.errors import bad_request, not_found
from hiscrm.api.im.common import (
    Id,
    ItemQuery,
    Paged,
    im_router,
    item_id,
    owner,
    path_ident,
    recorded,
    visible_account,
    visible_account_id,
)
from hiscrm.api.im.page_cache import account_page
from hiscrm.api.im.queries import after_key, index, under, walk
from hiscrm.api.im.shaped import ShapedItems
from hiscrm.api.im.shapes import Conversation
from hiscrm.api.routing import Accepted, Call
from hiscrm.api.v1.common import caller
from hiscrm.facts import catalogue as c
from hiscrm.facts.base import Fact
from hiscrm.projector.model import Tx
from projections import conversations as conv
from projections.conversations import ConversationRow

router = im_router("im conversations")


class ConversationQuery(Paged, kw_only=True):
    """`status` defaults to active: a deleted conversation leaves the list until a new message brings it back."""

    account_id: Id | None = None
    status: Literal["active", "deleted"] = "active"
    is_pinned: bool | None = None
    is_muted: bool | None = None


class ConversationList(msgspec.Struct, kw_only=True):
    conversations: list[Conversation]
    cursor: int
    has_more: bool


class ConversationOpen(msgspec.Struct, kw_only=True):
    """Find an account's conversation by its id or by the other participant's user id. A conversation on the
    platform starts with a message (POST /api/im/messages), so an unknown one is a 404, never invented."""

    account_id: Id
    conversation_id: Id | None = None
    participant_id: Id | None = None


@router.route(
    "GET",
    "/api/im/conversations",
    summary="an account's conversations",
    query=ConversationQuery,
    response=ConversationList,
)
async def list_conversations(call: Call) -> ReadyResponse:
    q: ConversationQuery = call.query
    with call.services.models.read() as tx:
        account_id = visible_account_id(call, tx, q.account_id)
        return account_page(call, tx, account_id, lambda: _conversations(call, tx, q, account_id))


def _conversations(call: Call, tx: Tx, q: ConversationQuery, account_id: str) -> ConversationList:
    prefix = under(account_id)
    cursor_row = conv.conversation_by_seq(tx, q.cursor) if q.cursor else None
    after = after_key(q.cursor, conv.order_key(cursor_row) if cursor_row else None, prefix)

    def keep(row: ConversationRow) -> bool:
        return (
            row.status == q.status
            and (q.is_pinned is None or row.is_pinned == q.is_pinned)
            and (q.is_muted is None or row.is_muted == q.is_muted)
        )

    shaped: ShapedItems = call.request.app.state.shaped
    page = walk(
        index(tx, conv.CONVERSATIONS_ORDER, prefix, after),
        lambda k: shaped.load(tx, conv.CONVERSATIONS, k, ConversationRow),
        lambda stored: keep(stored.row),
        q.count,
        q.cursor,
        lambda stored: stored.row.seq,
    )
    return ConversationList(
        conversations=[shaped.json(s, Conversation.of) for s in page.rows], cursor=page.cursor, has_more=page.has_more
    )


def conversation_row(
    call: Call, tx: Tx, conversation_id: str, account_id: str | None, *, unique: bool = False
) -> ConversationRow:
    owners = conv.accounts_of_conversation(tx, conversation_id)
    found = owner(call, tx, owners, account_id, f"conversation {conversation_id!r}", unique=unique)
    row = tx.get(conv.CONVERSATIONS, conv.conversation_key(found, conversation_id), ConversationRow)
    if row is None:
        raise not_found(f"conversation {conversation_id!r}")
    return row


def _view(call: Call, account_id: str, conversation_id: str) -> Callable[[Tx], Conversation]:
    return lambda tx: Conversation.of(conversation_row(call, tx, conversation_id, account_id))


@router.route("GET", "/api/im/conversations/{id}", summary="one conversation", query=ItemQuery, response=Conversation)
async def get_conversation(call: Call) -> Conversation:
    conversation_id = path_ident(call, "id", "conversation id")
    with call.services.models.read() as tx:
        return Conversation.of(conversation_row(call, tx, conversation_id, call.query.account_id))


@router.route(
    "POST",
    "/api/im/conversations",
    summary="find an account's conversation by id or participant",
    body=ConversationOpen,
    response=Conversation,
)
async def open_conversation(call: Call) -> Conversation:
    b: ConversationOpen = call.body
    if b.conversation_id is None and b.participant_id is None:
        raise bad_request("send conversation_id or participant_id")
    with call.services.models.read() as tx:
        account_id = visible_account(call, tx, b.account_id).account_id
        if b.conversation_id is not None:
            conversation_id = item_id(b.conversation_id, "conversation_id")
            return Conversation.of(conversation_row(call, tx, conversation_id, account_id))
        for _, k in tx.scan(conv.CONVERSATIONS_ORDER, under(account_id), bytes):
            row = tx.get(conv.CONVERSATIONS, k, ConversationRow)
            if row is not None and row.participant is not None and row.participant.user_id == b.participant_id:
                return Conversation.of(row)
    raise not_found(f"conversation of account {account_id!r} with {b.participant_id!r}; start one by sending a message")


Change = Literal["read", "delete", "pin", "unpin", "mute", "unmute"]


def _fact(row: ConversationRow, change: Change, who: str | None) -> Fact | None:
    """The fact a change records, or None when the conversation already is that way."""
    ids = {"account_id": row.account_id, "conversation_id": row.conversation_id, "by": who}
    if change == "read":
        return c.ConversationRead(**ids) if row.unread_count else None
    if change == "delete":
        return c.ConversationDeleted(**ids) if row.status != "deleted" else None
    if change in ("pin", "unpin"):
        wanted = change == "pin"
        return None if row.is_pinned == wanted else (c.ConversationPinned if wanted else c.ConversationUnpinned)(**ids)
    wanted = change == "mute"
    return None if row.is_muted == wanted else (c.ConversationMuted if wanted else c.ConversationUnmuted)(**ids)


async def _change(call: Call, change: Change) -> Conversation | Accepted:
    conversation_id = path_ident(call, "id", "conversation id")
    with call.services.models.read() as tx:
        row = conversation_row(call, tx, conversation_id, call.query.account_id)
    fact = _fact(row, change, caller(call))
    return await recorded(call, [fact] if fact else [], _view(call, row.account_id, conversation_id))


def _declare(method: str, suffix: str, change: Change, summary: str) -> None:
    async def handler(call: Call) -> Conversation | Accepted:
        return await _change(call, change)

    router.route(
        method, f"/api/im/conversations/{{id}}{suffix}", summary=summary, query=ItemQuery, response=Conversation
    )(handler)


_declare("PUT", "/read", "read", "mark every message of the conversation read (unread_count 0)")
_declare("DELETE", "", "delete", "delete the conversation (it comes back with a new message)")
_declare("PUT", "/pin", "pin", "pin the conversation to the top")
_declare("DELETE", "/pin", "unpin", "unpin the conversation")
_declare("PUT", "/mute", "mute", "mute the conversation")
_declare("DELETE", "/mute", "unmute", "unmute the conversation")
