"""Sending from the IM API: a DM or a reply to a comment becomes `reply.requested`, through the admin API's send path.

The coordinator hands it to the account's worker, which reports `reply.sent` or `reply.failed`; until
the crawler sees the sent item on the platform, the IM routes show it from the replies model.
"""

from __future__ import annotations

import uuid
from typing import Annotated

import msgspec

from hiscrm.api.errors import ApiError
from hiscrm.api.routing import Accepted, Call
from hiscrm.api.v1.common import Pending
from hiscrm.api.v1.replies import ReplyCreate, TargetType, request_reply
from hiscrm.projector.model import Tx
from projections import accounts, replies
from projections.replies import ReplyRow

Text = Annotated[str, msgspec.Meta(min_length=1, max_length=5000)]
RequestId = Annotated[
    str, msgspec.Meta(min_length=1, max_length=200, description="makes the send idempotent; a fresh one if left out")
]


class Sent(msgspec.Struct, kw_only=True):
    """What a send route needs to build its answer from the models."""

    reply: ReplyRow
    account: accounts.AccountRow | None


async def send(
    call: Call,
    *,
    account_id: str,
    target_type: TargetType,
    target_id: str,
    content: str,
    request_id: str | None,
    video_id: str | None = None,
    user_id: str | None = None,
    conversation_id: str | None = None,
) -> Sent | Accepted:
    body = ReplyCreate(
        request_id=request_id or f"im-{uuid.uuid4().hex}",
        account_id=account_id,
        target_type=target_type,
        target_id=target_id,
        reply_content=content,
        video_id=video_id,
        user_id=user_id,
        conversation_id=conversation_id,
    )
    fact, data, _ = await request_reply(call, body)
    if isinstance(data, Pending):
        return Accepted(data)
    with call.services.models.read() as tx:
        return Sent(reply=reply_row(tx, fact.reply_id), account=account_of(tx, account_id))


def reply_row(tx: Tx, reply_id: str) -> ReplyRow:
    row = tx.get(replies.ROWS, replies.row_key(reply_id), ReplyRow)
    if row is None:  # request_reply answered only after the models showed it
        raise ApiError(500, f"reply {reply_id!r} vanished from the read models")
    return row


def sent_by_api(tx: Tx, reply_id: str, target_type: TargetType) -> ReplyRow | None:
    """A reply of this kind sent through the API, when an IM route is asked for its id."""
    row = tx.get(replies.ROWS, replies.row_key(reply_id), ReplyRow)
    return row if row is not None and row.target_type == target_type else None


def account_of(tx: Tx, account_id: str) -> accounts.AccountRow | None:
    return tx.get(accounts.ROWS, accounts.row_key(account_id), accounts.AccountRow)
