"""Counts requests per account and path, so tests can see whether a client backs off, and sets off the
account's stirs (stir.py)."""

from __future__ import annotations

from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Receive, Scope, Send

from hiscrm.sandbox import images
from hiscrm.sandbox.auth import SESSION_COOKIE
from hiscrm.sandbox.state import World
from hiscrm.sandbox.stir import Stirrer

CONTROL_PREFIX = "/__sandbox/"


class RequestMeter:
    """ASGI middleware. A request counts for the account whose session cookie it carries, even an
    expired one (that is when backing off matters); requests without one count under uid "".
    A page connecting its push socket is not counted, but sets off stirs as a request does."""

    def __init__(self, app: ASGIApp, world: World, stirrer: Stirrer) -> None:
        self.app = app
        self.world = world
        self.stirrer = stirrer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            path: str = scope["path"]
            if not path.startswith(CONTROL_PREFIX) and not path.startswith(images.PREFIXES):
                uid = self._uid(scope)
                if scope["type"] == "http":
                    self.world.count_request(uid, path)
                if uid:
                    self.stirrer.fire(uid, path)
        await self.app(scope, receive, send)

    def _uid(self, scope: Scope) -> str:
        for name, value in scope["headers"]:
            if name == b"cookie":
                sessionid = cookie_parser(value.decode("latin-1")).get(SESSION_COOKIE)
                session = self.world.sessions.get(sessionid or "")
                return session.uid if session else ""
        return ""
