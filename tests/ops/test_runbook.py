"""Every `nats` and `curl` recipe in ops/runbook.md, run with the real NATS CLI against a live stack.

The runbook is the single source: the recipes are read from it, placeholders filled, and run in its
order; each has a check here of what the runbook says it shows. A recipe edited there without its
check here (or a check left for a recipe that is gone) fails `test_every_recipe_has_its_check`.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from nats.js.errors import NotFoundError

from hiscrm.facts.subjects import EVENTS_STREAM
from hiscrm.store import reader
from tests.ops import runbook
from tests.ops.conftest import ACCOUNT, WORKER, Live, LiveCluster, Output

Stack = Live | LiveCluster
Check = Callable[[Any, Output], Awaitable[None]]
COORDINATOR = "ops-c1"  # the coordinator id of the live stack (tests/ops/conftest.py)

_RECEIVED_JS = re.compile(r"Received JetStream message: stream: HISCRM_EVENTS seq: (\d+) / .*? subject: (\S+)")
_PULLED = re.compile(r"subj: (\S+) / .*? str seq: (\d+)")


@dataclass(frozen=True)
class Spec:
    check: Check
    follow: str | None = None  # a live `nats sub`: facts of this kind are appended until it has its count
    watch_for: str | None = None  # a watch: stopped (Ctrl-C) once its output shows this


# ---------------------------------------------------------------------------------------------- checks


async def _head(stack: Stack) -> int:
    return await reader.stream_head(stack.admin)


async def _expand(stack: Stack, text: str) -> str:
    values = {
        "ACCOUNT": ACCOUNT,
        "WORKER": WORKER,
        "COORDINATOR": COORDINATOR,
        "SEQ": stack.shell.values.get("SEQ", ""),
        "HEAD": str(await _head(stack)),
    }
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], text)


def shows(*parts: str) -> Check:
    async def check(stack: Stack, out: Output) -> None:
        for part in parts:
            expected = await _expand(stack, part)
            assert expected in out.text, f"{expected!r} not shown by\n{out}"

    return check


async def _stream_facts(stack: Stack, subject: str, from_seq: int | None = None) -> list[tuple[int, str]]:
    return [(raw.seq, raw.subject) async for raw in reader.read_raw(stack.admin, subject=subject, from_seq=from_seq)]


def replays(subject: str, from_seq: bool = False) -> Check:
    """A `nats sub --stream … -T`: exactly the stream's facts on `subject` (from SEQ), in order, then exit."""

    async def check(stack: Live, out: Output) -> None:
        expected = await _stream_facts(stack, await _expand(stack, subject), stack.seq if from_seq else None)
        got = [(int(seq), subj) for seq, subj in _RECEIVED_JS.findall(out.text)]
        assert got and got == expected, f"expected {expected}\n{out}"
        assert "Hiscrm-Event:" in out.text and "Nats-Msg-Id:" in out.text, out

    return check


def pulls(subject: str, count: int, from_seq: bool) -> Check:
    """A `nats consumer next --count N`: the next N facts on `subject` from where the consumer starts."""

    async def check(stack: Live, out: Output) -> None:
        facts = await _stream_facts(stack, await _expand(stack, subject), stack.seq if from_seq else None)
        got = [(int(seq), subj) for subj, seq in _PULLED.findall(out.text)]
        assert got == facts[:count], f"expected {facts[:count]}\n{out}"

    return check


def follows(subject_prefix: str, count: int) -> Check:
    async def check(stack: Live, out: Output) -> None:
        got = re.findall(rf'Received on "({re.escape(subject_prefix)}[^"]*)"', out.text)
        assert len(got) == count, out
        assert "Hiscrm-Event:" in out.text, out

    return check


def consumer_removed(name: str) -> Check:
    async def check(stack: Live, out: Output) -> None:
        with pytest.raises(NotFoundError):
            await stack.admin.jetstream().consumer_info(EVENTS_STREAM, name)

    return check


def _json(out: Output) -> dict[str, Any]:
    value, _ = json.JSONDecoder().raw_decode(out.text.strip())
    return value


async def _worker_connections(stack: Live, out: Output) -> None:
    connections = _json(out)["data"]["connections"]
    assert connections and {c["authorized_user"] for c in connections} == {f"worker-{WORKER}"}, out


async def _every_connection_with_its_user(stack: Live, out: Output) -> None:
    users = {c.get("authorized_user") for c in _json(out)["connections"]}
    assert {"admin", "coordinator", f"worker-{WORKER}"} <= users, out


async def _server_vars(stack: Live, out: Output) -> None:
    varz = _json(out)
    assert varz["server_name"] == "hiscrm" and varz["http_port"] == stack.broker.monitor_port, out
    assert varz["host"] == "127.0.0.1" and "jetstream" in varz, out


async def _jetstream_vars(stack: Live, out: Output) -> None:
    jsz = _json(out)
    assert jsz["streams"] >= 2 and jsz["messages"] >= await _head(stack), out


async def _backed_up(stack: Live, out: Output) -> None:
    assert 'for stream "HISCRM_EVENTS"' in out.text, out
    info = await stack.admin.jetstream().stream_info(EVENTS_STREAM)
    stack.notes["backed_up"] = (info.state.last_seq, info.state.messages)


async def _stream_removed(stack: Live, out: Output) -> None:
    with pytest.raises(NotFoundError):
        await stack.admin.jetstream().stream_info(EVENTS_STREAM)


async def _restored(stack: Live, out: Output) -> None:
    assert 'Restored stream "HISCRM_EVENTS"' in out.text, out
    info = await stack.admin.jetstream().stream_info(EVENTS_STREAM)
    assert (info.state.last_seq, info.state.messages) == stack.notes["backed_up"], out
    first = await stack.admin.jetstream().get_msg(EVENTS_STREAM, seq=stack.seq)
    assert first.subject == f"hiscrm.evt.inbox.{ACCOUNT}.comment_observed", first


async def _stepped_down(stack: LiveCluster, out: Output) -> None:
    before = re.search(r'Requesting leader step down of "(\w+)"', out.text)
    after = re.search(r'New leader elected "(\w+)"', out.text)
    assert before and after and before.group(1) != after.group(1), out
    info = await stack.admin.jetstream().stream_info(EVENTS_STREAM)
    assert info.cluster is not None and info.cluster.leader == after.group(1), info.cluster


STREAM_INFO = shows("Subjects: hiscrm.evt.>", "Messages: {HEAD}", "Last Sequence: {HEAD} @")

CHECKS: dict[str, Spec] = {
    "nats context ls": Spec(shows("hiscrm-admin", "hiscrm-sys", "hiscrm-coordinator", "hiscrm-worker-{WORKER}")),
    # Streams and buckets
    "nats stream ls": Spec(shows("HISCRM_EVENTS", "HISCRM_COMMANDS")),
    "nats stream info HISCRM_EVENTS": Spec(STREAM_INFO),
    "nats stream add --config streams/HISCRM_EVENTS.json": Spec(STREAM_INFO),
    # One account's history
    "nats sub 'hiscrm.evt.inbox.ACCOUNT.*' --stream HISCRM_EVENTS --all -T": Spec(
        replays("hiscrm.evt.inbox.{ACCOUNT}.*")
    ),
    "nats sub 'hiscrm.evt.account.ACCOUNT.*' --stream HISCRM_EVENTS --all -T": Spec(
        replays("hiscrm.evt.account.{ACCOUNT}.*")
    ),
    "nats stream get HISCRM_EVENTS --last-for 'hiscrm.evt.inbox.ACCOUNT.snapshot_synced'": Spec(
        shows("on Subject hiscrm.evt.inbox.{ACCOUNT}.snapshot_synced", "Hiscrm-Event: inbox.snapshot_synced", "digest")
    ),
    # Follow a subject live
    "nats sub 'hiscrm.evt.>' --count 10": Spec(follows("hiscrm.evt.", 10), follow="inbox"),
    "nats sub 'hiscrm.evt.reply.*.*' --count 3": Spec(follows("hiscrm.evt.reply.", 3), follow="reply"),
    # Replay from a sequence or a time
    "nats stream get HISCRM_EVENTS SEQ": Spec(
        shows("HISCRM_EVENTS#{SEQ} ", "on Subject hiscrm.evt.inbox.{ACCOUNT}.comment_observed", "Nats-Msg-Id:")
    ),
    "nats sub 'hiscrm.evt.>' --stream HISCRM_EVENTS --start-sequence SEQ -T": Spec(
        replays("hiscrm.evt.>", from_seq=True)
    ),
    "nats sub 'hiscrm.evt.>' --stream HISCRM_EVENTS --since 2h -T": Spec(replays("hiscrm.evt.>")),
    "nats consumer add HISCRM_EVENTS replay --pull --deliver SEQ --ack none --replay instant --defaults": Spec(
        shows("Name: replay", "Deliver Policy: From Sequence {SEQ}", "Ack Policy: None")
    ),
    "nats consumer next HISCRM_EVENTS replay --count 5": Spec(pulls("hiscrm.evt.>", 5, from_seq=True)),
    "nats consumer add HISCRM_EVENTS since --pull --deliver 2h --ack none --defaults": Spec(
        shows("Name: since", "Deliver Policy: Since ", "Ack Policy: None")
    ),
    "nats consumer next HISCRM_EVENTS since --count 5": Spec(pulls("hiscrm.evt.>", 5, from_seq=False)),
    "nats consumer add HISCRM_EVENTS acc1 --pull --deliver SEQ --filter 'hiscrm.evt.inbox.ACCOUNT.*' --ack none "
    "--defaults": Spec(shows("Filter Subject: hiscrm.evt.inbox.{ACCOUNT}.*", "Deliver Policy: From Sequence {SEQ}")),
    "nats consumer next HISCRM_EVENTS acc1 --count 2": Spec(pulls("hiscrm.evt.inbox.{ACCOUNT}.*", 2, from_seq=True)),
    "nats consumer ls HISCRM_EVENTS": Spec(shows("│ replay ", "│ since ", "│ acc1 ")),
    "nats consumer rm HISCRM_EVENTS replay -f": Spec(consumer_removed("replay")),
    "nats consumer rm HISCRM_EVENTS since -f": Spec(consumer_removed("since")),
    "nats consumer rm HISCRM_EVENTS acc1 -f": Spec(consumer_removed("acc1")),
    # Config and presence buckets
    "nats kv ls": Spec(shows("hiscrm_config", "hiscrm_presence", "hiscrm_keys", "hiscrm_proxies")),
    "nats kv ls hiscrm_config": Spec(shows("{WORKER}.{ACCOUNT}")),
    "nats kv get hiscrm_config WORKER.ACCOUNT": Spec(
        shows("hiscrm_config > {WORKER}.{ACCOUNT} revision", '"account_id":"{ACCOUNT}"')
    ),
    "nats kv watch hiscrm_config 'WORKER.*'": Spec(
        shows("PUT hiscrm_config > {WORKER}.{ACCOUNT}:"), watch_for=f"hiscrm_config > {WORKER}.{ACCOUNT}:"
    ),
    "nats kv watch hiscrm_presence": Spec(shows("PUT hiscrm_presence > {WORKER}:"), watch_for=f"> {WORKER}:"),
    "nats kv get hiscrm_presence _coordinator": Spec(shows('"holder":"{COORDINATOR}"')),
    # A cluster
    "nats stream report": Spec(shows("Stream Report", "HISCRM_EVENTS", "n1", "n2", "n3", "*")),
    "nats --context hiscrm-sys server report jetstream": Spec(
        shows("JetStream Summary", "n1", "n2", "n3", "RAFT Meta Group", "yes")
    ),
    "nats --context hiscrm-sys server list": Spec(shows("Server Overview", "n1", "n2", "n3", "Cluster Overview")),
    "nats stream cluster step-down HISCRM_EVENTS": Spec(_stepped_down),
    # Users and permissions
    "nats --context hiscrm-sys server request connections --filter-user worker-WORKER": Spec(_worker_connections),
    "curl -s 'http://127.0.0.1:8222/connz?auth=1'": Spec(_every_connection_with_its_user),
    "curl -s http://127.0.0.1:8222/varz": Spec(_server_vars),
    "curl -s http://127.0.0.1:8222/jsz": Spec(_jetstream_vars),
    # Backups
    "nats backup stream HISCRM_EVENTS /backups/cli/events --no-consumers": Spec(_backed_up),
    "nats stream rm HISCRM_EVENTS -f": Spec(_stream_removed),
    "nats backup restore stream /backups/cli/events": Spec(_restored),
}


# ---------------------------------------------------------------------------------------------- running


async def run_recipe(stack: Stack, recipe: runbook.Recipe) -> Output:
    spec = CHECKS[recipe.command]
    shell = stack.shell
    if spec.follow is not None:
        kind = spec.follow
        out = await shell.run_while(recipe.command, lambda: stack.feed(kind), lambda _: False)
    elif spec.watch_for is not None:
        marker = spec.watch_for
        out = await shell.run_while(recipe.command, lambda: None, lambda text: marker in text)
    else:
        out = await shell.run(recipe.command)
    if spec.watch_for is None:
        assert out.returncode == 0, f"the recipe failed:\n{out}"
    await spec.check(stack, out)
    return out


def test_every_recipe_has_its_check() -> None:
    commands = [r.command for r in runbook.recipes()]
    missing = [c for c in commands if c not in CHECKS]
    stale = [c for c in CHECKS if c not in commands]
    assert not missing, f"recipes in ops/runbook.md without a check in {__file__}: {missing}"
    assert not stale, f"checks for recipes no longer in ops/runbook.md: {stale}"
    assert runbook.exports().get("NATS_CONTEXT") == "hiscrm-admin"


def test_placeholders_are_filled_as_whole_words() -> None:
    values = {"ACCOUNT": "acc1", "SEQ": "42", runbook.DATA_DIR: "/tmp/x"}
    assert runbook.fill("nats stream get HISCRM_EVENTS SEQ", values) == "nats stream get HISCRM_EVENTS 42"
    assert runbook.fill("'hiscrm.evt.inbox.ACCOUNT.*'", values) == "'hiscrm.evt.inbox.acc1.*'"
    assert runbook.fill("/var/lib/hiscrm/auth", values) == "/tmp/x/auth"


async def test_the_single_node_recipes_do_what_the_runbook_says(live: Live) -> None:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed (the runbook reads the monitoring port with it)")
    ran = [await run_recipe(live, r) for r in runbook.recipes() if not r.on_cluster]
    assert len(ran) == len([c for c in runbook.recipes() if not c.on_cluster])
    # What the recipes made for themselves they removed; HisCRM's own readers are not theirs to remove.
    names = {info.name for info in await live.admin.jetstream().consumers_info(EVENTS_STREAM)}
    assert not names & {"replay", "since", "acc1"}, names


async def test_the_cluster_recipes_do_what_the_runbook_says(live_cluster: LiveCluster) -> None:
    for recipe in runbook.recipes():
        if recipe.on_cluster:
            await run_recipe(live_cluster, recipe)
