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

from hiscrm.errors import ConcurrencyConflict
from hiscrm.facts.catalogue import AccountCreated, LoginRequested, LoginSucceeded
from hiscrm.facts.codec import Recorded, new_id
from hiscrm.facts.subjects import aggregate_type_filter
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


async def run_demo(nc: HiscrmClient, keys: KeyStore, world: World, stop: asyncio.Event) -> None:
    """Until `stop`: the demo account exists and logs in once; every new QR the sandbox shows is scanned."""
    store = EventStore(nc)
    await _ensure_account(store, keys)
    if not await _ever_logged_in(nc):
        login_id = f"demo-{new_id()}"
        expires = int(time.time() * 1000) + LOGIN_WINDOW_MS
        await store.append(
            LoginRequested(login_id=login_id, account_id=ACCOUNT_ID, expires_at_ms=expires, requested_by="demo")
        )
    account = world.account(UID)
    account.comments_per_minute, account.messages_per_minute = COMMENTS_PER_MINUTE, MESSAGES_PER_MINUTE
    while not stop.is_set():
        _scan_waiting_qrs(world)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.5)


async def _ensure_account(store: EventStore, keys: KeyStore) -> None:
    await keys.create(ACCOUNT_ID)
    created = AccountCreated(
        account_id=ACCOUNT_ID, platform="douyin", account_name="林小满的厨房（演示）", monitor_interval=INTERVAL_S
    )
    with contextlib.suppress(ConcurrencyConflict):  # it exists from an earlier run
        await store.append(created, expected_last_seq=0)


async def _ever_logged_in(nc: HiscrmClient) -> bool:
    async for item in reader.read(nc, subject=aggregate_type_filter("login")):
        if isinstance(item, Recorded) and isinstance(item.fact, LoginSucceeded) and item.fact.account_id == ACCOUNT_ID:
            return True
    return False


def _scan_waiting_qrs(world: World) -> None:
    now = world.clock()
    for token, qr in list(world.qr_logins.items()):
        if qr.status == "new" and now - qr.created >= SCAN_AFTER_S:
            with contextlib.suppress(Invalid, NotFound):
                world.scan(token, UID, confirm=True)
                log.info("demo: the sandbox confirmed QR login %s… as %s", token[:8], UID)
