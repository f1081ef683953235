"""Three nats-servers, R3 streams, 20,000 facts appended while the stream leader is killed and restarted twice.

Afterwards every acknowledged fact is in the stream exactly once, the projector (which ran through
it all) equals a clean rebuild, and the clients got their connections back by themselves.
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

from hiscrm.facts import catalogue as c
from hiscrm.facts import codec
from hiscrm.facts.codec import Outgoing
from hiscrm.facts.subjects import EVENTS_STREAM
from hiscrm.projector.rebuild import verify
from hiscrm.projector.runner import Projector
from hiscrm.projector.storage import Generations
from hiscrm.store import streams
from hiscrm.store.cluster import LoopbackCluster
from hiscrm.store.connection import HiscrmClient, connect
from hiscrm.store.event_store import AppendError, EventStore
from hiscrm.store.reader import read_raw
from projections import MODELS
from tests.cluster.conftest import STREAMS_DIR
from tests.conftest import eventually, hiscrm_cli

log = logging.getLogger(__name__)

FACTS = 20_000
BATCH = 500
ACCOUNTS = 50


def facts() -> list[Outgoing]:
    out: list[Outgoing] = []
    for a in range(ACCOUNTS):
        out.append(codec.encode(c.AccountCreated(account_id=f"acc{a}", platform="douyin", account_name=f"账号 {a}")))
    for i in range(FACTS - ACCOUNTS):
        a = i % ACCOUNTS
        out.append(
            codec.encode(
                c.MessageObserved(
                    account_id=f"acc{a}",
                    message_id=f"m{i}",
                    conversation_id=f"acc{a}-conv{i % 7}",
                    sender=c.Person(user_id=f"fan{i % 97}", name=f"粉丝 {i % 97}"),
                    direction="inbound",
                    content=f"message {i}",
                    create_time_ms=1_700_000_000_000 + i,
                )
            )
        )
    return out


async def stream_info(nc: HiscrmClient) -> dict:  # type: ignore[type-arg]
    reply = await nc.request(f"$JS.API.STREAM.INFO.{EVENTS_STREAM}", b"", timeout=5)
    return json.loads(reply.data)


async def append_all(store: EventStore, outs: list[Outgoing], acked: dict[str, int]) -> int:
    """Append in pipelined batches; what failed is sent again with the same Nats-Msg-Id until acknowledged."""
    retries = 0
    for start in range(0, len(outs), BATCH):
        pending = outs[start : start + BATCH]
        while pending:
            try:
                done = await store.append_many(pending)
            except AppendError as exc:
                done = exc.done
            failed = []
            for out, ack in zip(pending, done, strict=True):
                if ack is None:
                    failed.append(out)
                else:
                    acked[out.msg_id] = ack.seq
            if failed:
                retries += 1
                await asyncio.sleep(0.25)
            pending = failed
    return retries


async def kill_leader_and_restart(cluster: LoopbackCluster, observer: HiscrmClient) -> str:
    leader = (await stream_info(observer))["cluster"]["leader"]
    await cluster.crash_and_restart(leader)
    return leader


async def test_acknowledged_facts_survive_leader_kills(cluster: LoopbackCluster, tmp_path: Path) -> None:
    urls = ",".join(cluster.urls)
    applied = hiscrm_cli("streams", "apply", "--replicas", "3", "--nats-url", urls, "--json")
    assert applied.returncode == 0, applied.stderr
    admin = await connect(cluster.urls, "test-observer")
    # The command returns only once every stream has elected a leader: a publish right after it is answered.
    assert all((row["cluster"] or {}).get("leader") for row in await streams.status(admin, STREAMS_DIR))
    info = await stream_info(admin)
    assert info["config"]["num_replicas"] == 3
    # The writer and the projector start on the first leader, so the first kill takes their server away.
    first = cluster.node(info["cluster"]["leader"]).url
    ordered = [first, *(u for u in cluster.urls if u != first)]
    writer = await connect(ordered, "test-writer", dont_randomize=True)
    reader_nc = await connect(ordered, "test-projector", dont_randomize=True)
    projector = Projector(reader_nc, tmp_path / "read-models", MODELS)
    stop = asyncio.Event()
    projecting = asyncio.create_task(projector.run(stop))

    outs = facts()
    acked: dict[str, int] = {}
    appending = asyncio.create_task(append_all(EventStore(writer), outs, acked))
    killed = []
    for threshold in (FACTS // 4, FACTS * 3 // 5):
        await eventually(lambda t=threshold: len(acked) >= t or appending.done(), timeout=90, what="appends")
        killed.append(await kill_leader_and_restart(cluster, admin))
    retries = await asyncio.wait_for(appending, 120)
    log.info("killed %s; %d batches retried", killed, retries)
    assert len(acked) == FACTS

    # Every acknowledged fact, exactly once, at the sequence its acknowledgement named.
    head = (await stream_info(admin))["state"]["last_seq"]
    seen: dict[str, int] = {}
    async for raw in read_raw(admin):
        msg_id = raw.headers.get(codec.MSG_ID) if raw.headers else None
        assert msg_id not in seen, f"{msg_id} stored twice (seq {seen.get(msg_id)} and {raw.seq})"
        seen[msg_id] = raw.seq  # type: ignore[index]
    assert len(seen) == head == FACTS
    assert seen == acked

    # The projector kept up through the kills, and its models are what a clean rebuild makes.
    await eventually(lambda: projector.checkpoint == head, timeout=60, what="the projector at the head")
    reconnects = {"writer": writer.stats["reconnects"], "projector": reader_nc.stats["reconnects"]}
    assert writer.is_connected and reader_nc.is_connected
    stop.set()
    await asyncio.wait_for(projecting, 15)
    # LMDB opens an environment once per process: verify only after the projector let go of it.
    checkpoint, difference = await verify(admin, Generations(tmp_path / "read-models"), MODELS)
    assert (checkpoint, difference) == (head, None)

    # Nobody reconnected them: the client library did, and they stayed connected.
    assert all(n >= 1 for n in reconnects.values()), reconnects
    for nc in (writer, reader_nc, admin):
        await nc.close()
