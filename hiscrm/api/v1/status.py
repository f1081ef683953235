"""/api/v1/status: one look at the whole system: workers, accounts, scheduling, projection and store."""

from __future__ import annotations

import time

import msgspec

from hiscrm import __version__
from hiscrm.api.local_workers import LocalWorkers
from hiscrm.api.routing import Call, Router
from hiscrm.api.v1 import census
from hiscrm.api.v1.common import ADMIN
from hiscrm.facts.subjects import EVENTS_STREAM

router = Router("v1", ADMIN, "status")


class Scheduling(msgspec.Struct, kw_only=True):
    unassigned: list[census.Unassigned]


class ProjectionStatus(msgspec.Struct, kw_only=True):
    checkpoint: int
    stream_head: int
    lag: int
    dead_letters: int


class StoreStatus(msgspec.Struct, kw_only=True):
    stream: str
    messages: int
    bytes: int
    first_seq: int
    last_seq: int
    consumers: int


class SystemStatus(msgspec.Struct, kw_only=True):
    """Times are Unix milliseconds."""

    version: str
    started_at: int
    uptime_s: float
    nats_connected: bool
    workers: census.WorkerCounts
    accounts: census.AccountCounts
    scheduling: Scheduling
    projection: ProjectionStatus
    store: StoreStatus


@router.route(
    "GET",
    "/api/v1/status",
    summary="version, uptime, workers, accounts, scheduling, projection, store",
    response=SystemStatus,
)
async def system_status(call: Call) -> SystemStatus:
    services = call.services
    state = (await services.nc.jetstream().stream_info(EVENTS_STREAM)).state
    # Read after the head, so facts appended in between never show as lag; they may make it negative, hence max().
    checkpoint = services.models.checkpoint()
    with services.models.read() as tx:
        counted = census.take(tx)
    local: LocalWorkers | None = services.extras.get("local_workers")
    return SystemStatus(
        version=__version__,
        started_at=int(services.started_at * 1000),
        uptime_s=round(time.time() - services.started_at, 3),
        nats_connected=services.nc.is_connected,
        workers=msgspec.structs.replace(counted.workers, local_running=local.running_count() if local else 0),
        accounts=counted.accounts,
        scheduling=Scheduling(unassigned=counted.unassigned),
        projection=ProjectionStatus(
            checkpoint=checkpoint,
            stream_head=state.last_seq,
            lag=max(0, state.last_seq - checkpoint),
            dead_letters=services.models.dead_letter_count(),
        ),
        store=StoreStatus(
            stream=EVENTS_STREAM,
            messages=state.messages,
            bytes=state.bytes,
            first_seq=state.first_seq,
            last_seq=state.last_seq,
            consumers=state.consumer_count,
        ),
    )
