"""The projector: exactly-once application, dead letters, rebuild, verify, and SIGKILL at any point."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import lmdb

from hiscrm.bench.workload import facts
from hiscrm.config import REPO_ROOT
from hiscrm.facts import catalogue as c
from hiscrm.facts import codec
from hiscrm.lifeline import command_for as lifeline_command
from hiscrm.projector.rebuild import build_into, first_difference, rebuild
from hiscrm.projector.runner import Projector
from hiscrm.projector.storage import Generations, ModelEnv
from hiscrm.store.event_store import EventStore
from hiscrm.store.reader import stream_head
from projections import MODELS
from tests.conftest import hiscrm_cli


async def project_until_head(store: EventStore, root: Path, timeout: float = 60) -> Projector:
    projector = Projector(store.nc, root, MODELS)
    stop = asyncio.Event()
    task = asyncio.create_task(projector.run(stop))
    head = await stream_head(store.nc)
    deadline = time.monotonic() + timeout
    while projector.checkpoint < head:
        assert time.monotonic() < deadline, f"projector stuck at {projector.checkpoint} of {head}"
        await asyncio.sleep(0.02)
    stop.set()
    await asyncio.wait_for(task, 10)
    return projector


def checkpoint_of(root: Path) -> int:
    path = Generations(root).current()
    if path is None or not (path / "data.mdb").exists():
        return 0
    try:
        env = ModelEnv(path, MODELS, readonly=True)
    except Exception:
        return 0
    try:
        return env.checkpoint()
    finally:
        env.close()


async def test_a_malformed_message_is_a_dead_letter_and_the_pass_goes_on(store: EventStore, tmp_path: Path) -> None:
    await store.append(c.WorkerRegistered(worker_id="w1", platforms=["douyin"], max_accounts=5))
    await store.js.publish(
        "hiscrm.evt.worker.w2.registered", b"{this is not json", headers={codec.EVENT: "worker.registered"}
    )
    await store.js.publish("hiscrm.evt.worker.w3.registered", b"{}", headers={codec.EVENT: "worker.exploded"})
    await store.append(c.WorkerRegistered(worker_id="w4", platforms=["douyin"], max_accounts=2))
    root = tmp_path / "models"
    projector = await project_until_head(store, root)
    assert projector.checkpoint == 4
    env = ModelEnv(Generations(root).current(), MODELS, readonly=True)  # type: ignore[arg-type]
    try:
        letters = env.dead_letters()
        assert [(d.seq, d.subject) for d in letters] == [
            (2, "hiscrm.evt.worker.w2.registered"),
            (3, "hiscrm.evt.worker.w3.registered"),
        ]
        assert "worker.registered" in letters[0].reason and "unknown fact type" in letters[1].reason
        with env.read() as txn:
            tx = env.tx(txn)
            assert tx.get("workers", b"w4") is not None and tx.get("workers", b"w1") is not None
    finally:
        env.close()


async def test_incremental_projection_equals_a_rebuild(store: EventStore, tmp_path: Path) -> None:
    workload = list(facts(3000, accounts=4))
    root = tmp_path / "models"
    for chunk in range(0, len(workload), 700):
        await store.append_many(workload[chunk : chunk + 700])
        await project_until_head(store, root)
    fresh = tmp_path / "fresh"
    await build_into(store.nc, fresh, MODELS)
    live_env = ModelEnv(Generations(root).current(), MODELS, readonly=True)  # type: ignore[arg-type]
    fresh_env = ModelEnv(fresh, MODELS, readonly=True)
    try:
        assert live_env.checkpoint() == fresh_env.checkpoint() == len(workload)
        assert first_difference(live_env, fresh_env) is None
        assert sum(1 for _ in live_env.items()) > 0
    finally:
        live_env.close()
        fresh_env.close()


async def test_rebuild_swaps_atomically_and_until_seq_stops_there(store: EventStore, tmp_path: Path) -> None:
    await store.append_many(list(facts(500, accounts=2)))
    root = tmp_path / "models"
    await project_until_head(store, root)
    gens = Generations(root)
    before = gens.current()
    done = await rebuild(store.nc, gens, MODELS)
    assert done.swapped and gens.current() != before and done.checkpoint == 500
    aside = tmp_path / "aside"
    partial = await rebuild(store.nc, gens, MODELS, into=aside, until_seq=120)
    assert not partial.swapped and partial.checkpoint == 120
    assert Path(done.path) == gens.current()


def test_verify_passes_on_healthy_models_and_fails_after_tampering(broker, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "cli"
    env = {"HISCRM_NATS_URL": broker.url, "HISCRM_DATA_DIR": str(data)}
    assert hiscrm_cli("streams", "apply", env=env).returncode == 0

    async def fill() -> None:
        from hiscrm.store.connection import connect

        nc = await connect([broker.url], "fill")
        try:
            s = EventStore(nc)
            await s.append_many(list(facts(800, accounts=3)))
            await project_until_head(s, data / "read-models")
        finally:
            await nc.close()

    asyncio.run(fill())
    ok = hiscrm_cli("projections", "verify", env=env)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "match" in ok.stdout

    live = Generations(data / "read-models").current()
    raw = lmdb.open(str(live), max_dbs=64)
    with raw.begin(write=True) as txn:
        txn.put(b"w1", b"\x80tampered", db=raw.open_db(b"workers", txn=txn))
    raw.close()
    bad = hiscrm_cli("projections", "verify", env=env)
    assert bad.returncode == 1
    assert "table workers" in bad.stdout and "b'w1'" in bad.stdout

    status = hiscrm_cli("projections", "status", "--json", env=env)
    assert status.returncode == 0 and '"lag": 0' in status.stdout


def test_sigkill_at_random_points_never_loses_or_doubles_a_fact(broker, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    total = 50_000
    data = tmp_path / "crash"
    env = {**os.environ, "HISCRM_NATS_URL": broker.url, "HISCRM_DATA_DIR": str(data)}
    root = data / "read-models"

    async def fill() -> None:
        from hiscrm.store import streams
        from hiscrm.store.connection import connect

        nc = await connect([broker.url], "fill")
        try:
            await streams.apply(nc, REPO_ROOT / "streams")
            s = EventStore(nc)
            workload = list(facts(total, accounts=12))
            for i in range(0, total, 5000):
                await s.append_many(workload[i : i + 5000])
        finally:
            await nc.close()

    asyncio.run(fill())
    rng = random.Random(20261123)
    kills = 0
    checkpoints = []

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            lifeline_command(
                [sys.executable, "-m", "hiscrm", "projector", "--batch-size", str(rng.choice([100, 500, 2000]))]
            ),
            env=env,
            cwd=REPO_ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    while kills < 12:
        before = checkpoint_of(root)
        if before >= total:
            break
        target = before + rng.randint(500, total // 14)
        proc = start()
        deadline = time.monotonic() + 60
        while checkpoint_of(root) < min(target, total) and time.monotonic() < deadline:
            time.sleep(rng.uniform(0.001, 0.02))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills += 1
        checkpoints.append(checkpoint_of(root))
    assert kills >= 10, f"only {kills} kills happened before the catch-up finished: {checkpoints}"
    assert checkpoints == sorted(checkpoints) and checkpoints[0] < total

    proc = start()
    deadline = time.monotonic() + 120
    while checkpoint_of(root) < total:
        assert time.monotonic() < deadline, "projector did not finish after the kills"
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 0

    async def compare() -> str | None:
        from hiscrm.store.connection import connect

        nc = await connect([broker.url], "compare")
        try:
            await build_into(nc, tmp_path / "clean", MODELS)
        finally:
            await nc.close()
        live = ModelEnv(Generations(root).current(), MODELS, readonly=True)  # type: ignore[arg-type]
        clean = ModelEnv(tmp_path / "clean", MODELS, readonly=True)
        try:
            assert live.checkpoint() == clean.checkpoint() == total
            assert live.dead_letter_count() == 0
            return first_difference(live, clean)
        finally:
            live.close()
            clean.close()

    assert asyncio.run(compare()) is None
