"""Backups round-trip through the JetStream snapshot API; read models rebuilt from a restore equal the
originals; two read sides (each its own projector and LMDB) hold the same tables."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from hiscrm.facts import catalogue as c
from hiscrm.projector.runner import Projector
from hiscrm.projector.storage import Generations, ModelEnv
from hiscrm.store import streams
from hiscrm.store.broker import EmbeddedBroker
from hiscrm.store.connection import HiscrmClient, connect
from hiscrm.store.event_store import EventStore
from hiscrm.store.reader import read_raw, stream_head
from projections import MODELS
from tests.cluster.conftest import STREAMS_DIR
from tests.conftest import eventually, free_port, hiscrm_cli


async def some_history(store: EventStore, accounts: int = 5, messages: int = 300) -> None:
    await store.append_many(
        c.AccountCreated(account_id=f"acc{a}", platform="douyin", account_name=f"账号 {a}") for a in range(accounts)
    )
    await store.append_many(
        c.MessageObserved(
            account_id=f"acc{i % accounts}",
            message_id=f"m{i}",
            conversation_id=f"conv{i % 11}",
            sender=c.Person(user_id=f"fan{i % 13}"),
            direction="inbound",
            content=f"hello {i}",
            create_time_ms=1_700_000_000_000 + i,
        )
        for i in range(messages)
    )
    await store.append_many(c.ConversationRead(account_id="acc0", conversation_id=f"conv{i}") for i in range(5))


async def project_to_head(nc: HiscrmClient, root: Path) -> None:
    """Run a projector until it has applied the whole stream, then stop it (LMDB: one opener per process)."""
    projector = Projector(nc, root, MODELS)
    stop = asyncio.Event()
    task = asyncio.create_task(projector.run(stop))
    head = await stream_head(nc)
    await eventually(lambda: projector.checkpoint == head, timeout=30, what="the projector at the head")
    stop.set()
    await asyncio.wait_for(task, 10)


def tables(root: Path) -> list[tuple[str, bytes, bytes]]:
    env = ModelEnv(Generations(root).current(), MODELS, readonly=True)  # type: ignore[arg-type]
    try:
        return list(env.items())
    finally:
        env.close()


async def facts_of(nc: HiscrmClient) -> list[tuple[int, int, str, str | None, bytes]]:
    return [
        (r.seq, r.time_ms, r.subject, r.headers.get("Nats-Msg-Id") if r.headers else None, r.payload)
        async for r in read_raw(nc)
    ]


async def test_backup_then_restore_into_a_fresh_broker(broker: EmbeddedBroker, nc, store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    await some_history(store)
    data = tmp_path / "data"
    await project_to_head(nc, data / "read-models")
    backup_dir = tmp_path / "backup"
    done = hiscrm_cli("backup", str(backup_dir), "--nats-url", broker.url, "--data-dir", str(data))
    assert done.returncode == 0, done.stderr
    manifest = json.loads((backup_dir / "manifest.json").read_text())
    assert manifest["read_models"] and manifest["streams"]["HISCRM_EVENTS"]["last_seq"] == await stream_head(nc)

    # Disaster: another machine, nothing on it. Restore, then check stream and models.
    fresh = EmbeddedBroker(tmp_path / "fresh", free_port())
    await fresh.start()
    try:
        restored_data = tmp_path / "restored"
        done = hiscrm_cli("restore", str(backup_dir), "--nats-url", fresh.url, "--data-dir", str(restored_data))
        assert done.returncode == 0, done.stderr
        fresh_nc = await connect([fresh.url], "test-fresh")
        # Same facts at the same sequences with the same times: the snapshot is the server's own copy.
        assert await facts_of(fresh_nc) == await facts_of(nc)
        assert tables(restored_data / "read-models") == tables(data / "read-models")
        # The stream files apply cleanly over the restored streams (nothing drifted), and a restore
        # over existing streams is refused rather than merged.
        assert all(r["action"] == "unchanged" for r in await streams.apply(fresh_nc, STREAMS_DIR))
        again = hiscrm_cli("restore", str(backup_dir), "--nats-url", fresh.url, "--data-dir", str(restored_data))
        assert again.returncode == 2 and "exists" in again.stderr and "Traceback" not in again.stderr

        # The drill: lose the read models, rebuild them from the stream, verify.
        for path in (restored_data / "read-models").iterdir():
            if path.is_symlink() or path.is_file():
                path.unlink()
            else:
                for f in path.iterdir():
                    f.unlink()
                path.rmdir()
        rebuilt = hiscrm_cli("projections", "rebuild", "--nats-url", fresh.url, "--data-dir", str(restored_data))
        assert rebuilt.returncode == 0, rebuilt.stderr
        verified = hiscrm_cli("projections", "verify", "--nats-url", fresh.url, "--data-dir", str(restored_data))
        assert verified.returncode == 0, verified.stdout + verified.stderr
        assert tables(restored_data / "read-models") == tables(data / "read-models")
        await fresh_nc.close()
    finally:
        await fresh.stop()


async def test_two_read_sides_give_the_same_answers(broker: EmbeddedBroker, nc, store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Two API nodes, each with its own projector and LMDB, following the same stream at their own pace."""
    await some_history(store, messages=100)
    other = await connect([broker.url], "test-node-b")
    node_a, node_b = tmp_path / "a" / "read-models", tmp_path / "b" / "read-models"
    await project_to_head(nc, node_a)
    await some_history(store, accounts=7, messages=150)  # node b starts later, with more already there
    await project_to_head(other, node_b)
    await project_to_head(nc, node_a)  # and node a catches up from its checkpoint
    assert tables(node_a) == tables(node_b)
    await other.close()
