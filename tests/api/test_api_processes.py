"""`hiscrm api --workers 2`: two processes answer on one port, each sees what the other wrote, the live feed
works from either, a busy port is refused by name, and the processes die with their parent however it dies."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from hiscrm.api.auth import Tokens
from hiscrm.lifeline import command_for as lifeline_command
from hiscrm.store.auth import AuthSetup
from hiscrm.store.broker import EmbeddedBroker, free_port

START_S = 60


def _hiscrm(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        lifeline_command([sys.executable, "-m", "hiscrm", *args]),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("HISCRM_")},
    )


def _stop(proc: subprocess.Popen[str]) -> str:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
    out, _ = proc.communicate()
    return out


def _children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _alive(pid: int) -> bool:
    try:
        state = next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("State"))
    except (FileNotFoundError, ProcessLookupError):
        return False
    return "zombie" not in state


def _process_of(url: str, admin: str) -> int | None:
    """Which group member answers a new connection (its /metrics gauge), or None while none does."""
    try:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {admin}"}, timeout=5) as client:
            found = re.search(r"^hiscrm_api_process (\d+)", client.get("/metrics").text, re.M)
    except httpx.HTTPError:
        return None
    return int(found.group(1)) if found else None


@contextmanager
def _group(broker: EmbeddedBroker, auth: AuthSetup, data: Path) -> Iterator[tuple[subprocess.Popen[str], str, str]]:
    common = ("--data-dir", str(data), "--nats-url", broker.url)
    admin = Tokens.load_or_create(data).add("admin", name="processes-test").secret
    projector = _hiscrm("projector", *common, "--nats-creds", str(auth.creds_path("projector")))
    port = free_port()
    api = _hiscrm(
        "api", *common, "--nats-creds", str(auth.creds_path("api")), "--workers", "2", "--api-port", str(port)
    )
    try:
        yield api, f"http://127.0.0.1:{port}", admin
    finally:
        _stop(api)
        _stop(projector)


def _clients_on(url: str, admin: str, wanted: dict[int, int]) -> dict[int, list[httpx.Client]]:
    """`wanted[p]` keep-alive clients on process p: new connections until each process has answered enough."""
    found: dict[int, list[httpx.Client]] = {p: [] for p in wanted}
    deadline = time.monotonic() + START_S
    while any(len(found[p]) < n for p, n in wanted.items()) and time.monotonic() < deadline:
        client = httpx.Client(
            base_url=url,
            headers={"Authorization": f"Bearer {admin}"},
            timeout=10,
            limits=httpx.Limits(max_connections=1),
        )
        try:
            member = int(re.search(r"^hiscrm_api_process (\d+)", client.get("/metrics").text, re.M).group(1))  # type: ignore[union-attr]
        except httpx.HTTPError:
            client.close()
            time.sleep(0.2)
            continue
        if len(found[member]) < wanted[member]:
            found[member].append(client)
        else:
            client.close()
    assert all(len(found[p]) == n for p, n in wanted.items()), f"processes answered: {found}"
    return found


async def test_two_processes_share_the_port_and_each_reads_what_the_other_wrote(
    broker: EmbeddedBroker, nc, nats_auth: AuthSetup, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    with _group(broker, nats_auth, tmp_path / "var") as (api, url, admin):
        clients = await asyncio.to_thread(_clients_on, url, admin, {0: 1, 1: 2})
        (writer,), (reader, follower) = clients[0], clients[1]
        try:
            feed = asyncio.create_task(asyncio.to_thread(_first_event_naming, follower, "two-procs"))
            await asyncio.sleep(1)  # the feed subscribes from the stream's head
            created = await asyncio.to_thread(
                writer.post, "/api/im/accounts", json={"user_name": "Two", "user_id": "two-procs"}
            )
            assert created.status_code == 201, created.text
            # Read-your-writes holds across processes: both read the same LMDB the projector wrote.
            seen = await asyncio.to_thread(reader.get, "/api/im/accounts/two-procs")
            assert seen.status_code == 200 and seen.json()["data"]["user_name"] == "Two"
            assert "two-procs" in await asyncio.wait_for(feed, 30)
            # Browser workers belong to no process of a group.
            local = await asyncio.to_thread(writer.post, "/api/v1/workers/w9/start", json={})
            assert local.status_code == 503, local.text
        finally:
            for client in (writer, reader, follower):
                client.close()
    assert api.returncode == 0, "SIGTERM did not stop the group cleanly"


def _first_event_naming(client: httpx.Client, text: str) -> str:
    with client.stream("GET", "/api/im/events", timeout=30) as events:
        for line in events.iter_lines():
            if line.startswith("data:") and text in line:
                return line
    return ""


async def test_the_processes_die_with_their_parent_even_on_sigkill(
    broker: EmbeddedBroker, nc, nats_auth: AuthSetup, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    with _group(broker, nats_auth, tmp_path / "var") as (api, url, admin):
        deadline = time.monotonic() + START_S
        while await asyncio.to_thread(_process_of, url, admin) is None:
            assert time.monotonic() < deadline, "the API group did not answer"
            await asyncio.sleep(0.3)
        members = _children(api.pid)
        assert len(members) == 2
        api.kill()
        api.wait()
        deadline = time.monotonic() + 20
        while any(_alive(pid) for pid in members):
            assert time.monotonic() < deadline, "API processes outlived their parent's SIGKILL"
            await asyncio.sleep(0.2)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", int(url.rsplit(":", 1)[1])))  # the port is free again


def test_a_busy_port_is_refused_by_name(tmp_path: Path) -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        proc = _hiscrm("api", "--data-dir", str(tmp_path), "--workers", "2", "--api-port", str(port))
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert f"127.0.0.1:{port}" in out and "Traceback" not in out
