"""Authenticated encryption of secrets, bound to what they belong to.

Credentials (cookies, storage state) are sealed with their account's own key, and account keys
are sealed with the master key. The associated data names the account, so a sealed value moved
to another account fails to open instead of leaking.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hiscrm.errors import HiscrmError
from hiscrm.private import create_private

PREFIX = "s1:"
KEY_BYTES = 32


class Unsealable(HiscrmError):
    """The key is gone or wrong, or the sealed value was altered."""


def new_key() -> bytes:
    return AESGCM.generate_key(bit_length=KEY_BYTES * 8)


def seal(key: bytes, plaintext: bytes, context: str) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, plaintext, context.encode())
    return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()


def unseal(key: bytes, token: str, context: str) -> bytes:
    if not token.startswith(PREFIX):
        raise Unsealable(f"not a sealed value for {context}")
    raw = base64.urlsafe_b64decode(token[len(PREFIX) :])
    try:
        return AESGCM(key).decrypt(raw[:12], raw[12:], context.encode())
    except InvalidTag:
        raise Unsealable(f"cannot open the sealed value for {context}: wrong key or altered") from None


def load_master_key(data_dir: Path) -> bytes:
    """HISCRM_MASTER_KEY (base64 of 32 bytes) if set, else `<data-dir>/master.key`, created on first run."""
    configured = os.environ.get("HISCRM_MASTER_KEY")
    if configured:
        try:
            key = base64.b64decode(configured, validate=True)
        except ValueError:
            raise HiscrmError("HISCRM_MASTER_KEY is not base64") from None
        if len(key) != KEY_BYTES:
            raise HiscrmError(f"HISCRM_MASTER_KEY must be {KEY_BYTES} bytes, got {len(key)}")
        return key
    path = data_dir / "master.key"
    if not path.exists():
        create_private(path, base64.b64encode(new_key()))
    key = base64.b64decode(path.read_bytes())
    if len(key) != KEY_BYTES:
        raise HiscrmError(f"{path} does not hold a {KEY_BYTES}-byte key")
    return key
