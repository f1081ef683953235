"""Bearer tokens with roles, kept in `<data-dir>/tokens.json` and created on first run.

Roles: `admin` may use everything; `im` may use the IM API and the live feed. A token may be
limited to some accounts (`accounts`), which the IM routes and the feed honour.
"""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path

import msgspec

from hiscrm.api.errors import ApiError
from hiscrm.errors import HiscrmError

ROLES = ("admin", "im")


class Token(msgspec.Struct, kw_only=True, omit_defaults=True):
    token: str
    role: str
    name: str
    accounts: list[str] | None = None

    def may_see(self, account_id: str) -> bool:
        return self.accounts is None or account_id in self.accounts


class TokenFile(msgspec.Struct):
    tokens: list[Token]


class Tokens:
    def __init__(self, tokens: list[Token]) -> None:
        for t in tokens:
            if t.role not in ROLES:
                raise HiscrmError(f"token {t.name!r} has unknown role {t.role!r}; roles are {', '.join(ROLES)}")
        self._tokens = tokens

    @classmethod
    def load_or_create(cls, data_dir: Path) -> Tokens:
        path = data_dir / "tokens.json"
        if not path.exists():
            data_dir.mkdir(parents=True, exist_ok=True)
            fresh = TokenFile(
                [
                    Token(token=secrets.token_urlsafe(24), role="admin", name="admin"),
                    Token(token=secrets.token_urlsafe(24), role="im", name="im"),
                ]
            )
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(msgspec.json.format(msgspec.json.encode(fresh)))
        try:
            return cls(msgspec.json.decode(path.read_bytes(), type=TokenFile).tokens)
        except msgspec.DecodeError as exc:
            raise HiscrmError(f"{path} is not a valid token file: {exc}") from None

    def first(self, role: str) -> Token:
        return next(t for t in self._tokens if t.role == role)

    def authenticate(self, header: str | None) -> Token:
        if not header:
            raise ApiError(401, "missing Authorization header; send 'Authorization: Bearer <token>'")
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise ApiError(401, "Authorization must be 'Bearer <token>'")
        value = value.strip()
        for t in self._tokens:
            if hmac.compare_digest(t.token.encode(), value.encode()):
                return t
        raise ApiError(401, "unknown token")


def require(token: Token, roles: frozenset[str]) -> None:
    if token.role not in roles:
        raise ApiError(403, f"role {token.role!r} may not use this route (needs {' or '.join(sorted(roles))})")
