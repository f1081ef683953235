"""The demo `hiscrm up` runs unless --no-demo: the sandbox's kitchen account in HisCRM, logged in by a
QR scan the sandbox confirms by itself, with a traffic generator adding comments and messages.

The demo goes through the front door: it appends the facts the API would (account.created,
login.requested); the coordinator assigns the account and sends the login to the worker, the
worker shows the QR, and the "phone" here scans it a moment later, as the account.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable

from hiscrm.errors import ConcurrencyConflict
from hiscrm.facts.catalogue import (
    AccountAssigned,
    AccountCreated,
    AccountSessionExpired,
    AccountUnassigned,
    LoginExpired,
    LoginFailed,
    LoginQrcodeReady,
    LoginQrcodeRefreshed,
    LoginRequested,
    LoginSucceeded,
)
from hiscrm.facts.codec import Recorded, new_id
from hiscrm.facts.subjects import aggregate_filter, aggregate_type_filter
from hiscrm.parts import cancel_and_wait
from hiscrm.sandbox import qr
from hiscrm.sandbox.model import Invalid, NotFound
from hiscrm.sandbox.state import World
from hiscrm.secrets.keystore import KeyStore
from hiscrm.store import reader
from hiscrm.store.connection import HiscrmClient
from hiscrm.store.event_store import EventStore

log = logging.getLogger(__name__)

ACCOUNT_ID = "demo-kitchen"
UID = "2381749560317724160"  # 林小满的厨房 in the sandbox's demo world
INTERVAL_S = 15
LOGIN_WINDOW_MS = 300_000
SCAN_AFTER_S = 3.0  # long enough to see the QR in the console first
COMMENTS_PER_MINUTE = 6.0
MESSAGES_PER_MINUTE = 3.0


RETRY_S = 10.0  # between login requests while none succeeds (no live worker yet, a failed scan)


class _DemoAccount:
    """What the facts say about the demo account's login, as far as they have been read."""

    def __init__(self) -> None:
        self.caught_up = False
        self.assigned = False
        self.logged_in = False
        self.live_login: str | None = None
        self.qr_images: list[str] = []  # what the live login's QR facts carried
        self._pngs: dict[str, str] = {}

    def shows(self, token: str) -> bool:
        """Whether the sandbox QR `token` is one the demo's live login reported (same PNG)."""
        if token not in self._pngs:
            self._pngs[token] = qr.png_base64(token)
        return any(self._pngs[token] in image for image in self.qr_images)

    def forget_all_but(self, tokens: Iterable[str]) -> None:
        """Drop the PNGs of QRs the sandbox no longer holds, so a long `up` does not collect them forever."""
        self._pngs = {token: self._pngs[token] for token in tokens if token in self._pngs}

    def apply(self, fact: object) -> None:
        if getattr(fact, "account_id", None) != ACCOUNT_ID:
            return
        if isinstance(fact, AccountAssigned | AccountUnassigned):
            self.assigned = isinstance(fact, AccountAssigned)
        elif isinstance(fact, AccountSessionExpired):
            self.logged_in = False
        elif isinstance(fact, LoginRequested):
            self.live_login, self.qr_images = fact.login_id, []
        elif isinstance(fact, LoginQrcodeReady | LoginQrcodeRefreshed) and fact.login_id == self.live_login:
            self.qr_images.append(fact.qrcode)
        elif isinstance(fact, LoginSucceeded | LoginFailed | LoginExpired):
            self.logged_in = self.logged_in or isinstance(fact, LoginSucceeded)
            if fact.login_id == self.live_login:
                self.live_login = None

    @property
    def wants_login(self) -> bool:
        return self.caught_up and self.assigned and not self.logged_in and self.live_login is None


async def run_demo(nc: HiscrmClient, keys: KeyStore, world: World, stop: asyncio.Event) -> None:
    """Until `stop`: the demo account exists and stays logged in; every new QR the sandbox shows is scanned."""
    store = EventStore(nc)
    await _ensure_account(store, keys)
    account = world.account(UID)
    account.comments_per_minute, account.messages_per_minute = COMMENTS_PER_MINUTE, MESSAGES_PER_MINUTE
    state = _DemoAccount()
    follower = asyncio.create_task(_follow(nc, state))
    last_request = -RETRY_S
    try:
        while not stop.is_set():
            _scan_waiting_qrs(world, state)
            if state.wants_login and time.monotonic() - last_request >= RETRY_S:
                last_request = time.monotonic()
                await _request_login(store)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.5)
    finally:
        await cancel_and_wait(follower)


async def _follow(nc: HiscrmClient, state: _DemoAccount) -> None:
    subjects = [aggregate_filter("account", ACCOUNT_ID), aggregate_type_filter("login")]
    async for raw in reader.read_raw(nc, subject=subjects, follow=True):
        item = reader.decode_raw(raw)
        if isinstance(item, Recorded):
            state.apply(item.fact)
        state.caught_up = state.caught_up or raw.pending == 0


async def _request_login(store: EventStore) -> None:
    login_id = f"demo-{new_id()}"
    expires = int(time.time() * 1000) + LOGIN_WINDOW_MS
    await store.append(
        LoginRequested(login_id=login_id, account_id=ACCOUNT_ID, expires_at_ms=expires, requested_by="demo")
    )
    log.info("demo: login %s requested for %s", login_id, ACCOUNT_ID)


async def _ensure_account(store: EventStore, keys: KeyStore) -> None:
    await keys.create(ACCOUNT_ID)
    created = AccountCreated(
        account_id=ACCOUNT_ID, platform="douyin", account_name="林小满的厨房（演示）", monitor_interval=INTERVAL_S
    )
    with contextlib.suppress(ConcurrencyConflict):  # it exists from an earlier run
        await store.append(created, expected_last_seq=0)


def _scan_waiting_qrs(world: World, state: _DemoAccount) -> None:
    """Scan the QRs the demo's own login shows, and only those: another account's login is its owner's."""
    now = world.clock()
    for token, waiting in list(world.qr_logins.items()):
        if waiting.status == "new" and now - waiting.created >= SCAN_AFTER_S and state.shows(token):
            with contextlib.suppress(Invalid, NotFound):
                world.scan(token, UID, confirm=True)
                log.info("demo: the sandbox confirmed QR login %s… as %s", token[:8], UID)
    state.forget_all_but(world.qr_logins)
