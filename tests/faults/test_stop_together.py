"""systemd stopping the unit: SIGTERM to `up` and to its broker at the same moment, in either order.
The stop is clean whichever dies first: exit 0, no traceback, nothing left running, and the read models'
checkpoint is the one the projector had reached. A projector stopped while its broker no longer answers
returns at once instead of waiting out a request (and, where that request was not caught, raising it)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from hiscrm.cli.projections_cmd import status_of
from hiscrm.facts.catalogue import AccountCreated
from hiscrm.procs import command_line
from hiscrm.projector.origin import stream_now
from hiscrm.projector.runner import Projector
from hiscrm.store.broker import EmbeddedBroker
from hiscrm.store.connection import HiscrmClient
from hiscrm.store.event_store import EventStore
from projections import MODELS
from tests.conftest import eventually
from tests.faults.up_process import Up, hiscrm, kill_everything, processes_of, wait_until


@pytest.fixture
def data(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "var"
    yield path
    kill_everything(path)


def caught_up(up: Up) -> dict[str, int] | None:
    done = hiscrm("projections", "status", "--json", *up.nats_args)
    assert done.returncode == 0, done.stderr
    status = json.loads(done.stdout)
    return status if status["checkpoint"] > 0 else None


@pytest.mark.parametrize("first", ["broker", "up"])
def test_a_unit_terminated_whole_stops_cleanly(data: Path, first: str) -> None:
    """SIGTERM to every process of the stack at once (systemd's KillMode=control-group): up, the broker,
    the worker, its driver and Chromium, the broker or up first."""
    up = Up(data)
    try:
        up.wait_for("Ctrl-C stops everything")
        reached = wait_until(lambda: caught_up(up), "the projector applies the demo's facts", timeout=90)
        wait_until(lambda: [p for p in processes_of(data) if "chromium" in command_line(p)], "the worker's browser")
        everything = processes_of(data)
        (broker,) = [pid for pid in everything if "nats-server" in command_line(pid)]
        head = [broker, up.process.pid] if first == "broker" else [up.process.pid, broker]
        for pid in head + [pid for pid in everything if pid not in head]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        code = up.process.wait(60)
        up.finish()
        assert code == 0, up.output[-3000:]
        assert "Traceback" not in up.output and up.output.rstrip().endswith("stopped"), up.output[-3000:]
        # Stopped, not killed by up after its patience: nothing waited on the broker gone.
        worker_log = (data / "workers" / "local-1.log").read_text()
        assert worker_log.rstrip().endswith("exited with 0"), worker_log[-3000:]
        assert not processes_of(data)
    finally:
        up.finish()
    # Facts kept coming (the worker crawls the demo account): the models hold at least what was applied.
    assert status_of(data / "read-models", reached["stream_head"])["checkpoint"] >= reached["checkpoint"]


async def test_a_projector_stops_at_once_when_its_broker_no_longer_answers(
    broker: EmbeddedBroker, nc: HiscrmClient, store: EventStore, tmp_path: Path
) -> None:
    """The broker frozen (SIGSTOP: connected, answering nothing) while the projector checks the stream:
    stopped then, it returns cleanly in well under the time a request sent at the same moment takes to
    go unanswered (the control, measured in the same run)."""
    root = tmp_path / "read-models"
    projector = Projector(nc, root, MODELS, check_every_s=0.1)
    stop = asyncio.Event()
    running = asyncio.create_task(projector.run(stop))
    for n in range(3):
        last = await store.append(AccountCreated(account_id=f"a{n}", platform="douyin", account_name=f"n{n}"))
    await eventually(lambda: projector.checkpoint == last.seq, "the projector applies the facts")
    assert broker.process is not None
    os.kill(broker.process.pid, signal.SIGSTOP)
    try:
        await asyncio.sleep(1.0)  # a check of the stream every 0.1 s: one is in flight, unanswered
        loop = asyncio.get_running_loop()
        started = loop.time()
        control = asyncio.create_task(stream_now(nc))
        stop.set()
        await running
        stopping_s = loop.time() - started
        with pytest.raises(TimeoutError):
            await control
        unanswered_s = loop.time() - started
    finally:
        os.kill(broker.process.pid, signal.SIGCONT)
    assert stopping_s < unanswered_s / 2, (stopping_s, unanswered_s)
    assert status_of(root, last.seq)["checkpoint"] == last.seq
