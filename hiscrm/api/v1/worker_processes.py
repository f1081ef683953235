"""Lifecycle of the workers this API runs as child processes: start, stop, restart, status, logs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

import msgspec

from hiscrm.api.errors import ApiError, bad_request, conflict
from hiscrm.api.local_workers import (
    AlreadyRunning,
    LocalWorkers,
    NotManaged,
    NotRunning,
    ProcessStatus,
    SpawnFailed,
    WorkerSpec,
)
from hiscrm.api.routing import Call, Router
from hiscrm.api.v1.common import ADMIN, PLATFORMS, ident
from hiscrm.api.v1.workers import worker_row
from hiscrm.errors import InvalidToken
from hiscrm.facts.subjects import worker_token

router = Router("v1", ADMIN, "workers")

DEFAULT_MAX_ACCOUNTS = 10


class StartOptions(msgspec.Struct, kw_only=True):
    """Left out: what the worker last ran with (a new worker: every platform, 10 accounts)."""

    platforms: str | None = None
    max_accounts: Annotated[int, msgspec.Meta(ge=1, le=1000)] | None = None


class LogQuery(msgspec.Struct, kw_only=True):
    lines: Annotated[int, msgspec.Meta(ge=1, le=10000)] = 200


class LogTail(msgspec.Struct, kw_only=True):
    worker_id: str
    log_path: str
    lines: list[str]


def _supervisor(call: Call) -> LocalWorkers:
    local: LocalWorkers | None = call.services.extras.get("local_workers")
    if local is None:
        raise ApiError(503, "this API process does not manage local workers")
    return local


def _worker_id(call: Call) -> str:
    value = ident(call.path["id"], "worker id")
    try:
        return worker_token(value)
    except InvalidToken as exc:
        raise bad_request(str(exc)) from None


def _platforms(value: str) -> list[str]:
    chosen = [p.strip() for p in value.split(",") if p.strip()]
    unknown = [p for p in chosen if p not in PLATFORMS]
    if not chosen or unknown:
        raise bad_request(f"platforms {value!r}: give a comma-separated list of {', '.join(PLATFORMS)}")
    return chosen


@asynccontextmanager
async def _lifecycle_errors() -> AsyncIterator[None]:
    try:
        yield
    except NotManaged as exc:
        raise ApiError(404, str(exc)) from None
    except (AlreadyRunning, NotRunning) as exc:
        raise conflict(str(exc)) from None
    except SpawnFailed as exc:
        raise ApiError(500, str(exc)) from None


@router.route(
    "POST",
    "/api/v1/workers/{id}/start",
    summary="start a local worker (a new one, or a stopped one again)",
    query=StartOptions,
    response=ProcessStatus,
)
async def start(call: Call) -> ProcessStatus:
    worker_id = _worker_id(call)
    local = _supervisor(call)
    q: StartOptions = call.query
    known = local.statuses().get(worker_id)
    if known is None:
        with call.services.models.read() as tx:
            row = worker_row(tx, worker_id)
        if row is not None and row.status == "online":
            raise conflict(f"worker {worker_id!r} is online on {row.host or 'another host'} and not run by this API")
    platforms = known.platforms if known else list(PLATFORMS)
    max_accounts = known.max_accounts if known else DEFAULT_MAX_ACCOUNTS
    spec = WorkerSpec(
        worker_id=worker_id,
        platforms=_platforms(q.platforms) if q.platforms is not None else platforms,
        max_accounts=q.max_accounts or max_accounts,
    )
    async with _lifecycle_errors():
        return await local.start(spec)


@router.route("POST", "/api/v1/workers/{id}/stop", summary="stop a local worker", response=ProcessStatus)
async def stop(call: Call) -> ProcessStatus:
    worker_id = _worker_id(call)
    async with _lifecycle_errors():
        return await _supervisor(call).stop(worker_id)


@router.route("POST", "/api/v1/workers/{id}/restart", summary="restart a local worker", response=ProcessStatus)
async def restart(call: Call) -> ProcessStatus:
    worker_id = _worker_id(call)
    async with _lifecycle_errors():
        return await _supervisor(call).restart(worker_id)


@router.route("GET", "/api/v1/workers/{id}/status", summary="a local worker's process", response=ProcessStatus)
async def status(call: Call) -> ProcessStatus:
    worker_id = _worker_id(call)
    async with _lifecycle_errors():
        return _supervisor(call).status(worker_id)


@router.route(
    "GET",
    "/api/v1/workers/{id}/logs",
    summary="the last lines of a local worker's log",
    query=LogQuery,
    response=LogTail,
)
async def logs(call: Call) -> LogTail:
    worker_id = _worker_id(call)
    local = _supervisor(call)
    async with _lifecycle_errors():
        lines = await local.tail(worker_id, call.query.lines)
    return LogTail(worker_id=worker_id, log_path=str(local.log_path(worker_id)), lines=lines)
