"""The `/__sandbox/` control API that tests, the demo and benchmarks drive the world with. JSON in and out;
errors are 4xx with {"error": "..."}. Every endpoint is listed in docs/sandbox.md.

It has no authentication, so it is guarded against the two ways a web page in a local browser could
reach it: a changing request must be JSON (which a cross-origin page cannot send without a CORS
preflight this app never grants), and the Host header must name this server (which a DNS-rebound
name does not). It takes no file paths from requests.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import anyio
import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hiscrm.api.json_depth import MAX_DEPTH, deeper_than
from hiscrm.private import write_private
from hiscrm.sandbox import seed
from hiscrm.sandbox.auth import json, world_of
from hiscrm.sandbox.model import Account, Invalid, NotFound, QrLogin, User
from hiscrm.sandbox.state import World
from hiscrm.sandbox.stir import Stir, Stirrer

PREFIX = "/__sandbox"


class Body(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Request bodies refuse unknown fields, so a typo in a test fails loudly instead of being ignored."""


class AccountRef(Body, kw_only=True):
    uid: str | None = None
    unique_id: str | None = None

    def resolve(self, world: World) -> Account:
        ref = self.uid or self.unique_id
        if not ref:
            raise Invalid("name the account by uid or unique_id")
        return world.account(ref)


class NewAccount(Body, kw_only=True):
    nickname: str | None = None
    uid: str | None = None
    unique_id: str | None = None
    signature: str = ""
    follower_count: int = 0
    following_count: int = 0
    ip_label: str = ""
    works: int = 0
    comments: int = 0
    conversations: int = 0
    messages: int = 0
    seed: int | None = None


class Scan(AccountRef, kw_only=True):
    token: str | None = None
    confirm: bool = True


class Verify(Body, kw_only=True):
    token: str | None = None
    uid: str | None = None
    unique_id: str | None = None


class Token(Body, kw_only=True):
    token: str | None = None


class Settings(Body, kw_only=True):
    qr_ttl: float | None = None
    sms_ttl: float | None = None
    sms_resend: float | None = None


class Sms(Body, kw_only=True):
    required: bool = True


class Risk(Body, kw_only=True):
    on: bool


class ArmSpec(Body, kw_only=True):
    mode: str
    kind: str = "dm"
    times: int | None = None


class Traffic(Body, kw_only=True):
    comments_per_minute: float | None = None
    messages_per_minute: float | None = None


class NewWork(AccountRef, kw_only=True):
    desc: str
    create_time: int | None = None
    aweme_id: str | None = None
    aweme_type: int = 0
    private: bool = False
    comments_closed: bool = False
    play_count: int = 0
    digg_count: int = 0
    share_count: int = 0
    collect_count: int = 0


class Closed(Body, kw_only=True):
    closed: bool = True


class Person(Body, kw_only=True):
    """Someone on the platform: an existing user by uid, or a new one with these details."""

    uid: str | None = None
    nickname: str | None = None
    unique_id: str | None = None
    ip_label: str | None = None


class NewComment(Body, kw_only=True):
    aweme_id: str
    text: str
    reply_to: str | None = None
    user: Person | None = None
    cid: str | None = None
    create_time: int | None = None
    digg_count: int = 0
    ip_label: str | None = None


class NewMessage(AccountRef, kw_only=True):
    text: str
    sender: Person | None = None
    msg_id: str | None = None
    created_ms: int | None = None


class Save(Body, kw_only=True):
    """Empty: the world is saved only to the sandbox's own --state file, never to a path a caller names."""


B = TypeVar("B", bound=msgspec.Struct)  # Body, or a Struct of another module that forbids unknown fields
Endpoint = Callable[[Request], Awaitable[Any]]


LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
WILDCARDS = frozenset({"0.0.0.0", "::"})
SAFE_METHODS = frozenset({"GET", "HEAD"})


def host_refusal(request: Request) -> str | None:
    """Why the Host header does not name this server, or None when it does. A loopback server answers
    to every loopback name, at its own port only."""
    server = request.scope.get("server")
    if not server:
        return None  # no socket address to compare with (a unix socket)
    default_port = 443 if request.url.scheme == "https" else 80
    bound_host, bound_port = str(server[0]), server[1] or default_port
    header = request.headers.get("host", "")
    try:
        named = urlsplit(f"//{header}")
        name, port = named.hostname, named.port or default_port
    except ValueError:  # a port that is not a number
        name, port = None, None
    # Bound to every interface, it answers its control API on loopback only: control is for local tools.
    local = bound_host in LOOPBACK_NAMES or bound_host in WILDCARDS
    allowed = {bound_host, *LOOPBACK_NAMES} if local else {bound_host}
    if name in allowed and port == bound_port:
        return None
    return f"Host {header!r} is not this sandbox's address ({bound_host}:{bound_port})"


def endpoint(handler: Endpoint) -> Callable[[Request], Awaitable[Response]]:
    async def run(request: Request) -> Response:
        refusal = host_refusal(request)
        if refusal is not None:
            return json({"error": refusal}, 403)
        if request.method not in SAFE_METHODS:
            media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
            if media_type != "application/json":
                return json({"error": "the control API accepts only Content-Type: application/json"}, 415)
        try:
            result = await handler(request)
        except ValueError as exc:  # bad JSON, wrong fields (msgspec errors are ValueErrors), impossible change
            return json({"error": str(exc)}, 400)
        except NotFound as exc:
            return json({"error": str(exc)}, 404)
        return result if isinstance(result, Response) else json(result)

    run.__name__ = handler.__name__
    return run


async def body(request: Request, kind: type[B]) -> B:
    raw = await request.body() or b"{}"
    if deeper_than(raw):  # msgspec would recurse into it until RecursionError
        raise Invalid(f"body nests arrays and objects more than {MAX_DEPTH} deep")
    return msgspec.json.decode(raw, type=kind)


def person(world: World, who: Person | None) -> User:
    if who is None:
        return seed.new_fan(world, world.rng)
    if who.uid and who.uid in world.users:
        return world.users[who.uid]
    return world.add_user(
        who.nickname or seed.new_fan_name(world.rng),
        uid=who.uid,
        unique_id=who.unique_id,
        ip_label=who.ip_label or "",
    )


def account_view(world: World, account: Account) -> dict[str, Any]:
    user = world.users[account.uid]
    works = world.works_by_owner.get(account.uid, [])
    return {
        "uid": user.uid,
        "unique_id": user.unique_id,
        "sec_uid": user.sec_uid,
        "short_id": user.short_id,
        "nickname": user.nickname,
        "sms_required": account.sms_required,
        "risk_control": account.risk_control,
        "comments_per_minute": account.comments_per_minute,
        "messages_per_minute": account.messages_per_minute,
        "arms": msgspec.to_builtins(account.arms),
        "active_sessions": sum(1 for s in world.sessions.values() if s.uid == account.uid and not s.revoked),
        "works": len(works),
        "comments": sum(world.comment_totals.get(w.aweme_id, 0) for w in works),
        "conversations": len(world.conversations_of.get(account.uid, {})),
        "notices": len(world.notices_of.get(account.uid, [])),
    }


def qr_view(qr: QrLogin) -> dict[str, Any]:
    view = msgspec.to_builtins(qr)
    del view["sessionid"]  # the browser gets it as a cookie; tests read cookies there
    return view


# accounts


@endpoint
async def list_accounts(request: Request) -> Any:
    world = world_of(request)
    return [account_view(world, a) for a in world.accounts.values()]


@endpoint
async def create_account(request: Request) -> Any:
    world = world_of(request)
    spec = await body(request, NewAccount)
    user = world.add_user(
        spec.nickname or seed.new_fan_name(world.rng),
        uid=spec.uid,
        unique_id=spec.unique_id,
        signature=spec.signature,
        follower_count=spec.follower_count,
        following_count=spec.following_count,
        ip_label=spec.ip_label,
    )
    account = world.add_account(user.uid)
    seed.populate(
        world,
        account,
        random.Random(spec.seed if spec.seed is not None else world.rng.random()),
        now=world.now(),
        works=spec.works,
        comments=spec.comments,
        conversations=spec.conversations,
        messages=spec.messages,
    )
    return json(account_view(world, account), 201)


def _account(request: Request) -> Account:
    return world_of(request).account(request.path_params["ref"])


@endpoint
async def get_account(request: Request) -> Any:
    return account_view(world_of(request), _account(request))


@endpoint
async def demand_sms(request: Request) -> Any:
    account = _account(request)
    account.sms_required = (await body(request, Sms)).required
    return account_view(world_of(request), account)


@endpoint
async def expire_sessions(request: Request) -> Any:
    return {"expired": world_of(request).expire_sessions(_account(request).uid)}


@endpoint
async def risk(request: Request) -> Any:
    account = _account(request)
    account.risk_control = (await body(request, Risk)).on
    return account_view(world_of(request), account)


@endpoint
async def arm(request: Request) -> Any:
    account = _account(request)
    spec = await body(request, ArmSpec)
    world_of(request).arm(account.uid, spec.kind, spec.mode, spec.times)
    return account_view(world_of(request), account)


@endpoint
async def traffic(request: Request) -> Any:
    account = _account(request)
    spec = await body(request, Traffic)
    for name in ("comments_per_minute", "messages_per_minute"):
        value = getattr(spec, name)
        if value is not None:
            if value < 0:
                raise Invalid(f"{name} must not be negative")
            setattr(account, name, value)
    return account_view(world_of(request), account)


def _stirrer(request: Request) -> Stirrer:
    return request.app.state.stirrer


@endpoint
async def stirs(request: Request) -> Any:
    account = _account(request)
    stirrer = _stirrer(request)
    if request.method == "POST":
        stirrer.add(account.uid, await body(request, Stir))
    views = [s.view() for s in stirrer.stirs.get(account.uid, [])]
    return json(views, 201) if request.method == "POST" else views


@endpoint
async def clear_stirs(request: Request) -> Any:
    account = _account(request)
    _stirrer(request).clear(account.uid)
    return []


# QR login


@endpoint
async def list_qr(request: Request) -> Any:
    world = world_of(request)
    return [qr_view(world.qr(token)) for token in world.qr_logins]


@endpoint
async def scan(request: Request) -> Any:
    world = world_of(request)
    spec = await body(request, Scan)
    return qr_view(world.scan(spec.token, spec.resolve(world).uid, spec.confirm))


@endpoint
async def verify(request: Request) -> Any:
    world = world_of(request)
    spec = await body(request, Verify)
    if spec.token:
        qr = world.qr(spec.token)
    else:
        uid = world.account(spec.uid or spec.unique_id).uid if (spec.uid or spec.unique_id) else None
        waiting = [world.qr(t) for t in reversed(world.qr_logins)]
        qr = next((q for q in waiting if q.status == "verify" and uid in (None, q.uid)), None)
        if qr is None:
            raise NotFound("no QR login waiting for verification")
    world.verify(qr, None)
    return qr_view(qr)


@endpoint
async def sms_sent(request: Request) -> Any:
    """The verification SMS the site sent, oldest first: what the account's owner would read on the phone."""
    world = world_of(request)
    uid, after = _outbox_query(world, request)
    return [msgspec.to_builtins(s) for s in world.sms_outbox[after:] if uid is None or s.uid == uid]


@endpoint
async def expire_qr(request: Request) -> Any:
    return {"expired": world_of(request).expire_qr((await body(request, Token)).token)}


@endpoint
async def settings(request: Request) -> Any:
    world = world_of(request)
    if request.method == "POST":
        spec = await body(request, Settings)
        for name in ("qr_ttl", "sms_ttl", "sms_resend"):
            value = getattr(spec, name)
            if value is not None:
                if value < 0 or (value == 0 and name != "sms_resend"):
                    raise Invalid(f"{name} must be positive")
                setattr(world, name, value)
    return {"qr_ttl": world.qr_ttl, "sms_ttl": world.sms_ttl, "sms_resend": world.sms_resend}


# content


@endpoint
async def add_work(request: Request) -> Any:
    world = world_of(request)
    spec = await body(request, NewWork)
    work = world.add_work(
        spec.resolve(world).uid,
        spec.desc,
        create_time=spec.create_time,
        aweme_id=spec.aweme_id,
        aweme_type=spec.aweme_type,
        private=spec.private,
        comments_closed=spec.comments_closed,
        play_count=spec.play_count,
        digg_count=spec.digg_count,
        share_count=spec.share_count,
        collect_count=spec.collect_count,
    )
    return json(msgspec.to_builtins(work), 201)


@endpoint
async def close_comments(request: Request) -> Any:
    work = world_of(request).work(request.path_params["aweme_id"])
    work.comments_closed = (await body(request, Closed)).closed
    return msgspec.to_builtins(work)


@endpoint
async def add_comment(request: Request) -> Any:
    world = world_of(request)
    spec = await body(request, NewComment)
    world.work(spec.aweme_id)
    comment = world.add_comment(
        spec.aweme_id,
        person(world, spec.user).uid,
        spec.text,
        reply_to=spec.reply_to,
        create_time=spec.create_time,
        cid=spec.cid,
        digg_count=spec.digg_count,
        ip_label=spec.ip_label,
    )
    return json(msgspec.to_builtins(comment), 201)


@endpoint
async def add_message(request: Request) -> Any:
    world = world_of(request)
    spec = await body(request, NewMessage)
    account = spec.resolve(world)
    sender = person(world, spec.sender)
    message = world.add_message(sender.uid, account.uid, spec.text, created_ms=spec.created_ms, msg_id=spec.msg_id)
    return json(msgspec.to_builtins(message), 201)


# observation


def _outbox_query(world: World, request: Request) -> tuple[str | None, int]:
    """An outbox's filters: `uid` (a uid or unique id; the account's uid, or None for all) and `after`
    (how many entries the caller has already read)."""
    query = request.query_params
    uid = world.account(query["uid"]).uid if query.get("uid") else None
    return uid, int(query.get("after") or 0)


@endpoint
async def sent(request: Request) -> Any:
    world = world_of(request)
    uid, after = _outbox_query(world, request)
    kind = request.query_params.get("kind")
    return [
        msgspec.to_builtins(s)
        for s in world.sent[after:]
        if (uid is None or s.uid == uid) and (kind is None or s.kind == kind)
    ]


@endpoint
async def requests(request: Request) -> Any:
    world = world_of(request)
    query = request.query_params
    wanted_uid = query.get("uid")
    if wanted_uid:  # "" selects requests made without a session
        wanted_uid = world.account(wanted_uid).uid
    rows = [
        msgspec.to_builtins(entry)
        for (uid, path), entry in sorted(world.requests.items())
        if uid == (uid if wanted_uid is None else wanted_uid) and path == query.get("path", path)
    ]
    return {"requests": rows, "total": sum(r["count"] for r in rows)}


@endpoint
async def reset_requests(request: Request) -> Any:
    world_of(request).requests.clear()
    return {"requests": [], "total": 0}


@endpoint
async def save(request: Request) -> Any:
    world = world_of(request)
    await body(request, Save)
    target: Path | None = request.app.state.state_path
    if target is None:
        raise Invalid("the sandbox was started without --state, so there is nowhere to save")
    # Encoded here, on the loop, so the world cannot change under the encoder; written in a thread.
    size = await anyio.to_thread.run_sync(write_private, target, world.encode())
    return {"path": str(target), "bytes": size}


routes = [
    Route(f"{PREFIX}/accounts", list_accounts),
    Route(f"{PREFIX}/accounts", create_account, methods=["POST"]),
    Route(f"{PREFIX}/accounts/{{ref}}", get_account),
    Route(f"{PREFIX}/accounts/{{ref}}/sms", demand_sms, methods=["POST"]),
    Route(f"{PREFIX}/accounts/{{ref}}/sessions/expire", expire_sessions, methods=["POST"]),
    Route(f"{PREFIX}/accounts/{{ref}}/risk", risk, methods=["POST"]),
    Route(f"{PREFIX}/accounts/{{ref}}/arm", arm, methods=["POST"]),
    Route(f"{PREFIX}/accounts/{{ref}}/traffic", traffic, methods=["POST"]),
    Route(f"{PREFIX}/accounts/{{ref}}/stirs", stirs, methods=["GET", "POST"]),
    Route(f"{PREFIX}/accounts/{{ref}}/stirs/clear", clear_stirs, methods=["POST"]),
    Route(f"{PREFIX}/qr", list_qr),
    Route(f"{PREFIX}/qr/scan", scan, methods=["POST"]),
    Route(f"{PREFIX}/qr/verify", verify, methods=["POST"]),
    Route(f"{PREFIX}/qr/expire", expire_qr, methods=["POST"]),
    Route(f"{PREFIX}/sms", sms_sent),
    Route(f"{PREFIX}/settings", settings, methods=["GET", "POST"]),
    Route(f"{PREFIX}/works", add_work, methods=["POST"]),
    Route(f"{PREFIX}/works/{{aweme_id}}/comments_closed", close_comments, methods=["POST"]),
    Route(f"{PREFIX}/comments", add_comment, methods=["POST"]),
    Route(f"{PREFIX}/messages", add_message, methods=["POST"]),
    Route(f"{PREFIX}/sent", sent),
    Route(f"{PREFIX}/requests", requests),
    Route(f"{PREFIX}/requests/reset", reset_requests, methods=["POST"]),
    Route(f"{PREFIX}/save", save, methods=["POST"]),
]
