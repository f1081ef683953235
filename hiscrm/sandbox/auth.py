"""Who is calling: the session behind the `sessionid` cookie, and the gate every Douyin JSON API passes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple
from urllib.parse import parse_qsl

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from hiscrm.api.json_depth import MAX_DEPTH, deeper_than
from hiscrm.sandbox.model import Account, Invalid, NotFound, Refusal, Session, User
from hiscrm.sandbox.state import World

SESSION_COOKIE = "sessionid"
CSRF_HEADER = "X-Secsdk-Csrf-Token"
LOGGED_OUT = {"status_code": 8, "status_msg": "用户未登录"}
BAD_PARAMS = 5
NOT_FOUND = 2


class Caller(NamedTuple):
    world: World
    session: Session
    account: Account
    user: User
    base: str  # this origin, for absolute picture URLs


def world_of(request: Request) -> World:
    return request.app.state.world


def caller(request: Request) -> Caller | None:
    """The logged-in sandbox account, or None when the cookie is missing, unknown or expired."""
    world = world_of(request)
    session = world.session(request.cookies.get(SESSION_COOKIE))
    account = world.accounts.get(session.uid) if session else None
    if session is None or account is None:
        return None
    return Caller(world, session, account, world.users[account.uid], origin(request))


def origin(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def json(data: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(msgspec.json.encode(data), status_code, headers, media_type="application/json")


def error(code: int, message: str) -> Response:
    # Like the real site: HTTP 200, the refusal is in the body.
    return json({"status_code": code, "status_msg": message})


def csrf_ok(request: Request, who: Caller) -> bool:
    return request.headers.get(CSRF_HEADER) == who.session.csrf_token


Handler = Callable[[Request, Caller], Awaitable[Response]]


def api(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Logged out: status_code 8. Risk control: an empty 200 body. Bad input and refusals: non-zero codes."""

    async def endpoint(request: Request) -> Response:
        who = caller(request)
        if who is None:
            return json(LOGGED_OUT)
        if who.account.risk_control:
            return Response(b"", media_type="application/json")
        try:
            return await handler(request, who)
        except Refusal as refusal:
            return error(refusal.code, refusal.message)
        except NotFound as exc:
            return error(NOT_FOUND, str(exc))
        except Invalid as exc:
            return error(BAD_PARAMS, str(exc))

    endpoint.__name__ = handler.__name__
    return endpoint


def int_param(request: Request, name: str, default: int, low: int = 0, high: int = 2**62) -> int:
    raw = request.query_params.get(name, "")
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise Invalid(f"{name} must be an integer, got {raw!r}") from None
    return min(max(value, low), high)


def str_param(request: Request, name: str) -> str:
    value = request.query_params.get(name, "").strip()
    if not value:
        raise Invalid(f"missing parameter {name}")
    return value


async def form_or_json(request: Request) -> dict[str, Any]:
    """The page posts JSON; scripts often post a form. Both are accepted."""
    body = await request.body()
    if request.headers.get("content-type", "").startswith("application/json"):
        if deeper_than(body):  # msgspec would recurse into it until RecursionError
            raise Invalid(f"body nests arrays and objects more than {MAX_DEPTH} deep")
        try:
            data = msgspec.json.decode(body)
        except msgspec.DecodeError:
            raise Invalid("body is not valid JSON") from None
        if not isinstance(data, dict):
            raise Invalid("body must be a JSON object")
        return data
    return dict(parse_qsl(body.decode(errors="replace")))
