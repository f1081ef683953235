"""Routes declared once, with their types: decoding, auth, envelopes and the OpenAPI document follow.

A route is an async function taking a `Call` and returning data; the declaration says which roles
may call it, which Struct its query string and body decode into, and which type it answers with.
The same types validate the input at the edge and describe the route in /openapi.json, so the
document cannot drift from the code.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import msgspec
import nats.errors
import nats.js.errors
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from hiscrm.api.auth import Token, Tokens, authenticated, require
from hiscrm.api.bounded import Bounded
from hiscrm.api.envelopes import Family, failure, success
from hiscrm.api.errors import ApiError
from hiscrm.api.json_depth import MAX_DEPTH, deeper_than
from hiscrm.errors import StoreUnavailable

MAX_BODY = 256 * 1024
log = logging.getLogger(__name__)
BROKER_UNANSWERED = (
    StoreUnavailable,
    nats.errors.TimeoutError,
    nats.errors.NoRespondersError,
    nats.errors.ConnectionClosedError,
    nats.js.errors.NoStreamResponseError,
    nats.js.errors.ServiceUnavailableError,
)


@dataclass
class Call:
    """What a route sees: the request, the caller, decoded path, query and body, its declaration, and the
    app's services."""

    request: Request
    token: Token | None
    path: dict[str, str]
    query: Any
    body: Any
    endpoint: Endpoint

    @property
    def services(self) -> Any:
        return self.request.app.state.services


Handler = Callable[[Call], Awaitable[Any]]


@dataclass
class Endpoint:
    method: str
    path: str
    handler: Handler
    summary: str
    family: Family
    roles: frozenset[str] | None  # None: open to anyone
    query: type[msgspec.Struct] | None = None
    body: type[msgspec.Struct] | None = None
    response: Any = None
    status: int = 200
    tags: tuple[str, ...] = field(default_factory=tuple)
    # IM lists whose cursor and has_more sit beside `data` rather than inside it (reference/im-api.md).
    cursor_beside: bool = False
    # What a success answers with; anything but JSON (the live feed's text/event-stream) has no envelope.
    media_type: str = "application/json"


class Router:
    """Collects endpoint declarations from the route modules."""

    def __init__(self, family: Family, roles: frozenset[str] | None, tag: str) -> None:
        self.family = family
        self.roles = roles
        self.tag = tag
        self.endpoints: list[Endpoint] = []

    def route(
        self,
        method: str,
        path: str,
        *,
        summary: str,
        query: type[msgspec.Struct] | None = None,
        body: type[msgspec.Struct] | None = None,
        response: Any = None,
        status: int = 200,
        roles: frozenset[str] | str | None = "default",
        cursor_beside: bool = False,
        media_type: str = "application/json",
    ) -> Callable[[Handler], Handler]:
        def declare(handler: Handler) -> Handler:
            self.endpoints.append(
                Endpoint(
                    method,
                    path,
                    handler,
                    summary,
                    self.family,
                    self.roles if roles == "default" else roles,  # type: ignore[arg-type]
                    query,
                    body,
                    response,
                    status,
                    (self.tag,),
                    cursor_beside,
                    media_type,
                )
            )
            return handler

        return declare


def _validation_message(exc: msgspec.ValidationError | msgspec.DecodeError, where: str) -> str:
    text = str(exc)
    # msgspec says "at `$.field`"; name the field the way a client wrote it.
    text = re.sub(r"`\$\.?([^`]*)`", lambda m: f"'{m.group(1) or where}'", text)
    return f"invalid {where}: {text}"


# Clients poll with the same few query strings over and over, and decoding one costs more than the
# read it asks for; handlers never change the query they are given, so one decoded object serves all.
_queries: Bounded[tuple[type[msgspec.Struct], bytes], Any] = Bounded(4096)


def decode_query(request: Request, kind: type[msgspec.Struct]) -> Any:
    raw_query: bytes = request.scope["query_string"]
    found = _queries.get((kind, raw_query))
    if found is not None:
        return found
    # As Starlette's QueryParams reads it (the last of a repeated name wins), without its multidict:
    # a query string asked once (a search typed) pays this in full.
    raw = dict(parse_qsl(raw_query.decode("latin-1"), keep_blank_values=True))
    try:
        query = msgspec.convert(raw, kind, strict=False)
    except msgspec.ValidationError as exc:
        raise ApiError(400, _validation_message(exc, "query")) from None
    _queries.put((kind, raw_query), query)
    return query


async def decode_body(request: Request, kind: type[msgspec.Struct]) -> Any:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY:
        raise ApiError(413, f"request body is {declared} bytes; the limit is {MAX_BODY}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise ApiError(413, f"request body is larger than the limit of {MAX_BODY} bytes")
        chunks.append(chunk)
    payload = b"".join(chunks)
    if not payload:
        raise ApiError(400, "request body is empty; send a JSON object")
    ctype = request.headers.get("content-type", "application/json")
    if "json" not in ctype:
        raise ApiError(415, f"content type {ctype!r} is not JSON; send application/json")
    if deeper_than(payload, MAX_DEPTH):
        raise ApiError(400, f"request body nests arrays and objects more than {MAX_DEPTH} deep")
    try:
        return msgspec.json.decode(payload, type=kind)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise ApiError(400, _validation_message(exc, "body")) from None


def starlette_route(endpoint: Endpoint) -> Route:
    async def run(request: Request) -> Response:
        try:
            token = None
            if endpoint.roles is not None:
                tokens: Tokens = request.app.state.tokens
                token = authenticated(request.scope, tokens)
                require(token, endpoint.roles)
            query = decode_query(request, endpoint.query) if endpoint.query else None
            body = await decode_body(request, endpoint.body) if endpoint.body else None
            result = await endpoint.handler(Call(request, token, dict(request.path_params), query, body, endpoint))
        except ApiError as exc:
            return failure(endpoint.family, exc)
        except BROKER_UNANSWERED as exc:
            # Not a bug to trace but a broker that will answer again (an election, a restart): say when to retry.
            log.warning("%s %s: %s", request.method, request.url.path, exc)
            why = str(exc) if isinstance(exc, StoreUnavailable) else f"NATS did not answer ({exc!r})"
            unavailable = failure(endpoint.family, ApiError(503, f"{why}; try again shortly"))
            unavailable.headers["Retry-After"] = "1"
            return unavailable
        if isinstance(result, Response):
            return result
        if isinstance(result, Accepted):
            return success(endpoint.family, result.data, 202)
        return success(endpoint.family, result, endpoint.status)

    return Route(endpoint.path, _Asgi(run), methods=[endpoint.method], name=f"{endpoint.method} {endpoint.path}")


class _Asgi:
    """A route's function as a plain ASGI app. Given a function, Starlette would wrap it in a second
    Request and a second exception wrapper on every call; the app's ExceptionMiddleware already
    handles whatever escapes, with the same handlers."""

    __slots__ = ("run",)

    def __init__(self, run: Callable[[Request], Awaitable[Response]]) -> None:
        self.run = run

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.run(Request(scope, receive, send))
        await response(scope, receive, send)


class Accepted(msgspec.Struct):
    """A write appended but not yet visible in the read models within the wait bound: answer 202."""

    data: Any
