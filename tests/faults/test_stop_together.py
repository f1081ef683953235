"""systemd stopping the unit: SIGTERM to `up` and to its broker at the same moment, in either order.
The stop is clean whichever dies first: exit 0, no traceback, nothing left running, and the read models'
checkpoint is the one the projector had reached. A projector stopped while its broker no longer answers
returns at once instead of waiting out a request (and, where that request was not caught, raising it)."""

from __future__ import annotations

import asyncio
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
    return status if status["checkpoint"] > 0 and status["lag"] == 0 else None


@pytest.mark.parametrize("first", ["broker", "up"])
def test_up_and_its_broker_terminated_together_stop_cleanly(data: Path, first: str) -> None:
    up = Up(data, "--no-worker")
    try:
        up.wait_for("Ctrl-C stops everything")
        # The demo's facts (its account, its login) applied; nothing more comes without a worker.
        reached = wait_until(lambda: caught_up(up), "the projector applies the demo's facts", timeout=60)
        (broker,) = [pid for pid in processes_of(data) if "nats-server" in command_line(pid)]
        order = [broker, up.process.pid] if first == "broker" else [up.process.pid, broker]
        for pid in order:
            os.kill(pid, signal.SIGTERM)
        code = up.process.wait(60)
        up.finish()
        assert code == 0, up.output[-3000:]
        assert "Traceback" not in up.output and up.output.rstrip().endswith("stopped"), up.output[-3000:]
        assert not processes_of(data)
    finally:
        up.finish()
    assert status_of(data / "read-models", reached["stream_head"])["checkpoint"] == reached["checkpoint"]


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
