"""The worker's instructions: a durable pull consumer on HISCRM_COMMANDS for `hiscrm.cmd.<worker_id>.>`.

The stream is a work queue, so a command stays stored until this worker acknowledges it, across
restarts; it is acknowledged once the handler has returned. The command type is the subject's last
token, and the payload is decoded with the type that token names in `messages.COMMAND_TYPES`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import msgspec
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.js.api import ConsumerConfig

from hiscrm.facts.messages import COMMAND_TYPES
from hiscrm.facts.subjects import COMMANDS_STREAM, worker_commands, worker_token
from hiscrm.worker.handler import Command
from hiscrm.worker.pacing import Backoff

log = logging.getLogger(__name__)

ACK_WAIT_S = 60.0
MAX_DELIVER = 5
RETRY_DELAY_S = 5.0
FETCH_WAIT_S = 5.0
OUTAGE_RETRY_S = 0.5
OUTAGE_RETRY_MAX_S = 5.0

_decoders = {name: msgspec.json.Decoder(cls) for name, cls in COMMAND_TYPES.items()}


def durable_name(worker_id: str) -> str:
    return f"worker-{worker_token(worker_id)}"


class CommandConsumer:
    def __init__(
        self, nc: Client, worker_id: str, on_command: Callable[[Command], Awaitable[None]], *, batch: int = 16
    ) -> None:
        self.js = nc.jetstream()
        self.worker_id = worker_token(worker_id)
        self.on_command = on_command
        self.batch = batch

    async def run(self) -> None:
        sub = await self.js.pull_subscribe(
            worker_commands(self.worker_id),
            durable=durable_name(self.worker_id),
            stream=COMMANDS_STREAM,
            config=ConsumerConfig(ack_wait=ACK_WAIT_S, max_deliver=MAX_DELIVER),
        )
        outage = Backoff(OUTAGE_RETRY_S, OUTAGE_RETRY_MAX_S)
        try:
            while True:
                try:
                    msgs = await sub.fetch(self.batch, timeout=FETCH_WAIT_S)
                except TimeoutError:  # nats-py raises either its own or asyncio's: no command meanwhile
                    continue
                except NatsError as exc:
                    # A broker node restarting or the stream's leader moving: the consumer is back once
                    # the cluster is, so wait and fetch again rather than take the whole worker down.
                    delay = outage.next_delay()
                    log.warning("commands of %s unavailable (%r); retrying in %.1f s", self.worker_id, exc, delay)
                    await asyncio.sleep(delay)
                    continue
                outage.reset()
                for msg in msgs:
                    await self._handle(msg)
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    async def _handle(self, msg: Msg) -> None:
        name = msg.subject.rpartition(".")[2]
        decoder = _decoders.get(name)
        try:
            if decoder is None:
                raise msgspec.DecodeError(f"unknown command {name!r}")
            command = decoder.decode(msg.data)
        except msgspec.DecodeError as exc:
            # Redelivering what cannot be read would only fail again.
            log.error("command on %s dropped: %s", msg.subject, exc)
            await msg.term()
            return
        try:
            await self.on_command(command)  # type: ignore[arg-type]
        except Exception:
            log.exception("command on %s failed; redelivered in %.0f s", msg.subject, RETRY_DELAY_S)
            await msg.nak(delay=RETRY_DELAY_S)
            return
        await msg.ack()
