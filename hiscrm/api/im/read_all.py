"""PUT /api/im/unified-messages/read-all: everything unread in a scope becomes read, in one request.

The scope narrows like the workspace's filters: the token's accounts or one (`account_id`), some kinds
(`types`), one work's comments and replies (`content_id`), or one conversation (`conversation_id`).
What is unread comes from the unread model's own list of the items counting now (or the work's
comments, or the conversation's one `conversation_read`), so the request never walks read items.
At most MAX_FACTS items are read per request; `remaining` says how many are left for the next.
"""

from __future__ import annotations

import msgspec

from hiscrm.api.errors import bad_request
from hiscrm.api.im.common import Id, account_scope, im_router, item_id, owner, recorded
from hiscrm.api.im.unified import business_types
from hiscrm.api.routing import Accepted, Call
from hiscrm.api.v1.common import caller
from hiscrm.facts import catalogue as c
from hiscrm.facts.base import Fact
from hiscrm.projector.model import Tx, key
from projections import comments, conversations, unread
from projections.comments import CommentRow
from projections.paging import scan_after

router = im_router("im unified")

MAX_FACTS = 5000


class ReadAll(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Every field narrows the scope; none at all reads everything the token sees."""

    account_id: Id | None = None
    types: str | None = None
    content_id: Id | None = None
    conversation_id: Id | None = None


class ReadAllResult(msgspec.Struct, kw_only=True):
    read: int
    remaining: int


def _unread(tx: Tx, account_id: str, types: frozenset[str], by: str | None) -> list[Fact]:
    facts: list[Fact] = []
    for letter in ("c", "m"):
        prefix = key(account_id, letter, b"")
        for k, state in scan_after(tx, unread.ITEMS, prefix, None, unread.ItemState):
            if state.kind in types:
                item = k[len(prefix) :].decode()
                facts.append(
                    c.MessageRead(account_id=account_id, message_id=item, by=by)
                    if letter == "m"
                    else c.CommentRead(account_id=account_id, comment_id=item, by=by)
                )
    return facts


def _work(tx: Tx, account_id: str, content_id: str, types: frozenset[str], by: str | None) -> list[Fact]:
    facts: list[Fact] = []
    for _, row_key in scan_after(tx, comments.BY_CONTENT, key(account_id, content_id, b""), None, bytes):
        row = tx.get(comments.ROWS, row_key, CommentRow)
        if row is not None and row.is_new and ("discussion" if row.parent_comment_id else "comment") in types:
            facts.append(c.CommentRead(account_id=account_id, comment_id=row.comment_id, by=by))
    return facts


@router.route(
    "PUT",
    "/api/im/unified-messages/read-all",
    summary="mark everything unread in a scope read (accounts, kinds, a work, a conversation)",
    body=ReadAll,
    response=ReadAllResult,
)
async def read_all(call: Call) -> ReadAllResult | Accepted:
    b: ReadAll = call.body
    types = business_types(b.types)
    by = caller(call)
    with call.services.models.read() as tx:
        if b.content_id is not None and b.conversation_id is not None:
            raise bad_request("name content_id or conversation_id, not both")
        if b.conversation_id is not None:
            conversation = item_id(b.conversation_id, "conversation_id")
            where = conversations.accounts_of_conversation(tx, conversation)
            account_id = owner(call, tx, where, b.account_id, f"conversation {conversation!r}")
            row = tx.get(
                conversations.CONVERSATIONS,
                conversations.conversation_key(account_id, conversation),
                conversations.ConversationRow,
            )
            unread_here = row is not None and row.unread_count > 0 and "direct_message" in types
            facts: list[Fact] = (
                [c.ConversationRead(account_id=account_id, conversation_id=conversation, by=by)] if unread_here else []
            )
        else:
            account_ids = account_scope(call, tx, b.account_id)
            if b.content_id is not None:
                work = item_id(b.content_id, "content_id")
                facts = [f for a in account_ids for f in _work(tx, a, work, types, by)]
            else:
                facts = [f for a in account_ids for f in _unread(tx, a, types, by)]
    now, rest = facts[:MAX_FACTS], len(facts) - min(len(facts), MAX_FACTS)
    return await recorded(call, now, lambda tx: ReadAllResult(read=len(now), remaining=rest))
