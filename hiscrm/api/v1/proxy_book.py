"""Proxies in the `hiscrm_proxies` bucket: one msgspec-JSON ProxyConfig per proxy id.

Passwords are sealed with the master key for `proxy:<id>` before they are stored, so the bucket,
its history and anything copied from it (account configs) never hold one in clear. Deleting a
proxy purges its key, every stored revision with it.
"""

from __future__ import annotations

import msgspec
import nats.js.errors
from nats.js.kv import KeyValue

from hiscrm.facts.messages import ProxyConfig
from hiscrm.facts.subjects import PROXIES_BUCKET, token
from hiscrm.secrets.sealing import seal
from hiscrm.store.connection import HiscrmClient

_MISSING = (nats.js.errors.KeyNotFoundError, nats.js.errors.KeyDeletedError)


class Stale(Exception):
    """The proxy changed between our read and our write."""


def seal_password(master_key: bytes, proxy_id: str, password: str) -> str:
    return seal(master_key, password.encode(), f"proxy:{proxy_id}")


class ProxyBook:
    def __init__(self, nc: HiscrmClient) -> None:
        self.nc = nc

    async def _kv(self) -> KeyValue:
        return await self.nc.jetstream().key_value(PROXIES_BUCKET)

    async def get(self, proxy_id: str) -> tuple[ProxyConfig, int] | None:
        """The proxy and its revision (for a conditional update), or None."""
        kv = await self._kv()
        try:
            entry = await kv.get(token(proxy_id, "proxy id"))
        except _MISSING:
            return None
        if not entry.value:
            return None
        return msgspec.json.decode(entry.value, type=ProxyConfig), entry.revision or 0

    async def all(self) -> list[ProxyConfig]:
        kv = await self._kv()
        try:
            keys = await kv.keys()
        except nats.js.errors.NoKeysError:
            return []
        found = [await self.get(k) for k in sorted(keys)]
        return [proxy for proxy, _ in filter(None, found)]

    async def create(self, proxy: ProxyConfig) -> bool:
        """False when the id is taken."""
        kv = await self._kv()
        try:
            await kv.create(token(proxy.proxy_id, "proxy id"), msgspec.json.encode(proxy))
        except nats.js.errors.KeyWrongLastSequenceError:
            return False
        return True

    async def update(self, proxy: ProxyConfig, revision: int) -> None:
        kv = await self._kv()
        try:
            await kv.update(token(proxy.proxy_id, "proxy id"), msgspec.json.encode(proxy), last=revision)
        except nats.js.errors.KeyWrongLastSequenceError:
            raise Stale(proxy.proxy_id) from None

    async def delete(self, proxy_id: str) -> None:
        kv = await self._kv()
        await kv.purge(token(proxy_id, "proxy id"))
