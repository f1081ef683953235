"""Every fact HisCRM records, grouped by aggregate. This module is the whole vocabulary.

Field names follow what the IM API and the admin API need to show, so projections copy values
instead of inventing them; optional fields default to None, never to a placeholder.
"""

from __future__ import annotations

from typing import ClassVar, Literal

import msgspec

from hiscrm.facts.base import Fact

# --------------------------------------------------------------------------- shared value types


class Person(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Someone on the platform as the page showed them."""

    user_id: str
    name: str | None = None
    avatar: str | None = None
    sec_uid: str | None = None
    unique_id: str | None = None


class Profile(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The logged-in account as the platform describes it."""

    uid: str
    unique_id: str | None = None
    sec_uid: str | None = None
    short_id: str | None = None
    nickname: str | None = None
    avatar: str | None = None
    signature: str | None = None
    follower_count: int | None = None
    following_count: int | None = None


class ContentStats(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    comments: int = 0
    likes: int = 0
    shares: int = 0
    views: int = 0
    collects: int = 0


class PassCounts(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    contents: int = 0
    comments: int = 0
    conversations: int = 0
    messages: int = 0
    notifications: int = 0


class CrawlSwitches(msgspec.Struct, frozen=True, kw_only=True):
    """What a crawl pass of the account reads; everything by default."""

    works: bool = True
    comments: bool = True
    dms: bool = True
    notifications: bool = True


# --------------------------------------------------------------------------- worker


class _WorkerFact(Fact, frozen=True, kw_only=True):
    aggregate: ClassVar[str] = "worker"
    id_field: ClassVar[str] = "worker_id"
    worker_id: str


class WorkerRegistered(_WorkerFact, frozen=True, kw_only=True):
    event: ClassVar[str] = "registered"
    platforms: list[str]
    max_accounts: int
    host: str | None = None
    pid: int | None = None
    version: str | None = None


class WorkerStopped(_WorkerFact, frozen=True, kw_only=True):
    event: ClassVar[str] = "stopped"
    reason: str | None = None


class WorkerWentOffline(_WorkerFact, frozen=True, kw_only=True):
    event: ClassVar[str] = "went_offline"
    last_seen_ms: int | None = None


# --------------------------------------------------------------------------- account


class _AccountFact(Fact, frozen=True, kw_only=True):
    aggregate: ClassVar[str] = "account"
    id_field: ClassVar[str] = "account_id"
    account_id: str


class AccountCreated(_AccountFact, frozen=True, kw_only=True):
    event: ClassVar[str] = "created"
    platform: str
    account_name: str
    monitor_interval: int = 30
    platform_user_id: str | None = None
    proxy_id: str | None = None
    # The account's credential key, sealed with the master key; destroyed by account.deleted.
    sealed_key: str | None = None


class AccountUpdated(_AccountFact, frozen=True, kw_only=True):
    """Only the fields that changed are set."""

    event: ClassVar[str] = "updated"
    account_name: str | None = None
    monitor_interval: int | None = None
    platform_user_id: str | None = None
    proxy_id: str | None = None
    status: Literal["active", "disabled"] | None = None
    crawl: CrawlSwitches | None = None


class AccountDeleted(_AccountFact, frozen=True, kw_only=True):
    event: ClassVar[str] = "deleted"
    reason: str | None = None


class AccountAssigned(_AccountFact, frozen=True, kw_only=True):
    event: ClassVar[str] = "assigned"
    worker_id: str
    reason: str | None = None


class AccountUnassigned(_AccountFact, frozen=True, kw_only=True):
    event: ClassVar[str] = "unassigned"
    worker_id: str
    reason: str | None = None


class AccountSessionExpired(_AccountFact, frozen=True, kw_only=True):
    event: ClassVar[str] = "session_expired"
    worker_id: str | None = None
    detail: str | None = None


class AccountBlocked(_AccountFact, frozen=True, kw_only=True):
    event: ClassVar[str] = "blocked"
    kind: Literal["verification", "risk_control", "unknown"] = "unknown"
    worker_id: str | None = None
    detail: str | None = None
    retry_after_s: int | None = None


class AccountLoggedOut(_AccountFact, frozen=True, kw_only=True):
    """The stored session is destroyed: the account stops crawling until a new login; its history stays."""

    event: ClassVar[str] = "logged_out"
    by: str | None = None


class AccountCrawlRequested(_AccountFact, frozen=True, kw_only=True):
    """An operator wants a pass now rather than at the next interval."""

    event: ClassVar[str] = "crawl_requested"
    by: str | None = None


class AccountPinned(_AccountFact, frozen=True, kw_only=True):
    """The account may run only on `worker_id` (None: anywhere again)."""

    event: ClassVar[str] = "pinned"
    worker_id: str | None = None
    by: str | None = None


class AccountCrawlFailed(_AccountFact, frozen=True, kw_only=True):
    """A pass that failed, and why. The same failure again is counted (`consecutive`) by the worker and
    appended again only now and then, so a pass failing every minute does not flood the stream."""

    event: ClassVar[str] = "crawl_failed"
    worker_id: str
    reason: str
    kind: str = "error"  # page_error | timeout | broker | error
    consecutive: int = 1  # failed passes in a row on this worker, this one included
    first_failed_at_ms: int | None = None  # when this run of identical failures began


class DriftedExpectation(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """An expectation of the platform adapter that no longer holds on the site."""

    name: str  # as the adapter lists it (douyin/expectations.py), e.g. works.item_time
    page: str
    detail: str | None = None


class AccountAdapterDrift(_AccountFact, frozen=True, kw_only=True):
    """`hiscrm doctor` found the site no longer as the adapter expects it, on this account's pages; the
    next such fact replaces it (an empty `broken`: everything holds again)."""

    event: ClassVar[str] = "adapter_drift"
    platform: str
    broken: list[DriftedExpectation]
    holding: int  # expectations checked and holding
    not_checked: int  # expectations the visit could not reach (e.g. no conversation to open)


# --------------------------------------------------------------------------- login (id: login session)


class _LoginFact(Fact, frozen=True, kw_only=True):
    aggregate: ClassVar[str] = "login"
    id_field: ClassVar[str] = "login_id"
    login_id: str
    account_id: str


class LoginRequested(_LoginFact, frozen=True, kw_only=True):
    event: ClassVar[str] = "requested"
    expires_at_ms: int
    requested_by: str | None = None
    worker_id: str | None = None
    method: Literal["qr", "import"] = "qr"
    # An imported browser session (cookies), sealed with the account's key; method "import" only.
    sealed_import: str | None = None


class LoginQrcodeReady(_LoginFact, frozen=True, kw_only=True):
    event: ClassVar[str] = "qrcode_ready"
    qrcode: str  # data:image/png;base64,...
    qr_expires_at_ms: int | None = None
    worker_id: str | None = None


class LoginQrcodeRefreshed(_LoginFact, frozen=True, kw_only=True):
    event: ClassVar[str] = "qrcode_refreshed"
    qrcode: str
    qr_expires_at_ms: int | None = None
    worker_id: str | None = None


class LoginVerificationRequired(_LoginFact, frozen=True, kw_only=True):
    event: ClassVar[str] = "verification_required"
    method: str = "sms"
    message: str | None = None


class LoginSmsCodeSubmitted(_LoginFact, frozen=True, kw_only=True):
    """The code an operator read off the account owner's phone, sealed with the account's key."""

    event: ClassVar[str] = "sms_code_submitted"
    sealed_code: str
    submitted_by: str | None = None


class LoginSmsCodeRejected(_LoginFact, frozen=True, kw_only=True):
    """The platform refused a submitted code (wrong, expired); the session waits for another."""

    event: ClassVar[str] = "sms_code_rejected"
    reason: str
    code: str | None = None  # wrong | expired | too_many
    worker_id: str | None = None


class LoginSucceeded(_LoginFact, frozen=True, kw_only=True):
    event: ClassVar[str] = "succeeded"
    profile: Profile
    # Storage state sealed with the account's key: never readable from the stream alone.
    sealed_credentials: str
    worker_id: str | None = None


class LoginFailed(_LoginFact, frozen=True, kw_only=True):
    event: ClassVar[str] = "failed"
    reason: str
    code: str | None = None


class LoginExpired(_LoginFact, frozen=True, kw_only=True):
    event: ClassVar[str] = "expired"


# --------------------------------------------------------------------------- inbox (id: account)


class _InboxFact(Fact, frozen=True, kw_only=True):
    aggregate: ClassVar[str] = "inbox"
    id_field: ClassVar[str] = "account_id"
    account_id: str


class _Observation(_InboxFact, frozen=True, kw_only=True):
    platform: str = "douyin"
    # True during an account's first pass: recorded as history, never announced as new.
    baseline: bool = False
    observed_at_ms: int | None = None


class ContentObserved(_Observation, frozen=True, kw_only=True):
    event: ClassVar[str] = "content_observed"
    content_id: str
    content_type: str = "video"
    title: str | None = None
    description: str | None = None
    cover: str | None = None
    url: str | None = None
    publish_time_ms: int | None = None
    stats: ContentStats = ContentStats()


class CommentObserved(_Observation, frozen=True, kw_only=True):
    """A comment on one of the account's works; with parent_comment_id it is a reply (a discussion)."""

    event: ClassVar[str] = "comment_observed"
    comment_id: str
    content_id: str
    text: str
    author: Person
    create_time_ms: int
    parent_comment_id: str | None = None
    content_title: str | None = None
    like_count: int = 0
    reply_count: int = 0
    is_author: bool = False
    ip_label: str | None = None

    @property
    def incoming(self) -> bool:
        """Seen for the first time, someone else's: what counts as unread, new and notified. The account's
        own comments and replies (the platform's author label) are what the team wrote itself."""
        return not self.baseline and not self.is_author


class ConversationObserved(_Observation, frozen=True, kw_only=True):
    event: ClassVar[str] = "conversation_observed"
    conversation_id: str
    peer: Person
    conversation_type: Literal["one_on_one", "group"] = "one_on_one"
    short_id: str | None = None
    unread_count: int | None = None


class MessageObserved(_Observation, frozen=True, kw_only=True):
    event: ClassVar[str] = "message_observed"
    message_id: str
    conversation_id: str
    sender: Person
    receiver: Person | None = None
    direction: Literal["inbound", "outbound"]
    content: str
    create_time_ms: int
    msg_type: Literal["text", "image", "file", "video", "audio", "link"] = "text"
    reply_to_message_id: str | None = None
    media_url: str | None = None
    media_thumbnail: str | None = None
    file_size: int | None = None
    file_name: str | None = None
    duration: int | None = None

    @property
    def incoming(self) -> bool:
        """As `CommentObserved.incoming`: a DM the account sent itself is never unread nor notified."""
        return not self.baseline and self.direction == "inbound"


class NotificationObserved(_Observation, frozen=True, kw_only=True):
    event: ClassVar[str] = "notification_observed"
    notification_id: str
    notice_type: int
    create_time_ms: int
    text: str | None = None
    user: Person | None = None
    content_id: str | None = None
    comment_id: str | None = None


class SnapshotSynced(_InboxFact, frozen=True, kw_only=True):
    """Closes a crawl pass: how much was seen and how much was new, never the data itself."""

    event: ClassVar[str] = "snapshot_synced"
    worker_id: str
    pass_no: int
    counts: PassCounts
    new_counts: PassCounts
    duration_ms: int
    digest: str
    baseline: bool = False


class _ConversationState(_InboxFact, frozen=True, kw_only=True):
    conversation_id: str
    by: str | None = None


class ConversationRead(_ConversationState, frozen=True, kw_only=True):
    event: ClassVar[str] = "conversation_read"


class ConversationPinned(_ConversationState, frozen=True, kw_only=True):
    event: ClassVar[str] = "conversation_pinned"


class ConversationUnpinned(_ConversationState, frozen=True, kw_only=True):
    event: ClassVar[str] = "conversation_unpinned"


class ConversationMuted(_ConversationState, frozen=True, kw_only=True):
    event: ClassVar[str] = "conversation_muted"


class ConversationUnmuted(_ConversationState, frozen=True, kw_only=True):
    event: ClassVar[str] = "conversation_unmuted"


class ConversationDeleted(_ConversationState, frozen=True, kw_only=True):
    event: ClassVar[str] = "conversation_deleted"


class _MessageState(_InboxFact, frozen=True, kw_only=True):
    message_id: str
    by: str | None = None


class MessageRead(_MessageState, frozen=True, kw_only=True):
    event: ClassVar[str] = "message_read"


class MessageDeleted(_MessageState, frozen=True, kw_only=True):
    event: ClassVar[str] = "message_deleted"


class MessageRecalled(_MessageState, frozen=True, kw_only=True):
    event: ClassVar[str] = "message_recalled"


class MessageStatusChanged(_MessageState, frozen=True, kw_only=True):
    event: ClassVar[str] = "message_status_changed"
    status: Literal["sending", "sent", "delivered", "read", "failed"]


class CommentRead(_InboxFact, frozen=True, kw_only=True):
    event: ClassVar[str] = "comment_read"
    comment_id: str
    by: str | None = None


class ContentRead(_InboxFact, frozen=True, kw_only=True):
    event: ClassVar[str] = "content_read"
    content_id: str
    by: str | None = None


class NotificationRead(_InboxFact, frozen=True, kw_only=True):
    """A notification marked read by itself (what it points at stays as it was). A notification is named by
    `notification_seq`, the stream sequence of the fact that raised it."""

    event: ClassVar[str] = "notification_read"
    notification_seq: int
    by: str | None = None


# --------------------------------------------------------------------------- reply (id: reply)


class _ReplyFact(Fact, frozen=True, kw_only=True):
    aggregate: ClassVar[str] = "reply"
    id_field: ClassVar[str] = "reply_id"
    reply_id: str
    account_id: str


ReplyTarget = Literal["comment", "direct_message", "work"]


class ReplyRequested(_ReplyFact, frozen=True, kw_only=True):
    """A reply to a comment or a DM, or (`target_type` "work", `target_id` the work's id) a top-level
    comment on one of the account's works."""

    event: ClassVar[str] = "requested"
    request_id: str
    target_type: ReplyTarget
    target_id: str
    content: str
    video_id: str | None = None
    user_id: str | None = None
    conversation_id: str | None = None
    requested_by: str | None = None


class ReplySent(_ReplyFact, frozen=True, kw_only=True):
    event: ClassVar[str] = "sent"
    platform_id: str | None = None
    worker_id: str | None = None
    sent_at_ms: int | None = None


class ReplyFailed(_ReplyFact, frozen=True, kw_only=True):
    event: ClassVar[str] = "failed"
    reason: str
    code: str | None = None
    worker_id: str | None = None


def _all_facts() -> tuple[type[Fact], ...]:
    found: list[type[Fact]] = []
    stack = list(Fact.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if "event" in cls.__dict__:
            found.append(cls)
    return tuple(sorted(found, key=Fact.type_name.__func__))  # type: ignore[attr-defined]


FACT_TYPES: tuple[type[Fact], ...] = _all_facts()
BY_TYPE_NAME: dict[str, type[Fact]] = {cls.type_name(): cls for cls in FACT_TYPES}
