"""Bearer tokens with roles, kept in `<data-dir>/tokens.json` as hashes; the secret is shown once.

Roles: `admin` may use everything; `im` may use the IM API and the live feed. An `im` token may be
limited to some accounts (`accounts`), which the IM routes, search and the feed honour.

`hiscrm tokens add|list|revoke` and `/api/v1/tokens` change the file (atomically, 0600, under a
lock), and a running API reads it again when it changed: before each request it looks at the file it
last read, kept open (one fstat: replaced, or its size or mtime changed), so a token added or revoked
elsewhere — by the CLI, or by another API process sharing the data dir — counts from the next request.
Open live feeds of a revoked token are told through `revocation(token)`, polled once a second while
any is open.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import functools
import hashlib
import os
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
from starlette.types import Scope

from hiscrm.api.errors import ApiError
from hiscrm.errors import HiscrmError
from hiscrm.facts.subjects import token as checked_id
from hiscrm.private import write_private

ROLES = ("admin", "im")
FILE = "tokens.json"
ADMIN_TOKEN_FILE = "admin.token"
SECRET_PREFIX = "hcrm_"
WATCH_S = 1.0


class Token(msgspec.Struct, kw_only=True, omit_defaults=True):
    id: str
    role: str
    name: str
    # sha256 of the secret, hex: the secret itself is never stored.
    hash: str
    accounts: list[str] | None = None
    created_at: int = 0

    def may_see(self, account_id: str) -> bool:
        return self.accounts is None or account_id in self.accounts


class TokenFile(msgspec.Struct):
    tokens: list[Token]


class Issued(msgspec.Struct):
    token: Token
    secret: str


class UnknownToken(HiscrmError):
    pass


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@functools.lru_cache(maxsize=1024)
def _sent_digest(secret: str) -> str:
    """digest() of a secret sent with a request: clients send the same few on every request. Whether a
    secret was hashed before tells a caller only about secrets it sent itself or already knows."""
    return digest(secret)


def _new(role: str, name: str | None, accounts: list[str] | None, taken: set[str]) -> Issued:
    if role not in ROLES:
        raise HiscrmError(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
    if accounts is not None:
        if role == "admin":
            raise HiscrmError("an admin token sees every account; --account limits im tokens only")
        if not accounts:
            raise HiscrmError("a limited token needs at least one account")
        accounts = sorted({checked_id(a, "account id") for a in accounts})
    token_id = _fresh_id(taken)
    if name is not None and not name.strip():
        raise HiscrmError("a token name may not be blank")
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    token = Token(
        id=token_id,
        role=role,
        name=(name or f"{role}-{token_id[3:]}").strip()[:100],
        hash=digest(secret),
        accounts=accounts,
        created_at=int(time.time() * 1000),
    )
    return Issued(token, secret)


def _fresh_id(taken: set[str]) -> str:
    while True:
        token_id = f"tk-{secrets.token_hex(4)}"
        if token_id not in taken:
            return token_id


def _migrate(raw: dict[str, Any], taken: set[str]) -> dict[str, Any]:
    """A token written before hashing (`token` in clear) becomes a hashed one with an id."""
    if "token" in raw:
        raw = {k: v for k, v in raw.items() if k != "token"} | {"hash": digest(raw["token"])}
    if "id" not in raw:
        raw["id"] = _fresh_id(taken)
    taken.add(raw["id"])
    return raw


class Tokens:
    """The token file as the API and the CLI see it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None  # the file as last read, kept open (see refresh)
        self._stamp: tuple[int, int, int] | None = None
        self._by_hash: dict[str, Token] = {}
        self._by_id: dict[str, Token] = {}
        self._watchers: dict[str, set[asyncio.Event]] = {}
        self._watch_task: asyncio.Task[None] | None = None
        self.refresh()

    @classmethod
    def load_or_create(cls, data_dir: Path) -> Tokens:
        """The data dir's tokens; on first use, one admin token whose secret goes to `admin.token` (0600)."""
        path = data_dir / FILE
        if not path.exists():
            data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            with _locked(path):
                if not path.exists():
                    first = _new("admin", "admin", None, set())
                    write_private(data_dir / ADMIN_TOKEN_FILE, (first.secret + "\n").encode())
                    _write(path, [first.token])
        return cls(path)

    # ---------------------------------------------------------------- reading

    def refresh(self) -> None:
        """Read the file again if it changed since the last read; tell feeds of tokens that are gone.

        Asked before every request, so it looks at the file as last read, through a descriptor kept
        open: one fstat, without the path lookup a stat by name pays (about half its time here). A
        rewrite replaces the file, which leaves the one read with no link; an edit in place changes its
        size or mtime: either is seen by the next request.
        """
        if self._fd is not None:
            st = os.fstat(self._fd)
            if st.st_nlink and (st.st_nlink, st.st_size, st.st_mtime_ns) == self._stamp:
                return
        tokens, legacy = self._reopen()
        if legacy:
            # Secrets in clear from before hashing: keep only their hashes from now on.
            with _locked(self.path):
                _write(self.path, _read(self.path)[0])
            tokens = self._reopen()[0]
        self._by_hash = {t.hash: t for t in tokens}
        self._by_id = {t.id: t for t in tokens}
        for token_id, events in self._watchers.items():
            if token_id not in self._by_id:
                for event in events:
                    event.set()

    def _reopen(self) -> tuple[list[Token], bool]:
        """Open the file anew and read it through that descriptor: what is read is what is watched."""
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            raise HiscrmError(f"{self.path} is missing; `hiscrm up` or `hiscrm api` creates it") from None
        try:
            # Stamped before reading: an edit in place while reading leaves a stamp that no longer matches.
            st = os.fstat(fd)
            with open(fd, "rb", closefd=False) as f:
                read = _parse(f.read(), self.path)
        except BaseException:
            os.close(fd)
            raise
        if self._fd is not None:
            os.close(self._fd)
        self._fd, self._stamp = fd, (st.st_nlink, st.st_size, st.st_mtime_ns)
        return read

    def __del__(self) -> None:
        if self._fd is not None:
            os.close(self._fd)

    def list(self) -> list[Token]:
        self.refresh()
        return sorted(self._by_id.values(), key=lambda t: (t.created_at, t.id))

    def authenticate(self, header: str | None) -> Token:
        if not header:
            raise ApiError(401, "missing Authorization header; send 'Authorization: Bearer <token>'")
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise ApiError(401, "Authorization must be 'Bearer <token>'")
        self.refresh()
        # A dict lookup by the secret's hash: the time it takes says nothing about any stored secret.
        found = self._by_hash.get(_sent_digest(value.strip()))
        if found is None:
            raise ApiError(401, "unknown token, or one that was revoked")
        return found

    # ---------------------------------------------------------------- changing
    # Blocking (a file lock and a write): the API calls these in a thread, then `refresh` on its loop,
    # which is where revoked tokens' feeds are told.

    def add(self, role: str, accounts: list[str] | None = None, name: str | None = None) -> Issued:
        with _locked(self.path):
            current = _read(self.path)[0]
            issued = _new(role, name, accounts, {t.id for t in current})
            _write(self.path, [*current, issued.token])
        return issued

    def revoke(self, token_id: str) -> Token:
        with _locked(self.path):
            current = _read(self.path)[0]
            gone = next((t for t in current if t.id == token_id), None)
            if gone is None:
                raise UnknownToken(f"no token {token_id!r}; `hiscrm tokens list` shows the ids")
            rest = [t for t in current if t.id != token_id]
            if gone.role == "admin" and not any(t.role == "admin" for t in rest):
                raise HiscrmError(f"{token_id} is the last admin token; add another admin token before revoking it")
            _write(self.path, rest)
        return gone

    # ---------------------------------------------------------------- live feeds

    def revocation(self, token: Token) -> asyncio.Event:
        """An event set once `token` is revoked, here or by any other process; `forget` it when done."""
        event = asyncio.Event()
        self._watchers.setdefault(token.id, set()).add(event)
        if token.id not in self._by_id:
            event.set()
        if self._watch_task is None or self._watch_task.done():
            self._watch_task = asyncio.get_running_loop().create_task(self._watch())
        return event

    def forget(self, token: Token, event: asyncio.Event) -> None:
        events = self._watchers.get(token.id)
        if events is not None:
            events.discard(event)
            if not events:
                del self._watchers[token.id]

    async def _watch(self) -> None:
        while self._watchers:
            await asyncio.sleep(WATCH_S)
            with contextlib.suppress(HiscrmError, OSError):
                self.refresh()


def read_admin_token(data_dir: Path) -> str | None:
    """The admin secret `load_or_create` left in `admin.token`, if the operator kept it."""
    try:
        return (data_dir / ADMIN_TOKEN_FILE).read_text().strip() or None
    except FileNotFoundError:
        return None


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One writer at a time across processes (the CLI, each API process)."""
    fd = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _read(path: Path) -> tuple[list[Token], bool]:
    return _parse(path.read_bytes(), path)


def _parse(data: bytes, path: Path) -> tuple[list[Token], bool]:
    """The tokens, and whether the file still holds secrets in clear."""
    try:
        raw = msgspec.json.decode(data)
        taken: set[str] = set()
        entries = [_migrate(dict(t), taken) for t in raw["tokens"]]
        tokens = msgspec.convert(entries, list[Token])
    except (msgspec.DecodeError, msgspec.ValidationError, KeyError, TypeError, ValueError) as exc:
        raise HiscrmError(f"{path} is not a valid token file: {exc}") from None
    for t in tokens:
        if t.role not in ROLES:
            raise HiscrmError(f"token {t.name!r} has unknown role {t.role!r}; roles are {', '.join(ROLES)}")
    return tokens, any("token" in t for t in raw["tokens"])


def _write(path: Path, tokens: list[Token]) -> None:
    write_private(path, msgspec.json.format(msgspec.json.encode(TokenFile(tokens))))


# Where the app leaves the token it has authenticated for a request (ASGI allows extension keys in
# the scope), so that the route does not authenticate it a second time.
TOKEN_IN_SCOPE = "hiscrm.token"


def authenticated(scope: Scope, tokens: Tokens) -> Token:
    """The request's token: the one already authenticated for it, else the one its header names."""
    found: Token | None = scope.get(TOKEN_IN_SCOPE)
    return found if found is not None else tokens.authenticate(authorization(scope))


def authorization(scope: Scope) -> str | None:
    """The Authorization header, read from the ASGI scope without building Starlette's Headers."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            return value.decode("latin-1")  # type: ignore[no-any-return]
    return None


def require(token: Token, roles: frozenset[str]) -> None:
    if token.role not in roles:
        raise ApiError(403, f"role {token.role!r} may not use this route (needs {' or '.join(sorted(roles))})")
