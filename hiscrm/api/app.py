"""The one Starlette app: every router in ROUTERS, the error envelopes, metrics, the console."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

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


async def _server_error(request: Request, exc: Exception) -> Response:
    # The client gets the envelope, not Starlette's plain text; the traceback still reaches the server
    # log, since Starlette re-raises after answering: a 500 is a bug to fix, not bad input.
    return failure(family_of(request.url.path), ApiError(500, "internal error; the server log has the details"))


def create_app(services: Services, tokens: Tokens) -> Starlette:
    all_endpoints = endpoints()
    app = Starlette(exception_handlers={HTTPException: _http_error, Exception: _server_error})
    app.router = IndexedRouter([*(starlette_route(e) for e in all_endpoints), *console.routes()])
    metrics = Metrics()
    metrics.gauges["hiscrm_projection_checkpoint"] = services.models.checkpoint
    metrics.gauges.update(gauges(services))
    account_health(services, metrics)
    app.state.services = services
    app.state.tokens = tokens
    # Set when the server begins to stop, so endless responses (the IM event feed) end and let it.
    app.state.stopping = asyncio.Event()
    app.state.metrics = metrics
    app.state.page_cache = PageCache()
    app.state.shaped = ShapedItems()
    app.state.openapi = document(all_endpoints)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    return app
