"""Routes about the service itself: /health and /ready (open), /metrics, /openapi.json.

/health says whether this API can be trusted: connected to the broker, and serving read models built
from the HISCRM_EVENTS there now (hiscrm/projector/origin.py). /ready says whether the whole system
can do its work, part by part: broker, read models caught up, a coordinator leading, and a live worker
when this API runs local ones; it answers 503 until every part is up, so a client (or a load balancer,
or a test) can wait for it instead of meeting `no_worker` right after a start.
"""

from __future__ import annotations

import asyncio

import msgspec
from starlette.responses import PlainTextResponse

from hiscrm import __version__
from hiscrm.api.envelopes import JSONResponse
from hiscrm.api.local_workers import LocalWorkers
from hiscrm.api.routing import Call, Router
from hiscrm.api.services import Services
from hiscrm.coordinator.lease import LeaseValue
from hiscrm.facts.subjects import COORDINATOR_LEASE, PRESENCE_BUCKET, presence_key
from hiscrm.store import kv
from projections import workers

router = Router("plain", frozenset({"admin"}), "system")

# Within one projector batch of the head counts as caught up: a busy stream is never exactly at it.
READY_LAG = 2000


class Health(msgspec.Struct):
    status: str  # "ok", or "degraded" with the reasons in `problems`
    version: str
    nats: bool
    checkpoint: int
    problems: list[str]
    ready: bool  # every part of /ready is up


class Part(msgspec.Struct):
    up: bool
    detail: str


class ReadModelsPart(Part):
    checkpoint: int
    stream_head: int
    lag: int


class WorkersPart(Part):
    live: list[str]
    required: bool  # this API runs local workers, so one of them (or another) must be live


class Readiness(msgspec.Struct):
    ready: bool
    broker: Part
    read_models: ReadModelsPart
    coordinator: Part
    workers: WorkersPart


async def _read_models(services: Services) -> tuple[ReadModelsPart, str | None]:
    """The read models' part, and why they cannot be trusted at all (another stream) if so."""
    now, problem = await services.models.origin()
    checkpoint = services.models.checkpoint()
    head = now.head if now is not None else 0
    lag = max(0, head - checkpoint)
    if problem is not None:
        return ReadModelsPart(False, problem, checkpoint, head, lag), problem
    if lag > READY_LAG:
        return ReadModelsPart(False, f"catching up: {lag} facts behind the stream", checkpoint, head, lag), None
    return ReadModelsPart(True, "caught up with the stream", checkpoint, head, lag), None


async def _coordinator(services: Services) -> Part:
    try:
        _, value = await kv.latest(services.nc.jetstream(), PRESENCE_BUCKET, COORDINATOR_LEASE)
    except Exception as exc:  # the lease could not be read: say so rather than answer 500
        return Part(False, f"cannot read the coordinator lease: {exc!r}")
    if not value:
        return Part(False, "no coordinator holds the lease")
    return Part(True, f"{msgspec.json.decode(value, type=LeaseValue).holder} leads")


async def _workers(services: Services) -> WorkersPart:
    local: LocalWorkers | None = services.extras.get("local_workers")
    required = local is not None and local.running_count() > 0
    with services.models.read() as tx:
        known = {row.worker_id for _, row in tx.scan(workers.TABLE, b"", workers.WorkerRow)}
    candidates = sorted(known | set(local.statuses() if local is not None else ()))
    js = services.nc.jetstream()
    try:
        seen = await asyncio.gather(*(kv.latest(js, PRESENCE_BUCKET, presence_key(w)) for w in candidates))
    except Exception as exc:  # presence could not be read: say so rather than answer 500
        return WorkersPart(False, f"cannot read worker presence: {exc!r}", [], required)
    live = [w for w, (_, value) in zip(candidates, seen, strict=True) if value]
    if live:
        return WorkersPart(True, f"{len(live)} live", live, required)
    detail = "no worker is live yet (local ones are starting)" if required else "no worker is live (none required)"
    return WorkersPart(not required, detail, live, required)


async def readiness(services: Services) -> tuple[Readiness, str | None]:
    """Every part, and the reason the API itself is degraded (another stream, no broker) if it is."""
    down = Part(False, "not connected to the broker")
    if not services.nc.is_connected:
        models = ReadModelsPart(False, "the stream cannot be read", services.models.checkpoint(), 0, 0)
        lost = Readiness(False, down, models, down, WorkersPart(False, down.detail, [], False))
        return lost, down.detail
    (models, problem), coordinator, live = await asyncio.gather(
        _read_models(services), _coordinator(services), _workers(services)
    )
    broker = Part(True, "connected")
    ready = models.up and coordinator.up and live.up
    return Readiness(ready, broker, models, coordinator, live), problem


@router.route(
    "GET", "/health", summary="liveness, and whether every part is ready; needs no token", response=Health, roles=None
)
async def health(call: Call) -> Health:
    services = call.services
    parts, problem = await readiness(services)
    problems = [problem] if problem else []
    return Health(
        "degraded" if problems else "ok",
        __version__,
        services.nc.is_connected,
        services.models.checkpoint(),
        problems,
        parts.ready,
    )


@router.route(
    "GET",
    "/ready",
    summary="which parts are up (broker, read models, coordinator, workers); 503 until all are; needs no token",
    response=Readiness,
    roles=None,
)
async def ready(call: Call) -> JSONResponse:
    parts, _ = await readiness(call.services)
    return JSONResponse(msgspec.to_builtins(parts), 200 if parts.ready else 503)


@router.route("GET", "/metrics", summary="Prometheus metrics")
async def metrics(call: Call) -> PlainTextResponse:
    return PlainTextResponse(call.request.app.state.metrics.render(), media_type="text/plain; version=0.0.4")


@router.route("GET", "/openapi.json", summary="this document", roles=None)
async def openapi(call: Call) -> JSONResponse:
    return JSONResponse(call.request.app.state.openapi)
