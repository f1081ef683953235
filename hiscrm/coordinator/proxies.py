"""The proxies accounts may name, as `hiscrm_proxies` holds them, kept current by a watch."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import msgspec
from nats.aio.client import Client

from hiscrm.facts.messages import ProxyConfig
from hiscrm.facts.subjects import PROXIES_BUCKET
from hiscrm.store import kv

log = logging.getLogger(__name__)

_decoder = msgspec.json.Decoder(ProxyConfig)


class Proxies:
    def __init__(self, nc: Client, on_change: Callable[[str], None]) -> None:
        self.js = nc.jetstream()
        self.on_change = on_change  # called with the proxy id whose settings changed
        self.values: dict[str, ProxyConfig] = {}
        self.ready = asyncio.Event()

    def get(self, proxy_id: str | None) -> ProxyConfig | None:
        return None if proxy_id is None else self.values.get(proxy_id)

    async def run(self) -> None:
        bucket = await self.js.key_value(PROXIES_BUCKET)
        await kv.follow(bucket, ">", self._seen, self.ready)

    def _seen(self, entry: kv.Entry) -> None:
        if kv.removed(entry):
            self.values.pop(entry.key, None)
        else:
            try:
                self.values[entry.key] = _decoder.decode(entry.value)
            except msgspec.DecodeError as exc:
                log.error("proxy %s is unreadable, ignored: %s", entry.key, exc)
                return
        if self.ready.is_set():
            self.on_change(entry.key)
