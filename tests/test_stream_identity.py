"""Read models know which HISCRM_EVENTS they were built from (issue 13, finding 5).

A stream deleted and made again, or a store lost while the read models are kept, counts from 1 again;
a projector that resumed at its old checkpoint + 1 skipped every new fact up to it, while status
showed lag 0 and /health ok. Now the projector refuses (or, as `up` runs it, rebuilds), the API's
/health says so, and `projections status` exits 1.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import msgspec

from hiscrm.config import REPO_ROOT
from hiscrm.facts import catalogue as c
from hiscrm.facts.subjects import EVENTS_STREAM
from hiscrm.lifeline import command_for as lifeline_command
from hiscrm.projector.live import LiveModels
from hiscrm.projector.origin import stream_now
from hiscrm.projector.rebuild import rebuild
from hiscrm.projector.runner import Projector
from hiscrm.projector.storage import Generations
from hiscrm.store import streams
from hiscrm.store.auth import Credentials
from hiscrm.store.broker import EmbeddedBroker, free_port
from hiscrm.store.connection import HiscrmClient, connect
from hiscrm.store.event_store import EventStore
from projections import MODELS, workers
from tests.conftest import STREAMS_DIR, eventually, hiscrm_cli


def registered(prefix: str, n: int) -> list[c.WorkerRegistered]:
    return [c.WorkerRegistered(worker_id=f"{prefix}{i}", platforms=["douyin"], max_accounts=1) for i in range(n)]


def worker_ids(root: Path) -> set[str]:
    live = LiveModels(root, MODELS)  # shares the environment of a projector running in this process
    try:
        with live.read() as tx:
            return {row.worker_id for _, row in tx.scan(workers.TABLE, b"", workers.WorkerRow)}
    finally:
        live.close()


async def recreate_stream(nc: HiscrmClient) -> None:
    deleted = await streams.api(nc, f"STREAM.DELETE.{EVENTS_STREAM}")
    assert deleted.get("success"), deleted
    await streams.apply(nc, STREAMS_DIR)


async def test_a_recreated_stream_is_refused_reported_and_taken_up_after_a_rebuild(
    store: EventStore, broker: EmbeddedBroker, tmp_path: Path
) -> None:
    data = tmp_path / "var"
    root = data / "read-models"
    await store.append_many(registered("old-", 40))
    projector = Projector(store.nc, root, MODELS, check_every_s=0.1)
    stop = asyncio.Event()
    task = asyncio.create_task(projector.run(stop))
    live = LiveModels(root, MODELS, store.nc, check_every_s=0.1)
    try:
        await eventually(lambda: projector.checkpoint == 40, "the projector at the head", 30)
        assert await live.other_stream() is None

        await recreate_stream(store.nc)
        fresh = await store.append_many(registered("new-", 3))  # sequences 1..3, below the old checkpoint
        assert [a.seq for a in fresh] == [1, 2, 3]
        problem = await eventually(lambda: projector.other_stream, "the projector notices the other stream", 30)
        assert "another HISCRM_EVENTS" in problem
        assert await live.other_stream() is not None
        assert not await live.wait_for(fresh[-1].seq, 0.5)  # a write through the API is 202, not "visible"
        status = hiscrm_cli("projections", "status", "--json", "--nats-url", broker.url, "--data-dir", str(data))
        assert status.returncode == 1, status.stderr
        report = json.loads(status.stdout)
        assert report["stream_ok"] is False and "another HISCRM_EVENTS" in report["stream_problem"]
        await asyncio.sleep(0.5)
        assert projector.checkpoint == 40 and worker_ids(root) == {f"old-{i}" for i in range(40)}  # nothing applied

        await rebuild(store.nc, Generations(root), MODELS)  # what `hiscrm projections rebuild` does
        await eventually(lambda: projector.other_stream is None and projector.checkpoint == 3, "taken up again", 30)
        await store.append_many(registered("newer-", 2))
        await eventually(lambda: projector.checkpoint == 5, "new facts applied", 30)
        assert worker_ids(root) == {"new-0", "new-1", "new-2", "newer-0", "newer-1"}
        assert await live.other_stream() is None and await live.wait_for(5, 1)
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        live.close()


async def test_a_lost_store_with_kept_read_models_is_rebuilt_by_a_projector_that_may(tmp_path: Path) -> None:
    data = tmp_path / "var"
    root = data / "read-models"

    async def run_projector(nc: HiscrmClient, settled: Callable[[Projector], object], **options: Any) -> Projector:
        projector = Projector(nc, root, MODELS, check_every_s=0.1, **options)
        stop = asyncio.Event()
        task = asyncio.create_task(projector.run(stop))
        try:
            await eventually(lambda: settled(projector), "the projector settles", 60)
            await asyncio.sleep(0.3)
        finally:
            stop.set()
            await asyncio.wait_for(task, 10)
        return projector

    port = free_port()
    async with EmbeddedBroker(data, port) as broker:
        nc = await connect([broker.url], "test")
        await streams.apply(nc, STREAMS_DIR)
        await EventStore(nc).append_many(registered("old-", 25))
        before = await stream_now(nc)
        assert (await run_projector(nc, lambda p: p.checkpoint == 25)).other_stream is None
        await nc.close()
    shutil.rmtree(data / "nats")  # the broker's store is gone; the read models are kept
    async with EmbeddedBroker(data, port) as broker:
        nc = await connect([broker.url], "test")
        try:
            await streams.apply(nc, STREAMS_DIR)
            await EventStore(nc).append_many(registered("new-", 4))
            assert (await stream_now(nc)).identity != before.identity
            refused = await run_projector(nc, lambda p: p.other_stream)
            assert refused.checkpoint == 0 and worker_ids(root) == {f"old-{i}" for i in range(25)}
            rebuilt = await run_projector(
                nc, lambda p: p.checkpoint == 4 and p.other_stream is None, rebuild_on_other_stream=True
            )
            assert rebuilt.other_stream is None
            assert worker_ids(root) == {f"new-{i}" for i in range(4)}
        finally:
            await nc.close()


async def test_up_rebuilds_when_the_stream_is_recreated_under_it_and_skips_nothing(tmp_path: Path) -> None:
    """The whole stack (`hiscrm up`: projector and API in one process): accounts created after the stream
    is made again all appear, none is lost below the old checkpoint, and the log says why it rebuilt."""
    data = tmp_path / "var"
    api_port, nats_port = free_port(), free_port()
    log_path = tmp_path / "up.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HISCRM_")}
    with log_path.open("wb") as log:
        up = await asyncio.create_subprocess_exec(
            *lifeline_command([
                sys.executable, "-m", "hiscrm", "up", "--no-demo", "--no-worker", "--data-dir", str(data),
                "--api-port", str(api_port), "--nats-port", str(nats_port),
            ]),
            stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO_ROOT,
        )  # fmt: skip
    try:
        token = data / "admin.token"
        await eventually(token.exists, "up writes the admin token", 60)
        headers = {"Authorization": f"Bearer {token.read_text().strip()}"}
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{api_port}", headers=headers, timeout=10) as api:

            async def healthy() -> bool:
                try:
                    return (await api.get("/health")).json()["status"] == "ok"
                except httpx.TransportError:
                    return False

            async def accounts() -> set[str]:
                return {a["id"] for a in (await api.get("/api/v1/accounts")).json()["data"]}

            async def create(account_id: str) -> int:
                body = {"platform": "douyin", "account_name": account_id, "account_id": account_id}
                return (await api.post("/api/v1/accounts", json=body)).status_code

            await eventually(healthy, "the API is up", 60)
            before = {f"before-{i}" for i in range(6)}
            assert {await create(a) for a in sorted(before)} == {201}
            assert await accounts() == before

            creds = msgspec.json.decode((data / "auth" / "creds" / "admin.json").read_bytes(), type=Credentials)
            admin = await connect([f"nats://127.0.0.1:{nats_port}"], "test-admin", credentials=creds)
            try:
                await recreate_stream(admin)
            finally:
                await admin.close()
            after = {f"after-{i}" for i in range(3)}
            assert {await create(a) for a in sorted(after)} <= {201, 202}  # 202 while the models are rebuilt

            async def only_the_new_stream() -> bool:
                return await healthy() and await accounts() == after

            await eventually(only_the_new_stream, "the rebuilt models show the new stream's accounts", 60)
            assert await create("later") == 201
            assert await accounts() == {*after, "later"}
        assert "rebuilding the read models from the stream there now" in log_path.read_text()
        verified = hiscrm_cli(
            "projections", "verify", "--data-dir", str(data), "--nats-url", f"nats://127.0.0.1:{nats_port}",
            env={"HISCRM_NATS_CREDS": str(data / "auth" / "creds" / "admin.json")},
        )  # fmt: skip
        assert verified.returncode == 0, verified.stdout + verified.stderr
    finally:
        if up.returncode is None:
            up.send_signal(signal.SIGINT)
        await asyncio.wait_for(up.wait(), 60)
