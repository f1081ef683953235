"""An account's browser storage state, kept fresh on this worker's disk, sealed like everywhere else.

The config carries the storage state sealed at login. The site refreshes cookies as the account is
used, so after each pass the context's current state is sealed into `<account dir>/storage.sealed`,
tagged with the login it descends from; it is preferred while the config still names that login.
A new login (other sealed credentials in the config) makes it stale.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from pathlib import Path
from typing import Any

import msgspec

from hiscrm.facts.messages import AccountConfig
from hiscrm.private import write_private
from hiscrm.secrets.keystore import KeyStore
from hiscrm.secrets.sealing import Unsealable

log = logging.getLogger(__name__)
FILE = "storage.sealed"


class _Saved(msgspec.Struct):
    login: str  # hash of the config's sealed credentials this state descends from
    sealed: str


def _login_tag(config: AccountConfig) -> str:
    return hashlib.sha256((config.sealed_credentials or "").encode()).hexdigest()[:32]


def _read(path: Path) -> _Saved | None:
    try:
        return msgspec.msgpack.decode(path.read_bytes(), type=_Saved)
    except (FileNotFoundError, msgspec.DecodeError):
        return None


class Credentials:
    def __init__(self, keys: KeyStore, account_dir: Path, account_id: str) -> None:
        self.keys = keys
        self.path = account_dir / FILE
        self.account_id = account_id
        self._last_saved: bytes | None = None

    async def load(self, config: AccountConfig) -> dict[str, Any] | None:
        """The freshest storage state for the login the config names, or None (log in first)."""
        if not config.sealed_credentials:
            return None
        saved = await asyncio.to_thread(_read, self.path)
        sealed = saved.sealed if saved is not None and saved.login == _login_tag(config) else config.sealed_credentials
        try:
            plain = await self.keys.unseal_for(self.account_id, sealed)
        except Unsealable as exc:
            log.error("%s: cannot open the stored credentials: %s", self.account_id, exc)
            return None
        if plain is None:
            log.error("%s: the account's key is gone; its credentials cannot be opened", self.account_id)
            return None
        self._last_saved = plain
        return msgspec.json.decode(plain)

    async def forget(self) -> None:
        """Drops the state kept on this worker's disk: a session logged out must not come back from it."""
        await asyncio.to_thread(self.path.unlink, missing_ok=True)
        self._last_saved = None

    async def seal(self, state: dict[str, Any]) -> str | None:
        """The state sealed with the account's key, as login.succeeded carries it (None: no key)."""
        return await self.keys.seal_for(self.account_id, msgspec.json.encode(state))

    async def save(self, config: AccountConfig, state: dict[str, Any]) -> None:
        plain = msgspec.json.encode(state)
        if plain == self._last_saved or not config.sealed_credentials:
            return
        sealed = await self.keys.seal_for(self.account_id, plain)
        if sealed is not None:
            data = msgspec.msgpack.encode(_Saved(_login_tag(config), sealed))
            await asyncio.to_thread(write_private, self.path, data)
            self._last_saved = plain
