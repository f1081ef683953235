"""The browser worker: the accounts this worker holds, each with its runner, in one Chromium.

The NATS side (presence, config watch, command consumer, worker facts) is the agent's; this is
the handler it calls (hiscrm/worker/handler.py): a config key appeared or changed, a key went
away, a command came in.

A command is acknowledged when `on_command` returns. A login runs for minutes and a send may wait
behind a pass of its account, so both run in tasks of their own: the agent goes on with the next
command at once. For sends that makes delivery at most once: if the worker dies mid-send, the reply
stays requested rather than being sent twice to a customer; a redelivered or repeated command for a
reply that already has an outcome is not sent again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from hiscrm import platforms
from hiscrm.config import Settings
from hiscrm.facts.catalogue import LoginFailed
from hiscrm.facts.messages import AccountConfig, LoginSmsCode, LoginStart, ReplySend
from hiscrm.platforms.base import PlatformOptions
from hiscrm.secrets.keystore import KeyStore
from hiscrm.secrets.sealing import load_master_key
from hiscrm.store.connection import connect
from hiscrm.store.event_store import EventStore
from hiscrm.worker import reply_flow
from hiscrm.worker.account_runner import AccountRunner, Timing, WorkerDeps
from hiscrm.worker.agent import WorkerAgent
from hiscrm.worker.browser import BrowserGone, Chromium
from hiscrm.worker.handler import Command
from hiscrm.worker.presence import TTL_S

log = logging.getLogger(__name__)


# Configs and commands arrive on separate subscriptions: a command right after an assignment can
# overtake the config key that brings its account. It waits this long for it.
CONFIG_GRACE_S = 5.0


class BrowserWorker:
    def __init__(self, deps: WorkerDeps) -> None:
        self.deps = deps
        self.runners: dict[str, AccountRunner] = {}
        self._started = asyncio.Condition()

    async def on_config(self, config: AccountConfig) -> None:
        runner = self.runners.get(config.account_id)
        if runner is not None:
            runner.update(config)
            return
        if config.platform not in self.deps.platforms:
            log.error("%s: platform %r is not run by this worker", config.account_id, config.platform)
            return
        runner = self.runners[config.account_id] = AccountRunner(self.deps, config)
        runner.start()
        log.info("%s: started (%s, every %d s)", config.account_id, config.platform, config.monitor_interval)
        async with self._started:
            self._started.notify_all()

    async def on_removed(self, account_id: str) -> None:
        runner = self.runners.pop(account_id, None)
        if runner is not None:
            await runner.stop()
            log.info("%s: stopped", account_id)

    async def on_command(self, cmd: Command) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(CONFIG_GRACE_S), self._started:
                await self._started.wait_for(lambda: cmd.account_id in self.runners)
        runner = self.runners.get(cmd.account_id)
        if runner is None:
            await self._orphan(cmd)
        elif isinstance(cmd, LoginStart):
            runner.start_login(cmd)
        elif isinstance(cmd, ReplySend):
            runner.start_send(cmd)
        elif isinstance(cmd, LoginSmsCode):
            await runner.sms_code(cmd)
        else:
            runner.crawl_now()

    async def _orphan(self, cmd: Command) -> None:
        """A command for an account this worker does not hold (it moved away meanwhile)."""
        reason = f"account {cmd.account_id} is not on worker {self.deps.worker_id}"
        if isinstance(cmd, ReplySend):
            await reply_flow.fail(self.deps.store, cmd, self.deps.worker_id, reason, "not_assigned")
        elif isinstance(cmd, LoginStart):
            await self.deps.store.append(
                LoginFailed(login_id=cmd.login_id, account_id=cmd.account_id, reason=reason, code="not_assigned"),
                msg_id=f"{cmd.login_id}:failed",
            )

    async def close(self) -> None:
        await asyncio.gather(*(runner.stop() for runner in self.runners.values()))
        self.runners.clear()
        await self.deps.chromium.stop()


@dataclass(frozen=True)
class WorkerOptions:
    worker_id: str
    platforms: tuple[str, ...]
    max_accounts: int = 10
    base_urls: Mapping[str, str] = field(default_factory=dict)  # platform -> origin, e.g. the sandbox
    parallel: int = 2
    timing: Timing = field(default_factory=Timing)
    headless: bool = True
    presence_ttl_s: float = TTL_S  # shorter only in tests, to see a dead worker sooner


async def run_worker(settings: Settings, options: WorkerOptions, stop: asyncio.Event) -> None:
    """A whole worker until `stop`: its own NATS connection, one Chromium, the agent and the accounts.

    `hiscrm worker` runs this (so does each local worker `hiscrm up` starts; the bench runs it in process).
    A browser that cannot be started again stops it too, as cleanly (worker.stopped with the reason,
    presence left, so the coordinator moves its accounts at once), and then raises BrowserGone."""
    nc = await connect(settings.servers, f"hiscrm-worker-{options.worker_id}")
    master_key = load_master_key(settings.data_dir)
    halt = asyncio.Event()  # `stop`, or the browser gone for good
    agent: WorkerAgent | None = None

    def browser_gone(gone: BrowserGone) -> None:
        if agent is not None:
            agent.stop_reason = str(gone)
        halt.set()

    deps = WorkerDeps(
        worker_id=options.worker_id,
        nc=nc,
        store=EventStore(nc),
        keys=KeyStore(nc, master_key),
        master_key=master_key,
        chromium=Chromium(headless=options.headless, on_gone=browser_gone),
        platforms={
            name: platforms.load(name, PlatformOptions(base_url=options.base_urls.get(name)))
            for name in options.platforms
        },
        data_dir=settings.data_dir,
        timing=options.timing,
        crawl_slots=asyncio.Semaphore(options.parallel),
    )
    worker = BrowserWorker(deps)
    relay = asyncio.create_task(_relay(stop, halt))
    try:
        agent = WorkerAgent(
            nc,
            options.worker_id,
            platforms=options.platforms,
            max_accounts=options.max_accounts,
            handler=worker,
            presence_interval_s=options.presence_ttl_s / 3,
            presence_ttl_s=options.presence_ttl_s,
        )
        await agent.run(halt)
    finally:
        relay.cancel()
        await worker.close()
        with contextlib.suppress(Exception):
            await nc.drain()
    if deps.chromium.gone is not None:
        raise deps.chromium.gone


async def _relay(stop: asyncio.Event, halt: asyncio.Event) -> None:
    await stop.wait()
    halt.set()
