"""/api/v1/replies: the real send path. A request becomes `reply.requested`; the coordinator sends it to
the account's worker, which reports `reply.sent` or `reply.failed`. `target_type` "work" posts a
top-level comment on the work `target_id` names (one the account's crawl has seen).

Idempotent on `request_id` within the account: the reply id is a hash of both, and `reply.requested`
is appended only if that reply has no fact yet, so the same request sent twice, even to two API
processes at once, records one reply. A repeat with the same body gets the first reply back; another
body is a 409. The same request id on another account is another request: each tenant's ids are its
own, and reusing one never reveals another tenant's reply.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any, Literal

import msgspec

from hiscrm.api.envelopes import JSONResponse
from hiscrm.api.errors import bad_request, conflict, not_found
from hiscrm.api.routing import Accepted, Call, Router
from hiscrm.api.v1.common import (
    ADMIN,
    Pending,
    account_row,
    active_account,
    caller,
    ident,
    path_id,
    pending,
    written,
)
from hiscrm.errors import ConcurrencyConflict
from hiscrm.facts import catalogue as c
from hiscrm.projector.model import Tx, key
from projections import contents, replies
from projections.replies import ReplyRow

router = Router("v1", ADMIN, "replies")

TargetType = c.ReplyTarget
ReplyStatus = Literal["pending", "sent", "failed"]
Text = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
# The request's own fields, compared to tell a repeat from a different request with the same id.
_REQUEST_FIELDS = ("account_id", "target_type", "target_id", "content", "video_id", "user_id", "conversation_id")


class ReplyCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    request_id: Text
    account_id: str
    target_type: TargetType
    target_id: Text
    reply_content: Annotated[str, msgspec.Meta(min_length=1, max_length=5000)]
    video_id: str | None = None
    user_id: str | None = None
    conversation_id: str | None = None


class Reply(msgspec.Struct, kw_only=True):
    """Times are Unix milliseconds."""

    reply_id: str
    request_id: str
    account_id: str
    target_type: TargetType
    target_id: str
    reply_content: str
    video_id: str | None
    user_id: str | None
    conversation_id: str | None
    status: ReplyStatus
    platform_id: str | None
    worker_id: str | None
    reason: str | None
    code: str | None
    requested_by: str | None
    requested_at: int
    sent_at: int | None
    failed_at: int | None
    updated_at: int

    @classmethod
    def of(cls, row: ReplyRow) -> Reply:
        return cls(
            reply_id=row.reply_id,
            request_id=row.request_id,
            account_id=row.account_id,
            target_type=row.target_type,
            target_id=row.target_id,
            reply_content=row.content,
            video_id=row.video_id,
            user_id=row.user_id,
            conversation_id=row.conversation_id,
            status=row.status,
            platform_id=row.platform_id,
            worker_id=row.worker_id,
            reason=row.reason,
            code=row.code,
            requested_by=row.requested_by,
            requested_at=row.requested_at,
            sent_at=row.sent_at,
            failed_at=row.failed_at,
            updated_at=row.updated_at,
        )


class ReplyQuery(msgspec.Struct, kw_only=True):
    account_id: str | None = None
    status: ReplyStatus | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=500)] = 50


def reply_id_for(account_id: str, request_id: str) -> str:
    """An account's request id maps to one valid subject token, the same one every time."""
    scoped = f"{account_id}\n{request_id}"  # an account id has no newline (it is a subject token)
    return "rp-" + hashlib.blake2b(scoped.encode(), digest_size=12).hexdigest()


def _reply(tx: Tx, reply_id: str) -> ReplyRow:
    row = tx.get(replies.ROWS, replies.row_key(reply_id), ReplyRow)
    if row is None:
        raise not_found(f"reply {reply_id!r}")
    return row


def _same_request(first: Any, again: c.ReplyRequested) -> bool:
    return all(getattr(first, name) == getattr(again, name) for name in _REQUEST_FIELDS)


def _answer(fact: c.ReplyRequested, data: Any, status: int) -> JSONResponse:
    """The v1 envelope, with the predecessor's top-level reply_id, request_id and status beside `data`."""
    body = {"success": True, "data": data, "reply_id": fact.reply_id, "request_id": fact.request_id}
    body["status"] = data.status if isinstance(data, Reply) else "pending"
    return JSONResponse(body, status)


def _repeat(fact: c.ReplyRequested, first: Any) -> None:
    if not _same_request(first, fact):
        raise conflict(f"request_id {fact.request_id!r} was already used for a different reply ({fact.reply_id})")


async def request_reply(call: Call, b: ReplyCreate) -> tuple[c.ReplyRequested, Reply | Pending, int]:
    """The send path every route shares: record `reply.requested` once per request_id.

    Answers the fact, the reply as the models show it (Pending after the wait bound) and the HTTP
    status: 201 for a new reply, 200 for a repeat, 202 when the models did not show it in time.
    """
    account_id = ident(b.account_id, "account_id")
    if not b.reply_content.strip():
        raise bad_request("reply_content is blank")
    if b.target_type == "work":
        ident(b.target_id, "target_id")
        if b.video_id not in (None, b.target_id):
            raise bad_request(f"video_id {b.video_id!r} is not the work commented on ({b.target_id!r})")
        b = msgspec.structs.replace(b, video_id=b.target_id)
    fact = c.ReplyRequested(
        reply_id=reply_id_for(account_id, b.request_id),
        account_id=account_id,
        request_id=b.request_id,
        target_type=b.target_type,
        target_id=b.target_id,
        content=b.reply_content,
        video_id=b.video_id,
        user_id=b.user_id,
        conversation_id=b.conversation_id,
        requested_by=caller(call),
    )
    services = call.services
    with services.models.read() as tx:
        first = replies.by_request(tx, account_id, b.request_id)
        if first is not None:
            _repeat(fact, first)
            return fact, Reply.of(first), 200
        active_account(tx, account_id)
        if b.target_type == "work" and not tx.exists(contents.ROWS, contents.row_key(account_id, b.target_id)):
            raise not_found(f"work {b.target_id!r} of account {account_id!r}")
    try:
        result = await written(call, fact, lambda tx: Reply.of(_reply(tx, fact.reply_id)), expected_last_seq=0)
    except ConcurrencyConflict:
        # The request is in the stream already, perhaps not yet in the models: the stream decides.
        recorded = (await services.store.history("reply", fact.reply_id))[0]
        _repeat(fact, recorded.fact)
        if not await services.models.wait_for(recorded.seq, services.write_wait_s):
            return fact, pending(fact.reply_id, recorded.seq), 202
        with services.models.read() as tx:
            return fact, Reply.of(_reply(tx, fact.reply_id)), 200
    if isinstance(result, Accepted):
        return fact, result.data, 202
    return fact, result, 201


@router.route(
    "POST",
    "/api/v1/replies",
    summary="send a reply to a comment or a direct message, or comment on a work (idempotent on request_id)",
    body=ReplyCreate,
    response=Reply,
    status=201,
)
async def create_reply(call: Call) -> JSONResponse:
    return _answer(*await request_reply(call, call.body))


@router.route("GET", "/api/v1/replies/{id}", summary="one reply", response=Reply)
async def get_reply(call: Call) -> Reply:
    reply_id = path_id(call, "reply id")
    with call.services.models.read() as tx:
        return Reply.of(_reply(tx, reply_id))


@router.route("GET", "/api/v1/replies", summary="replies, newest first", query=ReplyQuery, response=list[Reply])
async def list_replies(call: Call) -> list[Reply]:
    q: ReplyQuery = call.query
    found: list[Reply] = []
    with call.services.models.read() as tx:
        if q.account_id is not None:
            account_row(tx, ident(q.account_id, "account_id"))
            index = tx.scan(replies.BY_ACCOUNT, key(q.account_id, b""), str)
        else:
            index = tx.scan(replies.ALL, b"", str)
        for _, reply_id in index:
            row = tx.get(replies.ROWS, replies.row_key(reply_id), ReplyRow)
            if row is not None and (q.status is None or row.status == q.status):
                found.append(Reply.of(row))
                if len(found) >= q.limit:
                    break
    return found
