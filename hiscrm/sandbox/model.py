"""The sandbox's records. Plain data: the World in state.py owns them and their indexes."""

from __future__ import annotations

from typing import Literal

import msgspec


class User(msgspec.Struct, kw_only=True):
    """Anyone on the platform: a creator who can log in, or a fan who comments and writes."""

    uid: str
    sec_uid: str
    unique_id: str
    short_id: str
    nickname: str
    avatar: str  # path on the sandbox origin; answers turn it into an absolute URL
    signature: str = ""
    follower_count: int = 0
    following_count: int = 0
    ip_label: str = ""


class Arm(msgspec.Struct, kw_only=True):
    """A refusal waiting for the creator's next sends of one kind."""

    mode: str  # "refuse" | "rate_limit"
    remaining: int | None = None  # None: until disarmed


class Account(msgspec.Struct, kw_only=True):
    """What makes a user a creator account: the switches tests flip on it."""

    uid: str
    sms_required: bool = False
    risk_control: bool = False
    comments_per_minute: float = 0.0
    messages_per_minute: float = 0.0
    arms: dict[str, Arm] = msgspec.field(default_factory=dict)  # by kind: "dm" | "comment_reply"


class Work(msgspec.Struct, kw_only=True):
    aweme_id: str
    item_id: str  # the creator API's opaque id for the same work
    owner_uid: str
    desc: str
    create_time: int
    cover: str
    aweme_type: int = 0
    play_count: int = 0
    digg_count: int = 0
    share_count: int = 0
    collect_count: int = 0
    private: bool = False
    comments_closed: bool = False


class Comment(msgspec.Struct, kw_only=True):
    cid: str
    aweme_id: str
    user_uid: str
    text: str
    create_time: int
    reply_id: str = "0"  # the top-level comment a reply hangs under
    reply_to_reply_id: str = "0"  # the reply it answers, when it answers a reply
    digg_count: int = 0
    ip_label: str = ""
    image: str = ""  # path of an attached picture


class Message(msgspec.Struct, kw_only=True):
    msg_id: str
    conversation_id: str
    sender_uid: str
    content: str
    created_ms: int


class Conversation(msgspec.Struct, kw_only=True):
    conversation_id: str  # 0:1:<smaller uid>:<larger uid>
    short_id: str
    members: tuple[str, str]
    messages: list[Message] = msgspec.field(default_factory=list)

    def peer_of(self, uid: str) -> str:
        return self.members[1] if self.members[0] == uid else self.members[0]


class Notice(msgspec.Struct, kw_only=True):
    nid: str
    owner_uid: str
    type: int
    create_time: int
    cid: str
    aweme_id: str


class Session(msgspec.Struct, kw_only=True):
    sessionid: str
    uid: str
    created: int
    csrf_token: str
    revoked: bool = False  # kept, not dropped, so requests with a dead cookie still count for its account


class QrLogin(msgspec.Struct, kw_only=True):
    token: str
    created: float
    expires_at: float
    status: str = "new"  # new | scanned | verify | confirmed | expired
    uid: str = ""
    verify_ticket: str = ""  # names the second verification in send_code / validate_code
    sms_code: str = ""  # the code last sent by SMS, "" before one was asked for
    sms_sent_at: float = 0.0
    sms_attempts: int = 0  # wrong codes typed against the current one
    sessionid: str = ""


class SmsSent(msgspec.Struct, kw_only=True):
    """A verification SMS the site "sent" to an account's phone, as tests read it back."""

    seq: int
    uid: str
    mobile: str
    code: str
    token: str  # the QR login it verifies
    sent_at: float


class Sent(msgspec.Struct, kw_only=True):
    """Something the logged-in creator sent through the site, as tests read it back."""

    seq: int
    kind: str  # "comment_reply" | "work_comment" | "dm"
    uid: str
    id: str
    text: str
    create_time: int
    created_ms: int = 0
    aweme_id: str = ""
    comment_id: str = ""
    conversation_id: str = ""
    peer_uid: str = ""


class Variants(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Where public sources disagree or the site has two generations, the world serves one of each,
    chosen here, so the adapter can be tested against every one (docs/sandbox.md, Variants)."""

    # The old interactive/comment page (V2 select API, numeric cids) or the newer work-detail page
    # (the creator comment API, encrypted "@j/" ids).
    comment_page: Literal["interactive", "work_detail"] = "interactive"
    # DM history as the IM servers' protobuf, or as JSON (what the predecessor first assumed).
    dm_history: Literal["protobuf", "json"] = "protobuf"
    # item/list create_time: the display string public captures show, or "iso", a drift no public
    # source shows (it exists so `hiscrm doctor` can be seen naming a broken expectation).
    item_time: Literal["zh", "iso"] = "zh"


class Snapshot(msgspec.Struct, kw_only=True):
    """Everything worth keeping across restarts; pending QR logins and request counters are not."""

    version: int = 1
    users: list[User]
    accounts: list[Account]
    works: list[Work]
    comments: list[Comment]
    conversations: list[Conversation]
    notices: list[Notice]
    sessions: list[Session]
    sent: list[Sent]
    id_counter: int
    qr_ttl: float
    variants: Variants = msgspec.field(default_factory=Variants)


class Refusal(Exception):
    """The platform declines an action; code and message are what the endpoint answers."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class NotFound(LookupError):
    """A referenced account, work, comment, conversation or QR login does not exist."""


class Invalid(ValueError):
    """A request the world cannot apply as given (duplicate id, wrong state, empty text)."""
