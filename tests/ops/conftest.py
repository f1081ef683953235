"""A live stack for the runbook's recipes, and a shell that runs them with the real NATS CLI.

The single node is what `hiscrm up` runs as far as the CLI can see: the embedded broker with the users
and contexts `hiscrm auth` writes, its monitoring port, the streams applied, the coordinator and a
worker agent connected as their own users (the worker's browser part is not needed for the buckets
and facts the recipes read), and facts appended as the admin. The cluster is the 3-node one of the
cluster tests (hiscrm/store/cluster.py), with the same users.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from hiscrm.config import REPO_ROOT
from hiscrm.coordinator.service import Coordinator
from hiscrm.facts import catalogue as c
from hiscrm.secrets.sealing import new_key
from hiscrm.store import streams
from hiscrm.store.auth import AuthSetup, ensure_auth
from hiscrm.store.broker import EmbeddedBroker, free_port
from hiscrm.store.cluster import LoopbackCluster
from hiscrm.store.connection import HiscrmClient, connect
from hiscrm.store.event_store import EventStore
from hiscrm.worker.agent import WorkerAgent
from tests.cluster.conftest import STREAMS_DIR
from tests.cluster.test_permissions import Recorder
from tests.conftest import eventually
from tests.ops import runbook

CLI_VERSION = "v0.5.0"
TOOLS_BIN = REPO_ROOT / ".tools" / "bin"
HOW_TO_GET_THE_CLI = (
    "the NATS CLI is not installed: `make test` builds it into .tools/bin when Go is present "
    f"(go install github.com/nats-io/natscli/nats@{CLI_VERSION}); or put a release binary from "
    "https://github.com/nats-io/natscli/releases on PATH as `nats`"
)
ACCOUNT, WORKER = "acc1", "w1"
COMMAND_TIMEOUT_S = 60.0
FAN = c.Person(user_id="42", name="fan")


def nats_cli() -> Path | None:
    built = TOOLS_BIN / "nats"
    if built.exists():
        return built
    found = shutil.which("nats")
    return Path(found) if found else None


@dataclass(frozen=True)
class Output:
    command: str
    returncode: int
    text: str  # stdout and stderr as the operator's terminal shows them

    def __str__(self) -> str:
        return f"$ {self.command}\n(exit {self.returncode})\n{self.text}"


@dataclass
class Shell:
    """Runs recipes as the runbook tells an operator to: its exports set, its placeholders filled."""

    cwd: Path
    values: dict[str, str]
    env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def for_runbook(cls, home: Path, values: dict[str, str]) -> Shell:
        cli = nats_cli()
        assert cli is not None, HOW_TO_GET_THE_CLI
        home.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "HOME": str(home), "PATH": f"{cli.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
        env.pop("NATS_URL", None)
        env.update({name: runbook.fill(value, values) for name, value in runbook.exports().items()})
        return cls(REPO_ROOT, values, env)

    def fill(self, command: str) -> str:
        return runbook.fill(command, self.values)

    async def start(self, command: str) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_shell(
            self.fill(command),
            cwd=self.cwd,
            env=self.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )

    async def run(self, command: str, timeout: float = COMMAND_TIMEOUT_S) -> Output:
        proc = await self.start(command)
        try:
            out, _ = await asyncio.wait_for(proc.communicate(), timeout)
        except TimeoutError:
            stop(proc)
            out, _ = await proc.communicate()
            return Output(self.fill(command), -1, out.decode(errors="replace") + f"\n(killed after {timeout} s)")
        return Output(self.fill(command), proc.returncode or 0, out.decode(errors="replace"))

    async def run_while(
        self, command: str, act: Callable[[], object], done: Callable[[str], bool], timeout: float = COMMAND_TIMEOUT_S
    ) -> Output:
        """Starts `command`, calls `act` (awaitable) every 0.2 s until the command exits or its output
        satisfies `done`, then stops it with SIGINT (Ctrl-C) if it still runs."""
        proc = await self.start(command)
        assert proc.stdout is not None
        chunks: list[bytes] = []

        async def read() -> None:
            assert proc.stdout is not None
            while chunk := await proc.stdout.read(65536):
                chunks.append(chunk)

        reader = asyncio.create_task(read())
        deadline = time.monotonic() + timeout
        try:
            while proc.returncode is None and time.monotonic() < deadline:
                if done(b"".join(chunks).decode(errors="replace")):
                    break
                result = act()
                if asyncio.iscoroutine(result):
                    await result
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(proc.wait()), 0.2)
        finally:
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGINT)
                try:
                    await asyncio.wait_for(proc.wait(), 10)
                except TimeoutError:
                    stop(proc)
                    await proc.wait()
            await reader
        return Output(self.fill(command), proc.returncode or 0, b"".join(chunks).decode(errors="replace"))


def stop(proc: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


@dataclass
class Live:
    """The single-node stack, the facts in it, and the shell to run recipes against it."""

    data_dir: Path
    broker: EmbeddedBroker
    auth: AuthSetup
    admin: HiscrmClient
    store: EventStore
    shell: Shell
    seq: int  # the first inbox fact of ACCOUNT: what SEQ stands for
    fed: int = 0
    notes: dict[str, Any] = field(default_factory=dict)  # what one recipe's check leaves for a later one's

    async def feed(self, subject_kind: str = "inbox") -> None:
        """One more fact, of the kind a live recipe follows."""
        self.fed += 1
        n = self.fed
        if subject_kind == "reply":
            await self.store.append(c.ReplyFailed(reply_id=f"live-r{n}", account_id=ACCOUNT, reason="test", code="t"))
        else:
            await self.store.append(c.ConversationRead(account_id=ACCOUNT, conversation_id=f"live-c{n}"))


async def _inbox_history(store: EventStore) -> int:
    """ACCOUNT's observations, a pass, IM-state changes and a reply; returns the first inbox sequence."""
    first = None
    for i in range(6):
        appended = await store.append(
            c.CommentObserved(
                account_id=ACCOUNT, comment_id=f"cm{i}", content_id="v1", text=f"hi {i}", author=FAN, create_time_ms=i
            )
        )
        first = first or appended.seq
    counts = c.PassCounts(comments=6)
    await store.append(
        c.SnapshotSynced(
            account_id=ACCOUNT,
            worker_id=WORKER,
            pass_no=1,
            counts=counts,
            new_counts=counts,
            duration_ms=5,
            digest="d1gest",
        )
    )
    await store.append(c.ConversationRead(account_id=ACCOUNT, conversation_id="conv1"))
    await store.append(
        c.ReplyRequested(
            reply_id="r1", account_id=ACCOUNT, request_id="q1", target_type="comment", target_id="cm1", content="thanks"
        )
    )
    await store.append(c.ReplySent(reply_id="r1", account_id=ACCOUNT, platform_id="p1", worker_id=WORKER, sent_at_ms=1))
    assert first is not None
    return first


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[Live]:
    if nats_cli() is None:
        pytest.skip(HOW_TO_GET_THE_CLI)
    data = tmp_path / "var"
    port, monitor = free_port(), free_port()
    broker = EmbeddedBroker(
        data, port, monitor_port=monitor, auth=ensure_auth(data, [WORKER], [f"nats://127.0.0.1:{port}"])
    )
    assert broker.auth is not None
    await broker.start()
    stop_event = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []
    clients: list[HiscrmClient] = []
    try:
        for user in ("admin", "coordinator", f"worker-{WORKER}"):
            clients.append(await connect([broker.url], f"ops-{user}", credentials=broker.auth.role(user)))
        admin, coordinator_nc, worker_nc = clients
        await streams.apply(admin, STREAMS_DIR)
        coordinator = Coordinator(coordinator_nc, new_key(), coordinator_id="ops-c1", lease_ttl_s=3, lease_renew_s=1)
        handler = Recorder()
        agent = WorkerAgent(worker_nc, WORKER, platforms=["douyin"], max_accounts=10, handler=handler)
        tasks += [asyncio.create_task(coordinator.run(stop_event)), asyncio.create_task(agent.run(stop_event))]
        store = EventStore(admin)
        await store.append(c.AccountCreated(account_id=ACCOUNT, platform="douyin", account_name="one"))
        await eventually(lambda: ACCOUNT in handler.configs, timeout=30, what=f"{ACCOUNT} assigned to {WORKER}")
        seq = await _inbox_history(store)
        values = {
            runbook.DATA_DIR: str(data.resolve()),
            runbook.BACKUPS: str(tmp_path / "backups"),
            runbook.MONITOR: f"127.0.0.1:{monitor}",
            "ACCOUNT": ACCOUNT,
            "WORKER": WORKER,
            "SEQ": str(seq),
        }
        shell = Shell.for_runbook(tmp_path / "home", values)
        yield Live(data, broker, broker.auth, admin, store, shell, seq)
    finally:
        stop_event.set()
        if tasks:
            await asyncio.wait(tasks, timeout=10)
        for nc in clients:
            await nc.close()
        await broker.stop()


@dataclass
class LiveCluster:
    cluster: LoopbackCluster
    admin: HiscrmClient
    store: EventStore
    shell: Shell


@pytest.fixture
async def live_cluster(tmp_path: Path) -> AsyncIterator[LiveCluster]:
    if nats_cli() is None:
        pytest.skip(HOW_TO_GET_THE_CLI)
    root = tmp_path / "cluster"
    cluster = LoopbackCluster(root, auth=ensure_auth(root))
    # The contexts name every node, as `hiscrm auth --nats-url n1,n2,n3` writes them.
    auth = ensure_auth(root, urls=cluster.urls)
    await cluster.start()
    admin: HiscrmClient | None = None
    try:
        admin = await connect(cluster.urls, "ops-admin", credentials=auth.role("admin"))
        await streams.apply(admin, STREAMS_DIR, replicas=3)
        store = EventStore(admin)
        await store.append(c.AccountCreated(account_id=ACCOUNT, platform="douyin", account_name="one"))
        await _inbox_history(store)
        values = {runbook.DATA_DIR: str(root.resolve()), "ACCOUNT": ACCOUNT, "WORKER": WORKER}
        yield LiveCluster(cluster, admin, store, Shell.for_runbook(tmp_path / "home", values))
    finally:
        if admin is not None:
            await admin.close()
        await cluster.stop()
