"""The adapter boundary: what the worker asks of a platform, and how a platform answers or complains.

A platform adapter drives one account's browser context. It knows the platform's pages, requests
and texts; it does not know about NATS, facts' msg ids, dedupe or backoff. It hands back
observations (the inbox facts, unannounced: the worker decides which are new), login progress
through a `LoginReport`, and trouble as exceptions the worker turns into facts and backoff.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Literal, Protocol

import msgspec
from playwright.async_api import BrowserContext

from hiscrm.errors import HiscrmError
from hiscrm.facts.catalogue import (
    CommentObserved,
    ContentObserved,
    ConversationObserved,
    CrawlSwitches,
    MessageObserved,
    NotificationObserved,
    Profile,
)
from hiscrm.facts.messages import ReplySend

Observation = ContentObserved | CommentObserved | ConversationObserved | MessageObserved | NotificationObserved
Observe = Callable[[Observation], Awaitable[None]]

# What an adapter remembers between passes to crawl less (e.g. per-work comment totals). The worker
# stores it with the account's dedupe index and hands it back; an empty one means "crawl everything".
Cursor = dict[str, Any]


# --------------------------------------------------------------------------- trouble


class PlatformTrouble(HiscrmError):
    """The account cannot be crawled until a person acts; the worker reports it once and backs off."""

    code = "trouble"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class SessionExpired(PlatformTrouble):
    """The platform treats the stored session as logged out."""

    code = "session_expired"


class Blocked(PlatformTrouble):
    def __init__(self, kind: Literal["verification", "risk_control"], detail: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.code = kind


class PlatformError(HiscrmError):
    """A pass or a send failed for a reason that may pass by itself: an unexpected answer, a page that
    did not render in time. The worker retries later, without a fact."""


class SendRefused(HiscrmError):
    """The platform answered a send with a refusal or a rate limit; nothing was sent."""

    def __init__(self, reason: str, code: str, *, rate_limited: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code
        self.rate_limited = rate_limited


class LoginFailed(HiscrmError):
    def __init__(self, reason: str, code: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


# --------------------------------------------------------------------------- login


class LoginReport(Protocol):
    """Where a login flow reports progress while it waits for the person with the phone."""

    async def qrcode(self, data_url: str, expires_at_ms: int | None, *, refreshed: bool) -> None: ...

    async def verification_required(self, method: str, message: str | None) -> None:
        """The platform wants more than the scan; called again each time a new code is sent."""
        ...

    def sms_code(self) -> str | None:
        """The newest SMS code an operator submitted and not yet handed out, or None (yet)."""
        ...

    async def sms_code_rejected(self, reason: str, code: str) -> None:
        """The platform refused the code handed out last; `code` is wrong, expired or too_many."""
        ...


class LoginResult(msgspec.Struct, frozen=True, kw_only=True):
    profile: Profile
    storage_state: dict[str, Any]  # Playwright's storage_state(): the credentials, sealed by the worker


# --------------------------------------------------------------------------- the adapter


class Known(Protocol):
    """What the worker already holds for the account, so an adapter can find where an item lives."""

    def refs(self, kind: str, item_id: str) -> tuple[str, ...] | None:
        """The references recorded with an observed item (a comment's work and thread, a message's
        conversation), or None if the item was never observed."""
        ...


class Finding(msgspec.Struct, frozen=True, kw_only=True):
    """One expectation an adapter has of its site, and whether it held on a visit."""

    name: str
    kind: str  # endpoint | selector | text | page_data | format | socket
    page: str
    value: str  # the path tail, selector, text or shape expected
    source: str  # public (public sources show it) | sandbox (only the sandbox does)
    status: Literal["holds", "broken", "not_checked"]
    detail: str = ""


class PlatformOptions(msgspec.Struct, frozen=True, kw_only=True):
    """How a worker configures an adapter: `base_url` points it at another origin (the sandbox)."""

    base_url: str | None = None


class Platform(Protocol):
    name: str

    async def login(self, context: BrowserContext, deadline_ms: int, report: LoginReport) -> LoginResult:
        """Runs the QR login until success (returned), failure (LoginFailed) or the deadline (TimeoutError)."""
        ...

    async def check_session(self, context: BrowserContext) -> LoginResult:
        """Proves a session put into `context` (an imported one) by loading the creator home: the
        profile and the storage state as a login would return them, or LoginFailed with the reason."""
        ...

    async def crawl(
        self,
        context: BrowserContext,
        account_id: str,
        cursor: Cursor,
        known: Known,
        observe: Observe,
        parts: CrawlSwitches | None = None,
    ) -> None:
        """One pass over the account: every item seen goes to `observe`, new or not; `cursor` is
        updated in place. Only the `parts` switched on are read (and observed). Raises SessionExpired
        or Blocked when the account is in trouble."""
        ...

    async def send(self, context: BrowserContext, request: ReplySend, known: Known) -> str | None:
        """Sends a comment reply or a DM once the page confirmed it, returning the platform's id of
        what was sent as the platform gave it, or None when it gave none. Raises SendRefused, or
        trouble as in `crawl`."""
        ...

    async def watch(self, context: BrowserContext, account_id: str, observe: Observe) -> None:
        """Keeps a page open that the platform pushes news to (new DMs) and observes each at once,
        until cancelled or the context closes. Passes still run; this only makes news earlier."""
        ...

    async def check(self, context: BrowserContext, account_id: str) -> list[Finding]:
        """`hiscrm doctor`: visits each page the adapter uses on a logged-in account and says, for
        every expectation it has of the site, whether it still holds. Never sends anything."""
        ...

    async def close(self) -> None: ...
