"""/api/v1/tokens: API tokens by role and account scope, as `hiscrm tokens` manages them (admin only).

The secret is in the answer to POST and nowhere else; only its hash is kept. A revoked token is
refused from the next request on, in this process and in any other reading the same data dir, and
its open live feeds end. `GET /api/v1/tokens/current` tells any token what it is (the console signs
in by role with it).
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Literal

import msgspec

from hiscrm.api.auth import Token, Tokens, UnknownToken
from hiscrm.api.errors import bad_request, not_found
from hiscrm.api.routing import Call, Router
from hiscrm.api.v1.common import ADMIN, Deleted, path_id
from hiscrm.errors import HiscrmError

router = Router("v1", ADMIN, "tokens")

Role = Literal["admin", "im"]
AccountId = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]


class TokenView(msgspec.Struct, kw_only=True):
    id: str
    role: Role
    name: str
    accounts: list[str] | None = msgspec.field(default=None)
    created_at: int

    @classmethod
    def of(cls, t: Token) -> TokenView:
        return cls(id=t.id, role=t.role, name=t.name, accounts=t.accounts, created_at=t.created_at)  # type: ignore[arg-type]


class TokenCreated(TokenView, kw_only=True):
    """The only answer that carries the secret (`token`)."""

    token: str


class TokenCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    role: Role
    accounts: Annotated[list[AccountId], msgspec.Meta(min_length=1, max_length=1000)] | None = None
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)] | None = None


def _tokens(call: Call) -> Tokens:
    return call.request.app.state.tokens  # type: ignore[no-any-return]


@router.route("GET", "/api/v1/tokens", summary="every token (never the secrets)", response=list[TokenView])
async def list_tokens(call: Call) -> list[TokenView]:
    return [TokenView.of(t) for t in _tokens(call).list()]


@router.route(
    "GET",
    "/api/v1/tokens/current",
    summary="the calling token: id, role, name, accounts",
    response=TokenView,
    roles=frozenset({"admin", "im"}),
)
async def current(call: Call) -> TokenView:
    assert call.token is not None
    return TokenView.of(call.token)


@router.route(
    "POST", "/api/v1/tokens", summary="add a token; its secret is in this answer only", body=TokenCreate,
    response=TokenCreated, status=201,
)  # fmt: skip
async def add(call: Call) -> TokenCreated:
    b: TokenCreate = call.body
    try:
        # A file lock and an atomic write: off the event loop.
        issued = await asyncio.to_thread(_tokens(call).add, b.role, b.accounts, b.name)
    except HiscrmError as exc:
        raise bad_request(str(exc)) from None
    _tokens(call).refresh()
    view = TokenView.of(issued.token)
    return TokenCreated(**msgspec.structs.asdict(view), token=issued.secret)


@router.route("DELETE", "/api/v1/tokens/{id}", summary="revoke a token; its live feeds end", response=Deleted)
async def revoke(call: Call) -> Deleted:
    token_id = path_id(call, "token id")
    try:
        gone = await asyncio.to_thread(_tokens(call).revoke, token_id)
    except UnknownToken:
        raise not_found(f"token {token_id!r}") from None
    except HiscrmError as exc:
        raise bad_request(str(exc)) from None
    _tokens(call).refresh()
    return Deleted(id=gone.id)
