"""/api/v1/workers: every worker the facts know of, plus the local ones this API runs that have not registered yet."""

from __future__ import annotations

import asyncio
from typing import Literal

import msgspec

from hiscrm.api.errors import not_found
from hiscrm.api.local_workers import LocalWorkers, ProcessStatus
from hiscrm.api.routing import Call, Router
from hiscrm.api.v1.common import ADMIN, path_id
from hiscrm.facts.messages import Presence
from hiscrm.facts.subjects import PRESENCE_BUCKET, presence_key
from hiscrm.projector.model import Tx, key
from hiscrm.store import kv
from projections import workers
from projections.workers import WorkerRow

router = Router("v1", ADMIN, "workers")

# online|offline|stopped come from the facts; `unregistered` is a local process not yet heard from.
WorkerStatus = Literal["online", "offline", "stopped", "unregistered"]


class Worker(msgspec.Struct, kw_only=True):
    """Times are Unix milliseconds; `local` is set for workers this API runs as child processes."""

    id: str
    status: WorkerStatus
    platforms: list[str]
    max_accounts: int
    accounts: list[str]
    account_count: int
    host: str | None
    pid: int | None
    version: str | None
    registered_at: int | None
    updated_at: int | None
    last_seen: int | None
    stop_reason: str | None
    local: ProcessStatus | None
    memory_bytes: int | None = None  # the worker's own report on its presence key (process, driver, Chromium)

    @classmethod
    def of(cls, row: WorkerRow, local: ProcessStatus | None) -> Worker:
        return cls(
            id=row.worker_id,
            status=row.status,  # type: ignore[arg-type]
            platforms=row.platforms,
            max_accounts=row.max_accounts,
            accounts=row.accounts,
            account_count=len(row.accounts),
            host=row.host,
            pid=row.pid,
            version=row.version,
            registered_at=row.registered_at_ms,
            updated_at=row.updated_at_ms,
            last_seen=row.last_seen_ms,
            stop_reason=row.stop_reason,
            local=local,
        )

    @classmethod
    def unregistered(cls, local: ProcessStatus) -> Worker:
        return cls(
            id=local.worker_id,
            status="unregistered",
            platforms=local.platforms,
            max_accounts=local.max_accounts,
            accounts=[],
            account_count=0,
            host=None,
            pid=local.pid,
            version=None,
            registered_at=None,
            updated_at=None,
            last_seen=None,
            stop_reason=None,
            local=local,
        )


class WorkerQuery(msgspec.Struct, kw_only=True):
    status: WorkerStatus | None = None


def local_statuses(call: Call) -> dict[str, ProcessStatus]:
    local: LocalWorkers | None = call.services.extras.get("local_workers")
    return local.statuses() if local is not None else {}


def worker_row(tx: Tx, worker_id: str) -> WorkerRow | None:
    return tx.get(workers.TABLE, key(worker_id), WorkerRow)


def all_workers(tx: Tx, local: dict[str, ProcessStatus]) -> list[Worker]:
    known = [Worker.of(row, local.get(row.worker_id)) for _, row in tx.scan(workers.TABLE, b"", WorkerRow)]
    seen = {w.id for w in known}
    return sorted(
        [*known, *(Worker.unregistered(s) for worker_id, s in local.items() if worker_id not in seen)],
        key=lambda w: w.id,
    )


@router.route("GET", "/api/v1/workers", summary="list workers", query=WorkerQuery, response=list[Worker])
async def list_workers(call: Call) -> list[Worker]:
    wanted = call.query.status
    with call.services.models.read() as tx:
        found = all_workers(tx, local_statuses(call))
    return await with_memory(call, [w for w in found if wanted is None or w.status == wanted])


async def with_memory(call: Call, found: list[Worker]) -> list[Worker]:
    """Fill in what each live worker last said about its memory on its presence key."""
    js = call.services.nc.jetstream()
    live = [w for w in found if w.status == "online"]
    entries = await asyncio.gather(*(kv.latest(js, PRESENCE_BUCKET, presence_key(w.id)) for w in live))
    for worker, (_, value) in zip(live, entries, strict=True):
        if value:
            worker.memory_bytes = msgspec.json.decode(value, type=Presence).memory_bytes
    return found


@router.route("GET", "/api/v1/workers/{id}", summary="one worker", response=Worker)
async def get_worker(call: Call) -> Worker:
    worker_id = path_id(call, "worker id")
    local = local_statuses(call).get(worker_id)
    with call.services.models.read() as tx:
        row = worker_row(tx, worker_id)
    if row is not None:
        return (await with_memory(call, [Worker.of(row, local)]))[0]
    if local is not None:
        return Worker.unregistered(local)
    raise not_found(f"worker {worker_id!r}")
