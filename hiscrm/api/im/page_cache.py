"""Whole answers of IM list pages, kept as the bytes sent, until what they were read from moves.

IM clients poll the first pages of their lists over and over; between two facts that could change a
page, every such request would build the same answer. A page of one account's unified inbox,
conversations, messages, discussions, a comment's thread, contents or search reads models that only
that account's `inbox.*` facts change; its notifications also change with the account's own and login
facts; the accounts list with any fact the accounts model applies (projections/inbox_versions.py keeps
a version of each: the stream sequence of the last such fact). So a page depends only on the request's
path and query, the caller's scope (the accounts a limited token sees), the generation of the models
and that version: its answer, envelope and all, is kept with them and served again while they hold.
A page of every account the caller sees depends on those accounts and the largest of their versions.

Two ways to a kept answer, with the same checks:

- the route, after its own checks (token, role, the account seen and not deleted), compares versions
  and answers the kept bytes instead of walking the page again;
- ahead of routing (`PageCache.ahead`, called by the app before Starlette's middleware and router),
  when the request itself names everything the page depends on — the account in `account_id`, or no
  account at all (the accounts list) — so the same checks can be made without the route: the token is
  authenticated (a revoked one counts from the next request), its role must be one the route allows,
  it must see the account, the account must exist, and the version and generation must be the kept ones.
  Otherwise the request goes the whole way, which then answers with the right error or a fresh page.

Only successful answers are kept; an error is made again every time. The pages kept weigh at most
`size` bytes (with an allowance per page for its key and bookkeeping); nothing is kept with `size=0`.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any

from starlette.types import Scope

from hiscrm.api.auth import TOKEN_IN_SCOPE, Token, Tokens, authorization
from hiscrm.api.bounded import Bounded
from hiscrm.api.envelopes import ReadyResponse, success
from hiscrm.api.errors import ApiError
from projections import accounts, inbox_versions

if TYPE_CHECKING:
    from hiscrm.api.routing import Call
    from hiscrm.projector.live import LiveModels
    from hiscrm.projector.model import Tx

SIZE = 64 << 20
PREFIX = "/api/im/"  # every page kept is one of the IM API's
# What keeping a page costs beside its bytes: its key, the Kept, a dict and a deque slot (about).
PER_PAGE = 512

VersionOf = Callable[["Tx"], int]


class Kept:
    """One page's answer and what it was read from. `version_of` is set on pages served ahead of routing."""

    __slots__ = ("account_id", "body", "headers", "roles", "route", "status", "tables", "version", "version_of")

    def __init__(
        self,
        response: ReadyResponse,
        tables: object,
        version: int,
        ahead: tuple[str | None, VersionOf, frozenset[str] | None, str] | None,
    ) -> None:
        self.body = response.body
        self.headers = response.raw_headers
        self.status = response.status_code
        self.tables = tables
        self.version = version
        self.account_id, self.version_of, self.roles, self.route = ahead or (None, None, None, "")


def scope_of(token: Token | None) -> tuple[str, ...] | None:
    """What of the caller a page may depend on: the accounts a limited token sees (None: every one)."""
    return None if token is None or token.accounts is None else tuple(token.accounts)


class PageCache:
    def __init__(self, size: int = SIZE) -> None:
        self._pages: Bounded[Hashable, Kept] = Bounded(size, lambda kept: len(kept.body) + PER_PAGE)
        self.hits = 0
        self.misses = 0

    def page(
        self,
        call: Call,
        tx: Tx,
        page_key: Hashable,
        version_of: VersionOf,
        build: Callable[[], Any],
        ahead: tuple[str | None, frozenset[str] | None] | None = None,
    ) -> ReadyResponse:
        """The kept answer under `page_key` if read from these models at this version, else `build()`'s,
        kept. With `ahead` (the account the request names, the route's roles) it may be served ahead of
        routing, and `page_key` must then be the request's `ahead_key`."""
        version = version_of(tx)
        found = self._pages.get(page_key)
        if found is not None and found.version == version and found.tables is tx.dbs:
            self.hits += 1
            return ReadyResponse(found.body, found.status)
        self.misses += 1
        endpoint = call.endpoint
        response = success(endpoint.family, build(), endpoint.status)
        served = None if ahead is None else (ahead[0], version_of, ahead[1], endpoint.path)
        self._pages.put(page_key, Kept(response, tx.dbs, version, served))
        return response

    def ahead(self, scope: Scope, tokens: Tokens, models: LiveModels) -> Kept | None:
        """The kept answer to this GET if it is still the answer, checked as its route checks; None sends
        the request the whole way (with its token, once authenticated here, in the scope)."""
        if not scope["path"].startswith(PREFIX):
            return None
        header = authorization(scope)
        if header is None:
            return None
        try:
            token = scope[TOKEN_IN_SCOPE] = tokens.authenticate(header)
        except ApiError:
            return None
        found = self._pages.get(ahead_key(scope, token))
        if found is None or found.version_of is None or (found.roles is not None and token.role not in found.roles):
            return None
        account_id = found.account_id
        if account_id is not None and not token.may_see(account_id):
            return None
        with models.read() as tx:
            if found.tables is not tx.dbs or found.version_of(tx) != found.version:
                return None
            if account_id is not None and not tx.exists(accounts.ROWS, accounts.row_key(account_id)):
                return None
        self.hits += 1
        return found


def ahead_key(scope: Scope, token: Token | None) -> tuple[Any, ...]:
    return (scope["path"], scope["query_string"], scope_of(token))


def account_page(
    call: Call,
    tx: Tx,
    account_id: str,
    build: Callable[[], Any],
    version_of: Callable[[Tx, str], int] = inbox_versions.version,
) -> ReadyResponse:
    """The page this request asks of a visible `account_id`'s models: kept, or built and kept.
    `version_of` names what the page reads beyond the inbox (inbox_versions.account_version)."""
    cache: PageCache = call.request.app.state.page_cache
    scope = call.request.scope
    # Served ahead of routing only when the request names the account: one found from an item's id
    # (discussions of a comment, without account_id) may be another once other accounts change.
    named = getattr(call.query, "account_id", None) == account_id
    page_key = ahead_key(scope, call.token) if named else (*ahead_key(scope, call.token), account_id)
    return cache.page(
        call,
        tx,
        page_key,
        lambda t: version_of(t, account_id),
        build,
        (account_id, call.endpoint.roles) if named else None,
    )


def accounts_scope_page(
    call: Call,
    tx: Tx,
    account_ids: list[str],
    build: Callable[[], Any],
    version_of: Callable[[Tx, str], int] = inbox_versions.version,
) -> ReadyResponse:
    """A page over every account the caller sees (`account_ids`, each checked shown): kept while none of
    their versions moves. Versions are stream sequences, so their largest moves whenever any does; an
    account created, deleted or out of scope changes `account_ids`, which is part of the key."""
    cache: PageCache = call.request.app.state.page_cache
    return cache.page(
        call,
        tx,
        (*ahead_key(call.request.scope, call.token), tuple(account_ids)),
        lambda t: max((version_of(t, a) for a in account_ids), default=0),
        build,
    )


def accounts_page(call: Call, tx: Tx, build: Callable[[], Any]) -> ReadyResponse:
    """A page of the accounts list: it depends on the accounts model and the caller's scope only."""
    cache: PageCache = call.request.app.state.page_cache
    return cache.page(
        call, tx, ahead_key(call.request.scope, call.token), inbox_versions.accounts_version, build,
        (None, call.endpoint.roles),
    )  # fmt: skip
