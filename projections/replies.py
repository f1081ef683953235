"""Replies sent through the reply flow (to a comment, as a DM, or as a top-level comment on a work),
findable by reply_id and request_id.

A reply's `seq` is the seq of its reply.requested; both lists are newest first by that seq, which
is also their key, so a cursor needs no lookup. The first request for a request_id owns it within its
account: request ids are each tenant's own, so one tenant's id says nothing about another's replies.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from hiscrm.facts import catalogue as c
from hiscrm.facts.codec import Recorded
from hiscrm.projector.model import Tx, key, newest_first

NAME = "replies"
# 2: request ids indexed per account; 3: target_type "work" (a projector before it dead-lettered such facts)
VERSION = 3
ROWS = "replies"  # key(reply_id) -> ReplyRow
BY_REQUEST = "replies_by_request"  # key(account_id, request_id) -> reply_id
BY_ACCOUNT = "replies_by_account"  # key(account_id, newest_first(seq)) -> reply_id
ALL = "replies_all"  # newest_first(seq) -> reply_id
TABLES = (ROWS, BY_REQUEST, BY_ACCOUNT, ALL)


class ReplyRow(msgspec.Struct, kw_only=True):
    reply_id: str
    request_id: str
    account_id: str
    seq: int
    target_type: c.ReplyTarget  # for "work", target_id is the work's id
    target_id: str
    content: str
    video_id: str | None = None
    user_id: str | None = None
    conversation_id: str | None = None
    requested_by: str | None = None
    status: Literal["pending", "sent", "failed"] = "pending"
    platform_id: str | None = None
    worker_id: str | None = None
    reason: str | None = None
    code: str | None = None
    requested_at: int
    sent_at: int | None = None
    failed_at: int | None = None
    updated_at: int


def row_key(reply_id: str) -> bytes:
    return key(reply_id)


def by_request(tx: Tx, account_id: str, request_id: str) -> ReplyRow | None:
    reply_id = tx.get(BY_REQUEST, key(account_id, request_id), str)
    return None if reply_id is None else tx.get(ROWS, row_key(reply_id), ReplyRow)


def _requested(tx: Tx, rec: Recorded) -> None:
    f: c.ReplyRequested = rec.fact  # type: ignore[assignment]
    if tx.exists(ROWS, row_key(f.reply_id)) or tx.exists(BY_REQUEST, key(f.account_id, f.request_id)):
        return
    row = ReplyRow(
        reply_id=f.reply_id,
        request_id=f.request_id,
        account_id=f.account_id,
        seq=rec.seq,
        target_type=f.target_type,
        target_id=f.target_id,
        content=f.content,
        video_id=f.video_id,
        user_id=f.user_id,
        conversation_id=f.conversation_id,
        requested_by=f.requested_by,
        requested_at=rec.time_ms,
        updated_at=rec.time_ms,
    )
    tx.put(ROWS, row_key(f.reply_id), row)
    tx.put(BY_REQUEST, key(f.account_id, f.request_id), f.reply_id)
    tx.put(BY_ACCOUNT, key(f.account_id, newest_first(rec.seq)), f.reply_id)
    tx.put(ALL, newest_first(rec.seq), f.reply_id)


def _outcome(tx: Tx, rec: Recorded) -> None:
    # Sent is final: a retry may succeed after a failure, but a stale failure cannot unsend a reply.
    f: c.ReplySent | c.ReplyFailed = rec.fact  # type: ignore[assignment]
    row = tx.get(ROWS, row_key(f.reply_id), ReplyRow)
    if row is None or row.status == "sent":
        return
    row.worker_id = f.worker_id or row.worker_id
    if isinstance(f, c.ReplySent):
        row.status, row.platform_id, row.sent_at = "sent", f.platform_id, f.sent_at_ms or rec.time_ms
        row.reason = row.code = None
    else:
        row.status, row.reason, row.code, row.failed_at = "failed", f.reason, f.code, rec.time_ms
    row.updated_at = rec.time_ms
    tx.put(ROWS, row_key(f.reply_id), row)


HANDLERS = {
    c.ReplyRequested.type_name(): _requested,
    c.ReplySent.type_name(): _outcome,
    c.ReplyFailed.type_name(): _outcome,
}
