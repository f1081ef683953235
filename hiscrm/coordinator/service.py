"""The coordinator: folds the facts, watches presence, and, while it holds the lease, decides.

Every instance follows the same inputs (one ordered feed over the worker, account, login and reply
facts; watches on presence, configs and proxies), so a standby is always ready to lead. One actor
task makes every decision, after any input changed and only while the lease is held and every
input has caught up with what existed at start. Its step, in order:

1. sync the configs of accounts whose facts changed (the fast path a login success takes);
2. if a decision of its own is not yet back through the feed, stop here: deciding on a state
   that does not show it yet would decide it twice;
3. `worker.went_offline` for workers whose presence vanished, and `account.updated` for accounts
   whose config changed outside the facts (a proxy edit), so the new config has a higher revision;
4. placement; moves are appended as `account.unassigned` then `account.assigned`, each with the
   account's expected last sequence, so no two coordinators can both move an account;
5. login and reply requests to workers, refusals, and login expiry (with a timer for the next);
6. the status for the API.

A ConcurrencyConflict means the facts moved on: the step waits for them and decides again.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time

from hiscrm.coordinator import placement
from hiscrm.coordinator.config_sync import ConfigSync
from hiscrm.coordinator.lease import RENEW_S, TTL_S, Lease
from hiscrm.coordinator.liveness import Liveness
from hiscrm.coordinator.proxies import Proxies
from hiscrm.coordinator.requests import Requests
from hiscrm.coordinator.state import FACT_FILTERS, State, config_of
from hiscrm.coordinator.status import REFRESH_S, StatusBoard
from hiscrm.errors import ConcurrencyConflict, HiscrmError
from hiscrm.facts import catalogue as c
from hiscrm.facts.messages import CoordinatorStatus, WorkerLoad
from hiscrm.parts import run_parts
from hiscrm.projector.origin import stream_now
from hiscrm.secrets.keystore import KeyStore
from hiscrm.store import reader
from hiscrm.store.connection import HiscrmClient
from hiscrm.store.event_store import EventStore
from hiscrm.store.feed import Feed

log = logging.getLogger(__name__)

CONFIG_CHUNK = 256
STREAM_CHECK_S = 1.0  # how often the fold checks that HISCRM_EVENTS is still the stream it began on


class NotLeading(HiscrmError):
    """The lease is no longer ours: stop before the next write."""


def default_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def now_ms() -> int:
    return int(time.time() * 1000)


class Coordinator:
    def __init__(
        self,
        nc: HiscrmClient,
        master_key: bytes,
        *,
        coordinator_id: str | None = None,
        lease_ttl_s: float = TTL_S,
        lease_renew_s: float = RENEW_S,
        status_refresh_s: float = REFRESH_S,
    ) -> None:
        self.nc = nc
        self.id = coordinator_id or default_id()
        self.store = EventStore(nc)
        self.keys = KeyStore(nc, master_key)
        self.state = State()
        self.lease = Lease(nc, self.id, on_change=self._wake_up, ttl_s=lease_ttl_s, renew_s=lease_renew_s)
        self.liveness = Liveness(nc, self._presence_changed)
        self.configs = ConfigSync(nc, guard=self._guard, on_stale=self._config_stale, on_foreign=self._config_changed)
        self.proxies = Proxies(nc, self._proxy_changed)
        self.requests = Requests(nc, self.store, self._guard)
        self.status = StatusBoard(nc, status_refresh_s)
        self.status_refresh_s = status_refresh_s
        self.caught_up = asyncio.Event()
        self.term_started_ms: int | None = None  # set while leading
        self.plan = placement.Plan(moves=[], unplaced={}, loads={})
        self._wake = asyncio.Event()
        self._awaiting = 0  # the highest sequence this coordinator appended or must see before deciding again
        self._destroyed: set[str] = set()
        self._restamp: set[str] = set()  # accounts whose config changed outside the facts (a proxy edit)
        self._expiry: asyncio.TimerHandle | None = None
        self._folds = 0  # times the facts were folded again from a replaced stream's start

    # ------------------------------------------------------------------ running

    async def run(self, stop: asyncio.Event) -> None:
        parts = {
            "facts": self._follow(),
            "presence": self.liveness.run(),
            "configs": self.configs.run(),
            "proxies": self.proxies.run(),
            "lease": self.lease.run(),
            "actor": self._act_forever(),
            "ticker": self._tick(),
        }
        try:
            await run_parts(parts, stop, f"coordinator {self.id}")
        finally:
            if self._expiry is not None:
                self._expiry.cancel()

    @property
    def ready(self) -> bool:
        return all(e.is_set() for e in (self.caught_up, self.liveness.ready, self.configs.ready, self.proxies.ready))

    async def _follow(self) -> None:
        """Fold HISCRM_EVENTS from its start; if the stream is replaced (deleted, or its store lost), start
        over from the new one's start, since its sequences count from 1 again (hiscrm/projector/origin.py)."""
        while True:
            stream = await stream_now(self.nc)
            if not stream.exists:
                await asyncio.sleep(STREAM_CHECK_S)
                continue
            feed = await Feed.open(self.nc, subject=FACT_FILTERS)
            try:
                await self._fold(feed, stream.identity)
            finally:
                await feed.close()
            self._start_over()

    def _start_over(self) -> None:
        """Forget the old stream's facts; the next term reconciles every config with the new one's."""
        self._folds += 1
        self.state = State()
        self.caught_up.clear()
        self.plan = placement.Plan(moves=[], unplaced={}, loads={})
        self.requests.new_term()
        self._awaiting = 0
        self._restamp.clear()
        self.term_started_ms = None
        self._wake_up()

    async def _replaced(self, identity: str | None) -> tuple[bool, str | None]:
        """(whether the stream folded so far, known as `identity`, is gone, the identity to expect next)."""
        try:
            now = await stream_now(self.nc)
        except Exception as exc:  # a broker away or electing a leader says nothing about the stream
            log.debug("cannot check HISCRM_EVENTS now: %r", exc)
            return False, identity
        if identity is None and now.identity is not None:
            return False, now.identity  # the stream was empty when we began: adopt it with its first facts
        if now.exists and now.identity == identity:
            return False, identity
        what = "was deleted" if not now.exists else "is another stream now"
        log.warning("coordinator %s: HISCRM_EVENTS %s; folding the facts again from its start", self.id, what)
        return True, identity

    async def _fold(self, feed: Feed, identity: str | None) -> None:
        """Apply the feed to the state until the stream turns out to be replaced, which it checks at most
        every STREAM_CHECK_S, before applying what it received. A deleted stream's consumer is silent for
        three heartbeats before the feed recreates it, so a check comes before any new stream's fact."""
        if feed.num_pending_at_start == 0:
            self.caught_up.set()
        checked = time.monotonic()
        while True:
            batch = await feed.batch(2000, timeout=STREAM_CHECK_S)
            # The first facts of a stream that was empty at the start tell which stream it is.
            if time.monotonic() - checked >= STREAM_CHECK_S or (batch and identity is None):
                replaced, identity = await self._replaced(identity)
                checked = time.monotonic()
                if replaced:
                    return
            for raw in batch:
                item = reader.decode_raw(raw)
                if isinstance(item, reader.Undecoded):
                    log.warning("fact %d on %s skipped: %s", item.seq, item.subject, item.reason)
                    self.state.position = item.seq
                else:
                    self.state.apply(item)
                    if isinstance(item.fact, c.WorkerStopped):
                        self.liveness.forget(item.fact.worker_id)
                if raw.pending == 0:
                    self.caught_up.set()
            self._wake_up()

    async def _tick(self) -> None:
        """Wake the actor once every input has caught up, then twice per status refresh period."""
        await asyncio.gather(self.liveness.ready.wait(), self.configs.ready.wait(), self.proxies.ready.wait())
        self._wake_up()
        while True:
            await asyncio.sleep(self.status_refresh_s / 2)
            self._wake_up()

    def _wake_up(self) -> None:
        self._wake.set()

    def _presence_changed(self) -> None:
        # A worker that came (or went) may be what a waiting login needs.
        self.state.placement_dirty = self.state.requests_dirty = True
        self._wake_up()

    def _config_changed(self, account_id: str) -> None:
        self.state.dirty_configs.add(account_id)
        self._wake_up()

    def _config_stale(self, account_id: str) -> None:
        self._restamp.add(account_id)
        self._wake_up()

    def _proxy_changed(self, proxy_id: str) -> None:
        self.state.dirty_configs.update(a.account_id for a in self.state.accounts.values() if a.proxy_id == proxy_id)
        self._wake_up()

    def _guard(self) -> None:
        if not self.lease.leading:
            raise NotLeading(f"coordinator {self.id} does not hold the lease")

    # ------------------------------------------------------------------ deciding

    async def _act_forever(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                if self.ready and self.lease.leading:
                    if self.term_started_ms is None:
                        await self._take_office()
                    folds = self._folds
                    await self._step()
                    if self._folds != folds:  # the stream was replaced meanwhile: its waits were for the old one
                        self._awaiting = 0
                elif self.term_started_ms is not None:
                    self._leave_office()
            except NotLeading:
                self._leave_office()
            except Exception:
                log.exception("coordinator step failed; trying again")
                await asyncio.sleep(0.5)
                self._wake_up()

    async def _take_office(self) -> None:
        self.term_started_ms = now_ms()
        log.info("coordinator %s leads from fact %d", self.id, self.state.position)
        self.requests.new_term()
        self.status.forget()
        # Reconcile: every account, and every key for an account the facts do not know.
        self.state.dirty_configs.update(self.state.accounts, self.configs.keys_of)
        self.state.placement_dirty = self.state.requests_dirty = True
        self.liveness.gone.update(
            w for w, s in self.state.workers.items() if s.status == "online" and w not in self.liveness.live
        )

    def _leave_office(self) -> None:
        if self.term_started_ms is not None:
            log.warning("coordinator %s stands down", self.id)
        self.term_started_ms = None

    async def _step(self) -> None:
        await self._sync_configs()
        if self.state.position < self._awaiting:
            return  # the feed's next batch brings our own facts and wakes us again
        await self._went_offline()
        await self._restamp_configs()
        if self.state.placement_dirty:
            self.state.placement_dirty = False
            self.plan = placement.plan(self.state.accounts.values(), self.liveness.live)
            if self.plan.moves:
                await self._move(self.plan.moves)
                return
        now = now_ms()
        if self.state.requests_dirty:
            self.state.requests_dirty = False
            self._wait_for(await self.requests.dispatch(self.state, self.liveness.live, self.plan.unplaced, now))
        appended, upcoming = await self.requests.expire(self.state, self.liveness.live, self.plan.unplaced, now)
        self._wait_for(appended)
        self._expire_at(upcoming)
        await self._publish_status()

    def _wait_for(self, seq: int) -> None:
        self._awaiting = max(self._awaiting, seq)

    async def _sync_configs(self) -> None:
        dirty = sorted(self.state.take_dirty_configs())
        for start in range(0, len(dirty), CONFIG_CHUNK):
            chunk = dirty[start : start + CONFIG_CHUNK]
            try:
                await asyncio.gather(*(self._sync_config(a) for a in chunk))
            except BaseException:
                self.state.dirty_configs.update(dirty[start:])
                raise

    async def _sync_config(self, account_id: str) -> None:
        account = self.state.accounts.get(account_id)
        if account is not None and account.status == "deleted" and account_id not in self._destroyed:
            self._guard()
            await self.keys.destroy(account_id)
            self._destroyed.add(account_id)
        proxy = self.proxies.get(account.proxy_id) if account is not None else None
        await self.configs.sync(account_id, config_of(account, proxy))

    async def _restamp_configs(self) -> None:
        """A config may only change with a fact: record one, so the new config gets a higher revision."""
        for account_id in sorted(self._restamp):
            self._restamp.discard(account_id)
            account = self.state.accounts.get(account_id)
            if account is None or account.status == "deleted":
                continue
            self._guard()
            fact = c.AccountUpdated(account_id=account_id, proxy_id=account.proxy_id)
            try:
                self._wait_for((await self.store.append(fact, expected_last_seq=account.seq)).seq)
            except ConcurrencyConflict:
                self._wait_for(await self.store.last_seq("account", account_id))
                self.state.dirty_configs.add(account_id)

    async def _went_offline(self) -> None:
        for worker_id in sorted(self.liveness.gone):
            worker = self.state.workers.get(worker_id)
            if worker is None or worker.status != "online" or worker_id in self.liveness.live:
                self.liveness.gone.discard(worker_id)
                continue
            self._guard()
            fact = c.WorkerWentOffline(worker_id=worker_id, last_seen_ms=self.liveness.last_seen_ms.get(worker_id))
            try:
                self._wait_for((await self.store.append(fact, expected_last_seq=worker.seq)).seq)
                self.liveness.gone.discard(worker_id)
                log.info("worker %s went offline", worker_id)
            except ConcurrencyConflict:
                # It said something meanwhile (stopped, most likely): decide once that is folded.
                self._wait_for(await self.store.last_seq("worker", worker_id))

    async def _move(self, moves: list[placement.Move]) -> None:
        results = await asyncio.gather(*(self._move_one(m) for m in moves), return_exceptions=True)
        for move, result in zip(moves, results, strict=True):
            if isinstance(result, ConcurrencyConflict):
                self._wait_for(await self.store.last_seq("account", move.account_id))
                self.state.placement_dirty = True
            elif isinstance(result, BaseException):
                raise result
            else:
                self._wait_for(result)
        log.info("%d account moves", len(moves))

    async def _move_one(self, move: placement.Move) -> int:
        expected = move.expected_seq
        if move.from_worker is not None:
            self._guard()
            unassigned = c.AccountUnassigned(account_id=move.account_id, worker_id=move.from_worker, reason=move.reason)
            expected = (await self.store.append(unassigned, expected_last_seq=expected)).seq
        if move.to_worker is not None:
            self._guard()
            assigned = c.AccountAssigned(account_id=move.account_id, worker_id=move.to_worker, reason=move.reason)
            expected = (await self.store.append(assigned, expected_last_seq=expected)).seq
        return expected

    def _expire_at(self, when_ms: int | None) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        if when_ms is not None:
            loop = asyncio.get_running_loop()
            self._expiry = loop.call_at(loop.time() + max(0.0, when_ms - now_ms()) / 1000, self._wake_up)

    async def _publish_status(self) -> None:
        assert self.term_started_ms is not None
        workers = [
            WorkerLoad(
                worker_id=w, platforms=p.platforms, max_accounts=p.max_accounts, accounts=self.plan.loads.get(w, 0)
            )
            for w, p in sorted(self.liveness.live.items())
        ]
        status = CoordinatorStatus(
            coordinator_id=self.id,
            leader_since_ms=self.term_started_ms,
            updated_at_ms=now_ms(),
            position=self.state.position,
            workers=workers,
            unassigned=dict(sorted(self.plan.unplaced.items())),
        )
        self._guard()
        try:
            await self.status.publish(status)
        except Exception as exc:
            # Only the API's view suffers; the next step writes it again.
            log.warning("coordinator status not written: %r", exc)
