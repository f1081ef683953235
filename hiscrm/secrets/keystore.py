"""Per-account keys in the `hiscrm_keys` bucket, sealed with the master key.

The event stream is immutable, so a key written into it could never be destroyed. Keys live in a
bucket instead: deleting an account purges its key there, every revision of it, and from then on
the sealed credentials that stay in the stream's history cannot be opened by anyone.
"""

from __future__ import annotations

import nats.js.errors
from nats.aio.client import Client

from hiscrm.facts.subjects import KEYS_BUCKET, token
from hiscrm.secrets.sealing import new_key, seal, unseal


class KeyStore:
    def __init__(self, nc: Client, master_key: bytes) -> None:
        self.nc = nc
        self.master = master_key
        self._kv = None

    async def _bucket(self):  # type: ignore[no-untyped-def]
        if self._kv is None:
            self._kv = await self.nc.jetstream().key_value(KEYS_BUCKET)
        return self._kv

    async def create(self, account_id: str) -> bytes:
        """A fresh key for a new account; an existing live key is returned unchanged."""
        existing = await self.get(account_id)
        if existing is not None:
            return existing
        key = new_key()
        kv = await self._bucket()
        try:
            await kv.create(
                token(account_id, "account id"), seal(self.master, key, f"account-key:{account_id}").encode()
            )
        except nats.js.errors.KeyWrongLastSequenceError:
            # Someone created it between our read and our write; theirs is the key.
            found = await self.get(account_id)
            assert found is not None
            return found
        return key

    async def get(self, account_id: str) -> bytes | None:
        kv = await self._bucket()
        try:
            entry = await kv.get(token(account_id, "account id"))
        except (nats.js.errors.KeyNotFoundError, nats.js.errors.KeyDeletedError):
            return None
        if entry.value is None:
            return None
        return unseal(self.master, entry.value.decode(), f"account-key:{account_id}")

    async def destroy(self, account_id: str) -> None:
        kv = await self._bucket()
        await kv.purge(token(account_id, "account id"))

    async def seal_for(self, account_id: str, secret: bytes) -> str | None:
        key = await self.get(account_id)
        return None if key is None else seal(key, secret, f"credentials:{account_id}")

    async def unseal_for(self, account_id: str, sealed: str) -> bytes | None:
        """The secret, or None once the account's key has been destroyed."""
        key = await self.get(account_id)
        return None if key is None else unseal(key, sealed, f"credentials:{account_id}")
