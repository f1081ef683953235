"""One account on this worker: its browser context, its crawl loop, its logins and sends.

Everything that touches the account's context (a pass, a login, a send) holds the account's lock,
so they never interleave on one page set. A pass runs at the account's interval ±10 %; trouble
(logged out, verification, risk control) is reported once per episode as a fact, then the loop
backs off exponentially and probes again, never spinning. An episode ends with a successful pass
or new credentials.

A browser that dies under the account (Chromium, or Playwright's driver under it) is not the account's
trouble: the work is tried again soon in a context opened afresh from the sealed storage state, with no
fact and no backoff of the account's. Before a login or a send the browser is asked whether it still
answers, so neither starts in a browser already gone (a send that fails there would be "unconfirmed").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import msgspec
import nats.errors
from playwright.async_api import BrowserContext
from playwright.async_api import Error as PlaywrightError

from hiscrm.facts.catalogue import AccountBlocked, AccountSessionExpired
from hiscrm.facts.messages import AccountConfig, LoginSmsCode, LoginStart, ReplySend
from hiscrm.facts.subjects import worker_reader
from hiscrm.parts import cancel_and_wait
from hiscrm.platforms.base import Blocked, LoginResult, Platform, PlatformError, PlatformTrouble
from hiscrm.platforms.base import LoginFailed as LoginError
from hiscrm.secrets.keystore import KeyStore
from hiscrm.store.connection import HiscrmClient
from hiscrm.store.event_store import AppendError, EventStore
from hiscrm.worker import login_flow, reply_flow
from hiscrm.worker.browser import BrowserGone, Chromium
from hiscrm.worker.credentials import Credentials
from hiscrm.worker.health import PassFailures
from hiscrm.worker.live import LiveWatch
from hiscrm.worker.pacing import Backoff, jittered
from hiscrm.worker.proxy import playwright_proxy
from hiscrm.worker.recorder import PassRecorder
from hiscrm.worker.seen import SeenIndex

log = logging.getLogger(__name__)

INDEX_FILE = "seen.idx"


@dataclass(frozen=True)
class Timing:
    backoff_base_s: float = 60.0
    backoff_cap_s: float = 3600.0
    # The broker failing (a node restarting, a leader moving) is not the account's trouble: retried soon.
    broker_retry_base_s: float = 2.0
    broker_retry_cap_s: float = 30.0
    # Nor is the browser dying under a pass: the next pass opens the account in a new one this soon
    # (Chromium paces its own relaunches).
    browser_retry_s: float = 1.0


# What a pass meets when the broker, not the platform, failed it.
BROKER_FAILURES = (AppendError, nats.errors.Error)


@dataclass(frozen=True)
class WorkerDeps:
    worker_id: str
    nc: HiscrmClient
    store: EventStore
    keys: KeyStore
    master_key: bytes
    chromium: Chromium
    platforms: Mapping[str, Platform]
    data_dir: Path
    timing: Timing
    crawl_slots: asyncio.Semaphore  # passes running at once on this worker, whatever the account
    # The worker reads its accounts' history under one consumer name (its permissions allow no other).
    history_reads: asyncio.Lock = field(default_factory=asyncio.Lock)

    def account_dir(self, account_id: str) -> Path:
        return self.data_dir / "browser" / account_id


class AccountRunner:
    def __init__(self, deps: WorkerDeps, config: AccountConfig) -> None:
        self.deps = deps
        self.config = config
        self.account_id = config.account_id
        self.platform = deps.platforms[config.platform]
        self.credentials = Credentials(deps.keys, deps.account_dir(self.account_id), self.account_id)
        self.backoff = Backoff(deps.timing.backoff_base_s, deps.timing.backoff_cap_s)
        self.broker_backoff = Backoff(deps.timing.broker_retry_base_s, deps.timing.broker_retry_cap_s)
        self.lock = asyncio.Lock()
        self.ready = asyncio.Event()  # the dedupe index is loaded and caught up
        self._wake = asyncio.Event()
        self._index: SeenIndex | None = None
        self._context: BrowserContext | None = None
        self._context_stale = False
        self._forget_session = False
        self._reported: str | None = None  # the trouble of the current episode, once appended
        self._task: asyncio.Task[None] | None = None
        self._login: asyncio.Task[None] | None = None
        self._login_facts: login_flow.LoginFacts | None = None
        self._sends: dict[str, asyncio.Task[None]] = {}
        self.failures = PassFailures(self.account_id, deps.worker_id)
        self.live = LiveWatch(deps.store, self.platform, self.account_id)

    # ------------------------------------------------------------------ lifecycle, driven by the service

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"account {self.account_id}")

    async def stop(self) -> None:
        await cancel_and_wait(self._login, *self._sends.values(), self._task)
        await self._close_context()

    def update(self, config: AccountConfig) -> None:
        """A newer config, applied live."""
        old, self.config = self.config, config
        if old.sealed_credentials and not config.sealed_credentials:
            # Logged out (or the session expired): nothing of the old session may be used again.
            self._forget_session = True
        if (config.sealed_credentials, config.proxy) != (old.sealed_credentials, old.proxy):
            self._context_stale = True
            self._end_episode()
            self._wake.set()
        elif (config.status, config.logged_in) != (old.status, old.logged_in):
            self._wake.set()

    def crawl_now(self) -> None:
        self._wake.set()

    def start_login(self, cmd: LoginStart) -> None:
        """A newer login_start replaces one still waiting for its scan."""
        if self._login is not None:
            self._login.cancel()
        self._login = asyncio.create_task(self._run_login(cmd), name=f"login {cmd.login_id}")

    async def sms_code(self, cmd: LoginSmsCode) -> None:
        """An operator's code for the login under way here; a code for another login is dropped."""
        facts = self._login_facts
        if facts is None or facts.cmd.login_id != cmd.login_id:
            log.warning("%s: SMS code for login %s, which is not running here", self.account_id, cmd.login_id)
            return
        code = await self.deps.keys.unseal_for(self.account_id, cmd.sealed_code)
        if code is None:
            log.error("%s: the SMS code cannot be opened: the account's key is gone", self.account_id)
            return
        facts.offer_code(cmd.seq, code.decode())

    def start_send(self, cmd: ReplySend) -> None:
        """Sends in a task of its own; a reply already being sent here is not started twice."""
        if cmd.reply_id in self._sends:
            return
        task = asyncio.create_task(self._send(cmd), name=f"reply {cmd.reply_id}")
        self._sends[cmd.reply_id] = task
        task.add_done_callback(lambda _: self._sends.pop(cmd.reply_id, None))

    async def _send(self, cmd: ReplySend) -> None:
        try:
            await self.ready.wait()
            async with self.lock:
                if await reply_flow.already_settled(self.deps.store, cmd.reply_id):
                    return
                if not self._logged_in():
                    reason = "the account is not logged in"
                    await reply_flow.fail(self.deps.store, cmd, self.deps.worker_id, reason, "not_logged_in")
                    return
                context = await self._open_context(probe=True)
                sending = self.platform.send(context, cmd, self._ready_index())
                await reply_flow.settle_reply(self.deps.store, cmd, self.deps.worker_id, sending)
        except PlatformTrouble as trouble:
            await self._report(trouble, self.backoff.next_delay())
        except Exception:
            log.exception("%s: reply %s broke off", self.account_id, cmd.reply_id)

    # ------------------------------------------------------------------ the crawl loop

    async def _run(self) -> None:
        self._index = await self._load_index()
        self.ready.set()
        while True:
            if self._forget_session:
                await self._destroy_session()
            delay = await self._step() if self._crawlable() else None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)
            self._wake.clear()

    async def _load_index(self) -> SeenIndex:
        """This worker's copy of the index, brought up to date from the stream before the first pass."""
        index = await asyncio.to_thread(SeenIndex.load, self.deps.account_dir(self.account_id) / INDEX_FILE)
        while True:
            try:
                async with self.deps.history_reads:
                    reader = worker_reader(self.deps.worker_id, "inbox")
                    learned = await index.catch_up(self.deps.nc, self.account_id, reader)
                if learned:
                    index.cursor = {}  # someone else observed for this account meanwhile: read everything once
                return index
            except Exception:
                delay = self.broker_backoff.next_delay()
                log.exception("%s: cannot read the account's facts; retrying in %.0f s", self.account_id, delay)
                await asyncio.sleep(delay)

    def _logged_in(self) -> bool:
        return self.config.logged_in and bool(self.config.sealed_credentials)

    def _crawlable(self) -> bool:
        return self.config.status == "active" and self._logged_in()

    def _ready_index(self) -> SeenIndex:
        assert self._index is not None, "used before the index was loaded"
        return self._index

    async def _step(self) -> float | None:
        """One pass; the seconds until the next (None: the worker has no browser left and stops)."""
        generation = self.deps.chromium.generation
        try:
            # The account's lock first: waiting for it must not hold a slot other accounts could use.
            async with self.lock, self.deps.crawl_slots:
                await self._pass()
        except PlatformTrouble as trouble:
            await self.live.stop()
            delay = self.backoff.next_delay()
            await self._report(trouble, delay)
            return delay
        except BROKER_FAILURES as exc:
            # What the stream acknowledged is kept; the rest is still new to the index and comes again.
            delay = self.broker_backoff.next_delay()
            log.warning("%s: pass cut short by the broker (%r); next try in %.1f s", self.account_id, exc, delay)
            return delay
        except BrowserGone:
            return None
        except Exception as exc:
            # The adapter turns a closed page into a PlatformError: only the browser can say it died.
            if await self.deps.chromium.lost_since(generation):
                await self._close_context()
                delay = jittered(self.deps.timing.browser_retry_s)
                log.warning("%s: the browser died under the pass (%s); again in %.1f s", self.account_id, exc, delay)
                return delay
            # Anything unforeseen too: retried later, never in a loop.
            delay = self.backoff.next_delay()
            if isinstance(exc, PlatformError):
                log.warning("%s: pass failed (%s); next try in %.0f s", self.account_id, exc, delay)
                await self._pass_failed("timeout" if "Timeout" in str(exc) else "page_error", str(exc))
            else:
                log.exception("%s: pass failed; next try in %.0f s", self.account_id, delay)
                await self._pass_failed("error", f"{type(exc).__name__}: {exc}")
            return delay
        self.broker_backoff.reset()
        self.failures.succeeded()
        self._end_episode()
        if self.config.crawl.dms and self._context is not None:
            self.live.ensure(self._context, self._ready_index())  # new DMs at once, between passes
        else:
            await self.live.stop()
        return jittered(self.config.monitor_interval)

    async def _pass_failed(self, kind: str, reason: str) -> None:
        fact = self.failures.failed(kind, reason[:500])
        if fact is not None:
            # Unrecorded, the run is still counted: a later report of it carries the whole count.
            with contextlib.suppress(*BROKER_FAILURES):
                await self.deps.store.append(fact)

    async def _pass(self) -> None:
        index = self._ready_index()
        context = await self._open_context()
        recorder = PassRecorder(self.deps.store, index, self.account_id, baseline=index.passes == 0)
        cursor = dict(index.cursor)
        await self.platform.crawl(context, self.account_id, cursor, index, recorder.observe, self.config.crawl)
        await recorder.flush()
        index.cursor = cursor
        pass_no = index.passes + 1
        await self.deps.store.append(recorder.summary(self.deps.worker_id, pass_no))
        index.record_pass(pass_no)
        await asyncio.to_thread(index.write, index.encoded())
        await self.credentials.save(self.config, await context.storage_state())

    # ------------------------------------------------------------------ trouble

    def _end_episode(self) -> None:
        self._reported = None
        self.backoff.reset()

    async def _report(self, trouble: PlatformTrouble, retry_after_s: float) -> None:
        """Appends the trouble unless this episode already did; a different trouble is a new episode."""
        if self._reported == trouble.code:
            log.info("%s: still %s; next try in %.0f s", self.account_id, trouble.code, retry_after_s)
            return
        worker = self.deps.worker_id
        if isinstance(trouble, Blocked):
            fact: AccountBlocked | AccountSessionExpired = AccountBlocked(
                account_id=self.account_id,
                kind=trouble.kind,
                worker_id=worker,
                detail=trouble.detail,
                retry_after_s=round(retry_after_s),
            )
        else:
            fact = AccountSessionExpired(account_id=self.account_id, worker_id=worker, detail=trouble.detail)
        try:
            await self.deps.store.append(fact)
        except Exception:
            log.exception("%s: could not report %s; the next probe will", self.account_id, trouble.code)
            return
        self._reported = trouble.code
        log.warning("%s: %s (%s); next try in %.0f s", self.account_id, trouble.code, trouble.detail, retry_after_s)

    # ------------------------------------------------------------------ login

    async def _run_login(self, cmd: LoginStart) -> None:
        facts = self._login_facts = login_flow.LoginFacts(self.deps.store, cmd, self.deps.worker_id)
        try:
            async with self.lock:
                if cmd.sealed_import is not None:
                    result = await login_flow.settle_login(facts, self._check_import(cmd.sealed_import))
                else:
                    context = await self._open_context(probe=True)
                    attempt = self.platform.login(context, cmd.expires_at_ms, facts)
                    result = await login_flow.settle_login(facts, attempt)
            if result is None:
                return
            sealed = await self.credentials.seal(result.storage_state)
            if sealed is None:
                await facts.failed("the account's key is gone (was the account deleted?)", "no_key")
                return
            await facts.succeeded(result, sealed)
            self._end_episode()
        except Exception:
            log.exception("%s: login %s broke off", self.account_id, cmd.login_id)
        finally:
            if self._login_facts is facts:
                self._login_facts = None

    async def _check_import(self, sealed_import: str) -> LoginResult:
        """An imported session, loaded into a fresh context and proven by the creator home."""
        plain = await self.deps.keys.unseal_for(self.account_id, sealed_import)
        if plain is None:
            raise LoginError("the account's key is gone (was the account deleted?)", "no_key")
        await self._close_context()
        proxy = playwright_proxy(self.config.proxy, self.deps.master_key)
        context = await self.deps.chromium.new_context(self.account_id, msgspec.json.decode(plain), proxy)
        # Whatever the outcome, the next pass opens the context the config names.
        self._context, self._context_stale = context, True
        return await self.platform.check_session(context)

    # ------------------------------------------------------------------ the browser context

    async def _open_context(self, *, probe: bool = False) -> BrowserContext:
        """The account's context, opened again if stale or of a browser gone; `probe` asks the browser
        first, where a pass has not just shown it alive."""
        context = self._context
        chromium = self.deps.chromium
        if probe:
            await chromium.lost_since(chromium.generation)
        if context is not None and not self._context_stale and chromium.holds(context):
            return context
        await self._close_context()
        self._context_stale = False
        state = await self.credentials.load(self.config)
        proxy = playwright_proxy(self.config.proxy, self.deps.master_key)
        self._context = await self.deps.chromium.new_context(self.account_id, state, proxy)
        return self._context

    async def _destroy_session(self) -> None:
        async with self.lock:
            self._forget_session = False
            await self._close_context()
            await self.credentials.forget()
            log.info("%s: session destroyed on this worker", self.account_id)

    async def _close_context(self) -> None:
        await self.live.stop()
        context, self._context = self._context, None
        if context is not None:
            with contextlib.suppress(PlaywrightError):  # a context of a crashed browser is already gone
                await context.close()
