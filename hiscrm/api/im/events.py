"""/api/im/events: Server-Sent Events of new messages, comments, notifications, reads and status changes
(and, for an admin token that sees every account, of workers, accounts and logins).

Each event's id is the fact's stream sequence, so a client that reconnects with `Last-Event-ID`
(header, or `last_event_id` in the query) resumes right after the last event it got: nothing is
missed or repeated, however long it was away. Without one, the feed starts at the stream's head.
Each event is written as soon as the feed delivers it; a comment line after `heartbeat_s` without
anything written keeps proxies from closing an idle connection. The stream ends
when the client goes away, the server shuts down (`app.state.stopping`) or the token is revoked.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any

import anyio
import msgspec
from starlette.responses import StreamingResponse

from hiscrm.api.auth import Tokens
from hiscrm.api.errors import bad_request
from hiscrm.api.im.common import MAX_SEQ, Id, im_router, sees, visible_account, visible_accounts
from hiscrm.api.routing import Call
from hiscrm.facts import catalogue as c
from hiscrm.facts.codec import Recorded, to_json_line
from hiscrm.facts.subjects import aggregate_filter, aggregate_type_filter, event_type_filter
from hiscrm.store.feed import Feed
from hiscrm.store.reader import decode_raw, stream_head

SSE = "text/event-stream"

router = im_router("im events")

# What a client is told about: new items, every fact that raises a notification (its event id is the
# notification's id) and a notification marked read, and changes of a sent item's status.
INBOX_EVENTS = (
    c.CommentObserved,
    c.MessageObserved,
    c.NotificationObserved,
    c.NotificationRead,
    c.MessageStatusChanged,
    c.MessageRecalled,
    # Reads, so that every open workspace's unread badges follow whoever read what.
    c.CommentRead,
    c.MessageRead,
    c.ConversationRead,
)
ACCOUNT_EVENTS = (c.AccountSessionExpired, c.AccountBlocked)
# Keyed by reply or login session, not by account: filtered by type, then by their account_id.
REPLY_EVENTS = (c.ReplySent, c.ReplyFailed)
LOGIN_EVENTS = (c.LoginFailed, c.LoginVerificationRequired)
LIVE = frozenset(cls.type_name() for cls in (*INBOX_EVENTS, *ACCOUNT_EVENTS, *REPLY_EVENTS, *LOGIN_EVENTS))
# An admin token that sees every account is also told about the fleet (workers, accounts, logins):
# the console's pages then change as it happens instead of polling.
FLEET_AGGREGATES = ("worker", "account", "login")
# Sealed secrets stay out of the feed, as out of every other answer of the API.
SECRET_FIELDS = ("sealed_key", "sealed_credentials", "sealed_code", "sealed_import")
_encoder = msgspec.json.Encoder()


class EventsQuery(msgspec.Struct, kw_only=True):
    """Without `account_id`, every account the token may see."""

    account_id: Id | None = None
    last_event_id: Annotated[int, msgspec.Meta(ge=0, le=MAX_SEQ, description="as the Last-Event-ID header")] | None = (
        None
    )
    heartbeat_s: Annotated[float, msgspec.Meta(ge=0.05, le=60)] = 15.0


def subjects(accounts: list[str] | None, fleet: bool = False) -> list[str]:
    """Filter subjects for these accounts (None: all), and the whole fleet's facts with `fleet`.

    Reply and login facts are not keyed by account, so they are filtered after. The filters must not
    overlap (the server refuses that), so the fleet's aggregates replace the account and login events
    they include.
    """
    replies = [event_type_filter(cls.aggregate, cls.event) for cls in REPLY_EVENTS]
    logins = [event_type_filter(cls.aggregate, cls.event) for cls in LOGIN_EVENTS]
    if accounts is None and fleet:
        inbox = [event_type_filter(cls.aggregate, cls.event) for cls in INBOX_EVENTS]
        return [*(aggregate_type_filter(a) for a in FLEET_AGGREGATES), *inbox, *replies]
    if accounts is None:
        own = [event_type_filter(cls.aggregate, cls.event) for cls in (*INBOX_EVENTS, *ACCOUNT_EVENTS)]
        return [*own, *replies, *logins]
    per_account = [aggregate_filter(aggregate, a) for a in accounts for aggregate in ("inbox", "account")]
    return [*per_account, *replies, *logins]


def frame(rec: Recorded) -> bytes:
    line = to_json_line(rec)
    for name in SECRET_FIELDS:
        line["data"].pop(name, None)
    return b"id: %d\nevent: %s\ndata: %s\n\n" % (rec.seq, rec.type_name.encode(), _encoder.encode(line))


def _resume_after(call: Call, q: EventsQuery) -> int | None:
    header = call.request.headers.get("last-event-id")
    if header is None:
        return q.last_event_id
    if not header.strip().isdigit() or int(header) > MAX_SEQ:
        raise bad_request(f"Last-Event-ID {header!r} is not a stream sequence; send the id of the last event received")
    return int(header)


@router.route(
    "GET",
    "/api/im/events",
    summary="live feed; event id = stream sequence",
    query=EventsQuery,
    media_type=SSE,
)
async def events(call: Call) -> StreamingResponse:
    q: EventsQuery = call.query
    with call.services.models.read() as tx:
        if q.account_id is not None:
            scope: list[str] | None = [visible_account(call, tx, q.account_id).account_id]
        elif call.token is not None and call.token.accounts is not None:
            scope = [row.account_id for row in visible_accounts(call, tx)]
        else:
            scope = None
    fleet = scope is None and (call.token is None or call.token.role == "admin")
    after = _resume_after(call, q)
    nc = call.services.nc
    if after is None:
        after = await stream_head(nc)
    # An account that no filter can name yet (limited token, no accounts) gets keep-alives only.
    feed = await Feed.open(nc, subject=subjects(scope, fleet), from_seq=after + 1) if scope != [] else None

    def keep(rec: Recorded) -> bool:
        if fleet and rec.fact.aggregate in FLEET_AGGREGATES:
            return True
        account_id = getattr(rec.fact, "account_id", None)
        if rec.type_name not in LIVE or account_id is None:
            return False
        return (scope is None or account_id in scope) and sees(call, account_id)

    stopping: asyncio.Event = call.request.app.state.stopping
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(_stream(feed, keep, q.heartbeat_s, _ends(call, stopping)), media_type=SSE, headers=headers)


async def _ends(call: Call, stopping: asyncio.Event) -> None:
    """Returns when the server stops or the caller's token is revoked (here, by the CLI or another process)."""
    if call.token is None:
        await stopping.wait()
        return
    tokens: Tokens = call.request.app.state.tokens
    revoked = tokens.revocation(call.token)
    waits = {asyncio.ensure_future(stopping.wait()), asyncio.ensure_future(revoked.wait())}
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waits:
            w.cancel()
        tokens.forget(call.token, revoked)


async def _stream(
    feed: Feed | None, keep: Callable[[Recorded], bool], heartbeat_s: float, ends: Coroutine[Any, Any, None]
) -> AsyncIterator[bytes]:
    stop = asyncio.ensure_future(ends)
    loop = asyncio.get_running_loop()
    try:
        yield b"retry: 1000\n\n"
        wrote = loop.time()
        while not stop.done():
            # Whichever comes first: the feed's next deliveries or the moment the client has heard nothing
            # for a whole heartbeat. (`Feed` has a length, so an idle feed is falsy: test for None.)
            quiet = max(0.0, wrote + heartbeat_s - loop.time())
            waiting = asyncio.ensure_future(
                feed.batch(1000, timeout=quiet) if feed is not None else asyncio.sleep(quiet)
            )
            await asyncio.wait({waiting, stop}, return_when=asyncio.FIRST_COMPLETED)
            if not waiting.done():
                waiting.cancel()
                break
            batch = waiting.result() or []
            frames = [frame(rec) for raw in batch if isinstance(rec := decode_raw(raw), Recorded) and keep(rec)]
            if frames:
                yield b"".join(frames)
                wrote = loop.time()
            elif loop.time() - wrote >= heartbeat_s:
                yield b": keep-alive\n\n"
                wrote = loop.time()
    finally:
        stop.cancel()
        if feed is not None:
            # The client may be gone and this task cancelled; the consumer must still be removed.
            with anyio.CancelScope(shield=True), contextlib.suppress(Exception):
                await feed.close()
