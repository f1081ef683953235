"""Routes about the service itself: /health (open), /metrics, /openapi.json."""

from __future__ import annotations

import msgspec
from starlette.responses import PlainTextResponse

from hiscrm import __version__
from hiscrm.api.envelopes import JSONResponse
from hiscrm.api.routing import Call, Router

router = Router("plain", frozenset({"admin"}), "system")


class Health(msgspec.Struct):
    status: str
    version: str
    nats: bool
    checkpoint: int


@router.route("GET", "/health", summary="liveness and readiness; needs no token", response=Health, roles=None)
async def health(call: Call) -> Health:
    services = call.services
    return Health("ok", __version__, services.nc.is_connected, services.models.checkpoint())


@router.route("GET", "/metrics", summary="Prometheus metrics")
async def metrics(call: Call) -> PlainTextResponse:
    return PlainTextResponse(call.request.app.state.metrics.render(), media_type="text/plain; version=0.0.4")


@router.route("GET", "/openapi.json", summary="this document", roles=None)
async def openapi(call: Call) -> JSONResponse:
    return JSONResponse(call.request.app.state.openapi)
