"""The one Starlette app: every router in ROUTERS, the error envelopes, metrics, the console."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from hiscrm.api import console, im, system, v1
from hiscrm.api.auth import Tokens
from hiscrm.api.envelopes import failure, family_of
from hiscrm.api.errors import ApiError
from hiscrm.api.im.page_cache import PageCache
from hiscrm.api.im.shaped import ShapedItems
from hiscrm.api.indexed_router import IndexedRouter
from hiscrm.api.metrics import Metrics, MetricsMiddleware
from hiscrm.api.openapi import document
from hiscrm.api.routing import Endpoint, Router, starlette_route
from hiscrm.api.services import Services
from hiscrm.api.v1.gauges import account_health, gauges

ROUTER_MODULES: list[Any] = [system, *v1.ROUTER_MODULES, *im.ROUTER_MODULES]


def routers() -> list[Router]:
    return [m.router for m in ROUTER_MODULES]


def endpoints() -> list[Endpoint]:
    return [e for r in routers() for e in r.endpoints]


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = {404: f"no route {request.url.path}", 405: f"{request.method} is not allowed on {request.url.path}"}
    return failure(family_of(request.url.path), ApiError(exc.status_code, message.get(exc.status_code, exc.detail)))


_INTERNAL = ApiError(500, "internal error; the server log has the details")


async def _server_error(request: Request, exc: Exception) -> Response:
    # The client gets the envelope, not Starlette's plain text; the traceback still reaches the server
    # log, since Starlette re-raises after answering: a 500 is a bug to fix, not bad input.
    return failure(family_of(request.url.path), _INTERNAL)


class App(Starlette):
    """Starlette, with kept list pages answered before its middleware and router (hiscrm/api/im/page_cache.py):
    such an answer is ready bytes, and the way through Starlette to them cost several times what they do."""

    def __init__(self, pages: PageCache, tokens: Tokens, services: Services, metrics: Metrics) -> None:
        super().__init__(exception_handlers={HTTPException: _http_error, Exception: _server_error})
        self.pages, self.tokens, self.models, self.metrics = pages, tokens, services.models, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            started = time.perf_counter()
            try:
                kept = self.pages.ahead(scope, self.tokens, self.models)
            except Exception:
                # As Starlette's ServerErrorMiddleware does for the rest: the envelope, then the traceback.
                await failure(family_of(scope["path"]), _INTERNAL)(scope, receive, send)
                raise
            if kept is not None:
                await send({"type": "http.response.start", "status": kept.status, "headers": kept.headers})
                await send({"type": "http.response.body", "body": kept.body})
                self.metrics.observe(kept.route, "GET", kept.status, time.perf_counter() - started)
                return
        await super().__call__(scope, receive, send)


def create_app(services: Services, tokens: Tokens, *, keep: bool = True) -> App:
    """`keep=False`: an app that keeps no page and no item JSON, building every answer as it is asked
    (what the tests compare the kept answers with)."""
    all_endpoints = endpoints()
    metrics = Metrics()
    app = App(PageCache() if keep else PageCache(size=0), tokens, services, metrics)
    app.router = IndexedRouter([*(starlette_route(e) for e in all_endpoints), *console.routes()])
    metrics.gauges["hiscrm_projection_checkpoint"] = services.models.checkpoint
    metrics.gauges.update(gauges(services))
    account_health(services, metrics)
    app.state.services = services
    app.state.tokens = tokens
    # Set when the server begins to stop, so endless responses (the IM event feed) end and let it.
    app.state.stopping = asyncio.Event()
    app.state.metrics = metrics
    app.state.page_cache = app.pages
    app.state.shaped = ShapedItems() if keep else ShapedItems(size=0)
    app.state.openapi = document(all_endpoints)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    return app
