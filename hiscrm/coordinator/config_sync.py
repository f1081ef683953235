"""Keeping `hiscrm_config` equal to what the facts say, one account at a time.

The coordinator watches the whole bucket, so it always knows what each key holds (after a
takeover too: reconciling is syncing every account). Every write is compare-and-set on the key's
last revision, so a write based on a stale view fails instead of clobbering; it is then re-read
and re-decided. A config is never written with a revision at or below the one the key holds: when
only something outside the facts changed (a proxy's settings), the account is reported stale, and
the coordinator records a fact for it whose sequence becomes the new revision.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import msgspec
from nats.aio.client import Client

from hiscrm.facts.messages import AccountConfig
from hiscrm.facts.subjects import CONFIG_BUCKET, config_key
from hiscrm.store import kv

log = logging.getLogger(__name__)

ATTEMPTS = 4

_decoder = msgspec.json.Decoder(AccountConfig)
_encoder = msgspec.json.Encoder()


class Held(msgspec.Struct, frozen=True):
    kv_revision: int
    config: AccountConfig | None  # None: the key's last message is a removal


def _decode(key: str, value: bytes | None) -> AccountConfig | None:
    if value is None:
        return None
    try:
        return _decoder.decode(value)
    except msgspec.DecodeError:
        # Unreadable counts as holding nothing; the next write replaces it.
        log.error("config %s is unreadable; it will be rewritten", key)
        return AccountConfig(account_id="", worker_id="", platform="", account_name="", monitor_interval=0)


def same_settings(a: AccountConfig, b: AccountConfig) -> bool:
    return msgspec.structs.replace(a, revision=0) == msgspec.structs.replace(b, revision=0)


class ConfigSync:
    def __init__(
        self,
        nc: Client,
        *,
        guard: Callable[[], None],
        on_stale: Callable[[str], None],
        on_foreign: Callable[[str], None],
    ) -> None:
        self.js = nc.jetstream()
        self.guard = guard  # raises unless this coordinator may write now
        self.on_stale = on_stale  # an account's config must change but no fact gives it a higher revision
        self.on_foreign = on_foreign  # an account's key changed by someone else: look at it again
        self.held: dict[str, Held] = {}
        self.keys_of: dict[str, set[str]] = {}  # account -> workers with a live key for it
        self.ready = asyncio.Event()

    async def run(self) -> None:
        bucket = await self.js.key_value(CONFIG_BUCKET)
        await kv.follow(bucket, ">", self._seen, self.ready)

    def _seen(self, entry: kv.Entry) -> None:
        held = self.held.get(entry.key)
        if held is not None and entry.revision <= held.kv_revision:
            return  # our own write, already recorded
        value = None if kv.removed(entry) else entry.value
        self._record(entry.key, Held(entry.revision, _decode(entry.key, value)))
        if self.ready.is_set():
            self.on_foreign(entry.key.partition(".")[2])

    def _record(self, key: str, held: Held) -> None:
        self.held[key] = held
        worker, _, account = key.partition(".")
        workers = self.keys_of.setdefault(account, set())
        if held.config is None:
            workers.discard(worker)
        else:
            workers.add(worker)

    async def _refresh(self, key: str) -> Held:
        revision, value = await kv.latest(self.js, CONFIG_BUCKET, key)
        held = Held(revision, _decode(key, value))
        self._record(key, held)
        return held

    async def sync(self, account_id: str, desired: AccountConfig | None) -> None:
        """Make the account's keys what `desired` says: its one key, or none."""
        for worker in sorted(self.keys_of.get(account_id, ())):
            if desired is None or worker != desired.worker_id:
                await self._remove(config_key(worker, account_id))
        if desired is not None:
            await self._write(desired)

    async def _remove(self, key: str) -> None:
        for _ in range(ATTEMPTS):
            held = self.held.get(key) or await self._refresh(key)
            if held.config is None:
                return
            self.guard()
            try:
                self._record(key, Held(await kv.purge(self.js, CONFIG_BUCKET, key, expected=held.kv_revision), None))
                return
            except kv.StaleRevision:
                await self._refresh(key)
        log.warning("config %s: still changing under us after %d attempts; retried later", key, ATTEMPTS)
        self.on_foreign(key.partition(".")[2])

    async def _write(self, desired: AccountConfig) -> None:
        key = config_key(desired.worker_id, desired.account_id)
        for _ in range(ATTEMPTS):
            held = self.held.get(key) or Held(0, None)
            if held.config is not None:
                if same_settings(held.config, desired):
                    return
                if desired.revision <= held.config.revision:
                    self.on_stale(desired.account_id)
                    return
            self.guard()
            try:
                revision = await kv.put(
                    self.js, CONFIG_BUCKET, key, _encoder.encode(desired), expected=held.kv_revision
                )
            except kv.StaleRevision:
                await self._refresh(key)
                continue
            self._record(key, Held(revision, desired))
            return
        log.warning("config %s: still changing under us after %d attempts; retried later", key, ATTEMPTS)
        self.on_foreign(desired.account_id)
