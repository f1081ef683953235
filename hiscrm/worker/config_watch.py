"""The worker's side of assignment: the keys under `hiscrm_config.<worker_id>.*`, as they change.

A key appearing is an account to run, a higher revision is a config to apply live, a removed key is
an account to let go. A value whose revision is not above the one held is dropped, so an old
config never replaces a newer one whatever the order of writes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable

import msgspec
from nats.aio.client import Client

from hiscrm.facts.messages import AccountConfig
from hiscrm.facts.subjects import CONFIG_BUCKET, worker_config_keys, worker_reader
from hiscrm.store import kv
from hiscrm.worker.handler import Handler

log = logging.getLogger(__name__)

_decoder = msgspec.json.Decoder(AccountConfig)


class ConfigWatch:
    def __init__(self, nc: Client, worker_id: str, handler: Handler) -> None:
        self.js = nc.jetstream()
        self.keys = worker_config_keys(worker_id)
        self.consumer = worker_reader(worker_id, "config")
        self.handler = handler
        self.configs: dict[str, AccountConfig] = {}
        self.ready = asyncio.Event()  # set once every key present at start has been handed over
        self._changed = asyncio.Condition()

    async def run(self) -> None:
        bucket = await self.js.key_value(CONFIG_BUCKET)
        await kv.follow(bucket, self.keys, self._change, self.ready, consumer=self.consumer)

    async def holds(self, account_id: str, timeout: float) -> bool:
        """Whether this worker holds the account's config, waiting up to `timeout` for it to arrive."""
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(lambda: account_id in self.configs), timeout)
            except TimeoutError:
                return False
        return True

    async def _change(self, entry: kv.Entry) -> None:
        await self._apply(entry)
        async with self._changed:
            self._changed.notify_all()

    async def _apply(self, entry: kv.Entry) -> None:
        account_id = entry.key.partition(".")[2]
        if kv.removed(entry):
            if self.configs.pop(account_id, None) is not None:
                await self._hand_over(self.handler.on_removed(account_id), entry)
            return
        try:
            config = _decoder.decode(entry.value)
        except msgspec.DecodeError as exc:
            log.error("config %s (revision %d) is unreadable, ignored: %s", entry.key, entry.revision, exc)
            return
        held = self.configs.get(account_id)
        if held is not None and config.revision <= held.revision:
            return
        self.configs[account_id] = config
        await self._hand_over(self.handler.on_config(config), entry)

    async def _hand_over(self, call: Awaitable[None], entry: kv.Entry) -> None:
        # A handler failing on one account must not stop the configs of all the others.
        try:
            await call
        except Exception:
            log.exception("handler failed on config %s (revision %d)", entry.key, entry.revision)
