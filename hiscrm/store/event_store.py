"""Appending facts to HISCRM_EVENTS: one or many, idempotent, optionally conditional.

Idempotency is the server's: every fact carries `Nats-Msg-Id`, and a repeat inside the stream's
duplicate window is acknowledged with the original sequence instead of being stored again.
Decisions that must not race append with the expected last sequence over the aggregate's
subjects; the server refuses a stale one, which becomes ConcurrencyConflict.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence

import msgspec
from nats.js import JetStreamContext
from nats.js.api import PubAck
from nats.js.errors import APIError, NoStreamResponseError

from hiscrm.errors import ConcurrencyConflict, HiscrmError, StoreUnavailable
from hiscrm.facts import codec
from hiscrm.facts.base import Fact
from hiscrm.facts.codec import Outgoing, Recorded
from hiscrm.facts.subjects import EVENTS_STREAM, aggregate_filter
from hiscrm.store import reader
from hiscrm.store.connection import HiscrmClient

EXPECTED_SEQ = "Nats-Expected-Last-Subject-Sequence"
EXPECTED_SUBJECT = "Nats-Expected-Last-Subject-Sequence-Subject"
WRONG_LAST_SEQUENCE = 10071
# Nothing stored them, or nobody said: sending the same Nats-Msg-Id again is safe either way.
UNANSWERED = (NoStreamResponseError, TimeoutError)  # nats.errors.TimeoutError is a TimeoutError


class Appended(msgspec.Struct, frozen=True):
    seq: int
    duplicate: bool = False
    msg_id: str = ""


class AppendError(HiscrmError):
    def __init__(self, message: str, done: list[Appended | None]) -> None:
        super().__init__(message)
        self.done = done


class AppendUnavailable(AppendError, StoreUnavailable):
    """Some appends were never acknowledged: sent again, they are stored once (same Nats-Msg-Id)."""


Decision = Callable[[list[Recorded]], Awaitable[Sequence[Fact]] | Sequence[Fact]]


class EventStore:
    def __init__(self, nc: HiscrmClient, window: int = 4096, ack_timeout: float = 10.0) -> None:
        self.nc = nc
        self.js: JetStreamContext = nc.jetstream(publish_async_max_pending=window)
        self.window = window
        self.ack_timeout = ack_timeout

    # ------------------------------------------------------------------ appending

    async def append(
        self,
        fact: Fact,
        *,
        expected_last_seq: int | None = None,
        msg_id: str | None = None,
        correlation_id: str | None = None,
        causation_id: str | None = None,
    ) -> Appended:
        out = codec.encode(fact, msg_id=msg_id, correlation_id=correlation_id, causation_id=causation_id)
        return await self.append_encoded(out, expected_last_seq=expected_last_seq, fact=fact)

    async def append_encoded(
        self, out: Outgoing, *, expected_last_seq: int | None = None, fact: Fact | None = None
    ) -> Appended:
        headers = dict(out.headers)
        condition = None
        if expected_last_seq is not None:
            if fact is None:
                raise HiscrmError("a conditional append needs the fact to know its aggregate")
            condition = aggregate_filter(fact.aggregate, fact.aggregate_id)
            headers[EXPECTED_SEQ] = str(expected_last_seq)
            headers[EXPECTED_SUBJECT] = condition
        try:
            ack = await self._publish_until_acknowledged(out, headers)
        except APIError as exc:
            if exc.err_code == WRONG_LAST_SEQUENCE and condition is not None:
                # A retried append whose first attempt landed meets its own fact as "the newer one".
                last = await self.last_message(condition)
                if last is not None and last[1] == out.msg_id:
                    return Appended(last[0], True, out.msg_id)
                raise ConcurrencyConflict(condition, expected_last_seq or 0, exc.description or "") from None
            raise HiscrmError(f"append to {out.subject} refused: {exc.description}") from None
        return Appended(ack.seq, bool(ack.duplicate), out.msg_id)

    async def _publish_until_acknowledged(self, out: Outgoing, headers: dict[str, str]) -> PubAck:
        # While a replicated stream elects a leader, or the broker restarts, nothing answers; sending again
        # is safe, since the same Nats-Msg-Id is stored once and acknowledged with the first sequence.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.ack_timeout
        pause = 0.05
        while True:
            left = deadline - loop.time()
            try:
                return await self.js.publish(out.subject, out.payload, timeout=max(left, 0.1), headers=headers)
            except UNANSWERED as exc:
                if loop.time() + pause >= deadline:
                    raise StoreUnavailable(self._unacknowledged(f"no append to {out.subject}", exc)) from None
            await asyncio.sleep(pause)
            pause = min(pause * 2, 1.0)

    async def append_many(self, facts: Iterable[Fact | Outgoing]) -> list[Appended]:
        """Pipelined: every publish is in flight before the first acknowledgement is awaited.

        Those no stream leader answered (an election, a restart) are sent again until `ack_timeout`.
        """
        outs = [f if isinstance(f, Outgoing) else codec.encode(f) for f in facts]
        results: list[Appended | None] = [None] * len(outs)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.ack_timeout
        pending, pause = list(range(len(outs))), 0.05
        while True:
            failed = await self._publish_pipelined(outs, pending, results, deadline - loop.time())
            pending = [i for i, exc in failed.items() if isinstance(exc, NoStreamResponseError)]
            if len(pending) < len(failed) or not pending or loop.time() + pause >= deadline:
                break
            await asyncio.sleep(pause)
            pause = min(pause * 2, 1.0)
        if failed:
            first = failed[min(failed)]
            if all(isinstance(exc, UNANSWERED) for exc in failed.values()):
                what = f"{len(outs) - len(failed)} of {len(outs)} appends"
                raise AppendUnavailable(self._unacknowledged(what, first), results)
            raise AppendError(f"{len(failed)} of {len(outs)} appends failed: {first!r}", results)
        return results  # type: ignore[return-value]

    def _unacknowledged(self, what: str, exc: BaseException) -> str:
        reason = "no stream leader answered" if isinstance(exc, NoStreamResponseError) else "no answer"
        return (
            f"the event stream acknowledged {what} within {self.ack_timeout:g} s ({reason}); what it did not"
            " acknowledge is stored at most once, and may be once NATS answers again"
        )

    async def _publish_pipelined(
        self, outs: list[Outgoing], indices: list[int], results: list[Appended | None], wait_s: float
    ) -> dict[int, BaseException]:
        """Publish `outs[i]` for each index, fill `results` with those acknowledged, return the failures."""
        sent = [outs[i] for i in indices]
        futures = [await self.js.publish_async(o.subject, o.payload, headers=o.headers) for o in sent]
        # nats-py never times an async publish out: an acknowledgement lost with a server (a killed
        # cluster node) would be awaited forever. Unanswered ones fail here, and a retry with the
        # same Nats-Msg-Id is safe: the duplicate window answers with the original sequence.
        _, unanswered = await asyncio.wait(futures, timeout=max(wait_s, 0.1)) if futures else (set(), set())
        failed: dict[int, BaseException] = {}
        for i, out, future in zip(indices, sent, futures, strict=True):
            if future in unanswered:
                future.cancel()
                failed[i] = TimeoutError(f"no acknowledgement within {self.ack_timeout:g} s")
            elif (exc := future.exception()) is not None:
                failed[i] = exc
            else:
                ack = future.result()
                results[i] = Appended(ack.seq, bool(ack.duplicate), out.msg_id)
        return failed

    # ------------------------------------------------------------------ aggregates

    async def last_message(self, subject_filter: str) -> tuple[int, str] | None:
        """(sequence, msg id) of the newest fact matching `subject_filter`, or None.

        The filter is in the request subject, not the body, so permissions can say which facts a user may ask for.
        """
        msg = await self.nc.request(f"$JS.API.DIRECT.GET.{EVENTS_STREAM}.{subject_filter}", b"", timeout=5)
        headers = msg.headers or {}
        if headers.get("Status") == "404":
            return None
        if headers.get("Status"):
            raise HiscrmError(f"cannot read the last fact of {subject_filter}: {headers.get('Description')}")
        return int(headers["Nats-Sequence"]), headers.get(codec.MSG_ID, "")

    async def last_seq(self, aggregate: str, aggregate_id: str) -> int:
        last = await self.last_message(aggregate_filter(aggregate, aggregate_id))
        return last[0] if last else 0

    async def history(self, aggregate: str, aggregate_id: str) -> list[Recorded]:
        return [
            item
            async for item in reader.read(self.nc, subject=aggregate_filter(aggregate, aggregate_id))
            if isinstance(item, Recorded)
        ]

    async def decide(self, aggregate: str, aggregate_id: str, decision: Decision, attempts: int = 8) -> list[Appended]:
        """Read the aggregate, let `decision` choose facts, append them only if nothing changed meanwhile.

        On a conflict the aggregate is read again and the decision re-made, so a decision that
        another writer already made turns into no facts at all.
        """
        for attempt in range(attempts):
            history = await self.history(aggregate, aggregate_id)
            chosen = decision(history)
            if asyncio.iscoroutine(chosen):
                chosen = await chosen
            expected = history[-1].seq if history else 0
            try:
                done = []
                for fact in chosen:  # type: ignore[union-attr]
                    appended = await self.append(fact, expected_last_seq=expected)
                    done.append(appended)
                    expected = appended.seq
                return done
            except ConcurrencyConflict:
                if attempt == attempts - 1:
                    raise
                await asyncio.sleep(0.005 * (attempt + 1))
        raise AssertionError("unreachable")
