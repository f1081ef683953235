"""The items the IM API answers with, exactly as reference/im-api.md names their fields, built from read-model rows.

Every field carries the value the facts recorded; what no fact ever said is null, never a placeholder.
Times are Unix milliseconds. Each item also names its `account_id`, so items of several accounts can be told apart.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from hiscrm.facts import catalogue as c
from projections import accounts, notifications
from projections.comments import CommentRow
from projections.contents import ContentRow
from projections.conversations import ConversationRow, MessageRow
from projections.replies import ReplyRow

UserStatus = Literal["active", "pending", "inactive", "banned"]
MessageStatus = Literal["sending", "sent", "delivered", "read", "failed"]


class Person(msgspec.Struct, kw_only=True):
    user_id: str | None
    user_name: str | None
    avatar: str | None

    @classmethod
    def of(cls, person: c.Person | None) -> Person | None:
        return None if person is None else cls(user_id=person.user_id, user_name=person.name, avatar=person.avatar)


def account_person(row: accounts.AccountRow | None) -> Person | None:
    """The managed account as a message sender, from what its login told about it."""
    if row is None:
        return None
    info = row.user_info
    return Person(
        user_id=info.uid if info is not None else row.platform_user_id,
        user_name=info.nickname if info is not None else None,
        avatar=info.avatar if info is not None else None,
    )


class User(msgspec.Struct, kw_only=True):
    """A managed account. `verified` is null: no fact records it."""

    user_id: str
    user_name: str
    avatar: str | None
    signature: str | None
    verified: bool | None
    follower_count: int | None
    following_count: int | None
    status: UserStatus
    platform: str
    created_at: int
    updated_at: int
    login_status: str
    platform_user_id: str | None

    @classmethod
    def of(cls, row: accounts.AccountRow) -> User:
        info = row.user_info
        return cls(
            user_id=row.account_id,
            user_name=(info.nickname if info is not None else None) or row.account_name,
            avatar=info.avatar if info is not None else None,
            signature=info.signature if info is not None else None,
            verified=None,
            follower_count=info.follower_count if info is not None else None,
            following_count=info.following_count if info is not None else None,
            status=user_status(row),
            platform=row.platform,
            created_at=row.created_at,
            updated_at=row.updated_at,
            login_status=row.login_status,
            platform_user_id=row.platform_user_id,
        )


def user_status(row: accounts.AccountRow) -> UserStatus:
    if row.status == "disabled":
        return "inactive"
    if row.login_status == "blocked":
        return "banned"
    return "active" if row.login_status == "logged_in" else "pending"


class LastMessage(msgspec.Struct, kw_only=True):
    content: str
    msg_type: str
    create_time: int


class Conversation(msgspec.Struct, kw_only=True):
    conversation_id: str
    conversation_short_id: str | None
    conversation_type: str
    participant: Person | None
    last_message: LastMessage | None
    unread_count: int
    is_pinned: bool
    is_muted: bool
    last_message_type: str | None
    create_time: int
    update_time: int
    platform: str
    status: str
    account_id: str

    @classmethod
    def of(cls, row: ConversationRow) -> Conversation:
        last = row.last_message
        return cls(
            conversation_id=row.conversation_id,
            conversation_short_id=row.short_id,
            conversation_type=row.conversation_type,
            participant=Person.of(row.participant),
            last_message=None
            if last is None
            else LastMessage(content=last.content, msg_type=last.msg_type, create_time=last.create_time),
            unread_count=row.unread_count,
            is_pinned=row.is_pinned,
            is_muted=row.is_muted,
            last_message_type=last.msg_type if last is not None else None,
            create_time=row.create_time,
            update_time=row.update_time,
            platform=row.platform,
            status=row.status,
            account_id=row.account_id,
        )


class Message(msgspec.Struct, kw_only=True):
    """A direct message. A message sent through the API and not yet seen on the platform has its reply id
    as `msg_id` and status sending, then sent or failed."""

    msg_id: str
    conversation_id: str | None
    sender: Person | None
    receiver: Person | None
    msg_type: str
    content: str
    create_time: int
    status: MessageStatus
    is_read: bool
    is_deleted: bool
    is_recalled: bool
    reply_to_message_id: str | None
    media_url: str | None
    media_thumbnail: str | None
    file_size: int | None
    file_name: str | None
    duration: int | None
    recalled_at: int | None
    direction: Literal["inbound", "outbound"]
    platform: str
    account_id: str

    @classmethod
    def of(cls, row: MessageRow) -> Message:
        return cls(
            msg_id=row.message_id,
            conversation_id=row.conversation_id,
            sender=Person.of(row.sender),
            receiver=Person.of(row.receiver),
            msg_type=row.msg_type,
            content=row.content,
            create_time=row.create_time,
            status=row.status,  # type: ignore[arg-type]
            is_read=row.is_read,
            is_deleted=row.is_deleted,
            is_recalled=row.is_recalled,
            reply_to_message_id=row.reply_to_message_id,
            media_url=row.media_url,
            media_thumbnail=row.media_thumbnail,
            file_size=row.file_size,
            file_name=row.file_name,
            duration=row.duration,
            recalled_at=row.recalled_at,
            direction=row.direction,  # type: ignore[arg-type]
            platform=row.platform,
            account_id=row.account_id,
        )

    @classmethod
    def sending(cls, reply: ReplyRow, account: accounts.AccountRow | None, peer: c.Person | None) -> Message:
        """A DM sent through the reply flow, as the reply model shows it until the crawler sees it sent."""
        receiver = Person.of(peer) if peer is not None else None
        if receiver is None and reply.user_id is not None:
            receiver = Person(user_id=reply.user_id, user_name=None, avatar=None)
        return cls(
            msg_id=reply.reply_id,
            conversation_id=reply.conversation_id,
            sender=account_person(account),
            receiver=receiver,
            msg_type="text",
            content=reply.content,
            create_time=reply.requested_at,
            status="sending" if reply.status == "pending" else reply.status,  # type: ignore[arg-type]
            is_read=True,
            is_deleted=False,
            is_recalled=False,
            reply_to_message_id=None,
            media_url=None,
            media_thumbnail=None,
            file_size=None,
            file_name=None,
            duration=None,
            recalled_at=None,
            direction="outbound",
            platform=account.platform if account is not None else "douyin",
            account_id=reply.account_id,
        )


class ContentStats(msgspec.Struct, kw_only=True):
    total_comments: int
    new_comments: int
    likes: int
    shares: int
    views: int


class Content(msgspec.Struct, kw_only=True):
    """A work. `crawl_status` is null: no fact records a per-work crawl state (see `last_crawl_time`)."""

    content_id: str
    platform: str
    platform_content_id: str
    content_type: str
    title: str | None
    description: str | None
    cover: str | None
    url: str | None
    publish_time: int | None
    stats: ContentStats
    is_new: bool
    is_read: bool
    crawl_status: str | None
    created_at: int
    updated_at: int
    last_crawl_time: int
    account_id: str

    @classmethod
    def of(cls, row: ContentRow) -> Content:
        return cls(
            content_id=row.content_id,
            platform=row.platform,
            platform_content_id=row.content_id,
            content_type=row.content_type,
            title=row.title,
            description=row.description,
            cover=row.cover,
            url=row.url,
            publish_time=row.publish_time,
            stats=content_stats(row),
            is_new=row.is_new,
            is_read=row.is_read,
            crawl_status=None,
            created_at=row.created_at,
            updated_at=row.updated_at,
            last_crawl_time=row.last_crawl_time,
            account_id=row.account_id,
        )


def content_stats(row: ContentRow) -> ContentStats:
    s = row.stats
    return ContentStats(
        total_comments=s.total_comments, new_comments=s.new_comments, likes=s.likes, shares=s.shares, views=s.views
    )


class WorkStats(ContentStats, kw_only=True):
    content_id: str


class Author(msgspec.Struct, kw_only=True):
    author_id: str | None
    author_name: str | None
    author_avatar: str | None


class Discussion(msgspec.Struct, kw_only=True):
    """A comment (no parent) or a reply to one. A reply sent through the API and not yet seen on the platform
    has its reply id as `discussion_id` and a `send_status`; observed items have `send_status` null."""

    discussion_id: str
    platform: str
    platform_discussion_id: str
    parent_comment_id: str | None
    content: str
    author: Author
    content_id: str | None
    post_id: str | None
    post_title: str | None
    is_read: bool
    is_new: bool
    detected_at: int
    created_at: int
    like_count: int | None
    reply_count: int | None
    send_status: Literal["pending", "sent", "failed"] | None
    account_id: str

    @classmethod
    def of(cls, row: CommentRow, title: str | None) -> Discussion:
        return cls(
            discussion_id=row.comment_id,
            platform=row.platform,
            platform_discussion_id=row.comment_id,
            parent_comment_id=row.parent_comment_id,
            content=row.text,
            author=Author(author_id=row.author.user_id, author_name=row.author.name, author_avatar=row.author.avatar),
            content_id=row.content_id,
            post_id=row.content_id,
            post_title=title,
            is_read=row.is_read,
            is_new=row.is_new,
            detected_at=row.detected_at,
            created_at=row.create_time,
            like_count=row.like_count,
            reply_count=row.reply_count,
            send_status=None,
            account_id=row.account_id,
        )

    @classmethod
    def sending(cls, reply: ReplyRow, account: accounts.AccountRow | None, title: str | None) -> Discussion:
        me = account_person(account)
        return cls(
            discussion_id=reply.reply_id,
            platform=account.platform if account is not None else "douyin",
            platform_discussion_id=reply.platform_id or reply.reply_id,
            parent_comment_id=reply.target_id if reply.target_type == "comment" else None,
            content=reply.content,
            author=Author(
                author_id=me.user_id if me else None,
                author_name=me.user_name if me else None,
                author_avatar=me.avatar if me else None,
            ),
            content_id=reply.video_id,
            post_id=reply.video_id,
            post_title=title,
            is_read=True,
            is_new=False,
            detected_at=reply.requested_at,
            created_at=reply.sent_at or reply.requested_at,
            like_count=None,
            reply_count=None,
            send_status=reply.status,  # type: ignore[arg-type]
            account_id=reply.account_id,
        )


class DiscussionStats(msgspec.Struct, kw_only=True):
    total: int
    new_count: int
    unread_count: int


# --------------------------------------------------------------------------- the unified inbox


class _Unified(msgspec.Struct, kw_only=True, tag_field="business_type"):
    msg_id: str
    conversation_id: str
    msg_type: str
    sender: Person | None
    content: str
    is_read: bool
    is_new: bool
    create_time: int
    detected_at: int
    platform: str
    account_id: str


class UnifiedComment(_Unified, kw_only=True, tag="comment"):
    """`conversation_id` is the work's id: a work's comments are one thread, as the predecessor grouped them."""

    content_id: str
    work_title: str | None
    platform_comment_id: str


class UnifiedDiscussion(_Unified, kw_only=True, tag="discussion"):
    parent_comment_id: str
    content_id: str
    work_title: str | None
    platform_discussion_id: str


class UnifiedDirectMessage(_Unified, kw_only=True, tag="direct_message"):
    receiver: Person | None
    direction: Literal["inbound", "outbound"]
    platform_message_id: str
    status: MessageStatus


UnifiedItem = UnifiedComment | UnifiedDiscussion | UnifiedDirectMessage


def unified_comment(row: CommentRow, title: str | None) -> UnifiedComment | UnifiedDiscussion:
    common = {
        "msg_id": row.comment_id,
        "conversation_id": row.content_id,
        "sender": Person.of(row.author),
        "content": row.text,
        "is_read": row.is_read,
        "is_new": row.is_new,
        "create_time": row.create_time,
        "detected_at": row.detected_at,
        "platform": row.platform,
        "account_id": row.account_id,
        "content_id": row.content_id,
        "work_title": title,
    }
    if row.parent_comment_id is None:
        return UnifiedComment(msg_type="comment", platform_comment_id=row.comment_id, **common)
    return UnifiedDiscussion(
        msg_type="discussion",
        parent_comment_id=row.parent_comment_id,
        platform_discussion_id=row.comment_id,
        **common,
    )


def unified_message(row: MessageRow) -> UnifiedDirectMessage:
    return UnifiedDirectMessage(
        msg_id=row.message_id,
        conversation_id=row.conversation_id,
        msg_type=row.msg_type,
        sender=Person.of(row.sender),
        content=row.content,
        is_read=row.is_read,
        is_new=row.is_new,
        create_time=row.create_time,
        detected_at=row.detected_at,
        platform=row.platform,
        account_id=row.account_id,
        receiver=Person.of(row.receiver),
        direction=row.direction,  # type: ignore[arg-type]
        platform_message_id=row.message_id,
        status=row.status,  # type: ignore[arg-type]
    )


# --------------------------------------------------------------------------- notifications


class Notification(msgspec.Struct, kw_only=True):
    """A notification. `id` is the stream sequence of the fact that raised it, which is also that fact's event
    id on the live feed. What it points at is in the fields that apply to its `kind`; the others are null."""

    id: int
    account_id: str
    kind: notifications.Kind
    title: str
    text: str | None
    is_read: bool
    create_time: int
    item_time: int | None
    content_id: str | None
    comment_id: str | None
    parent_comment_id: str | None
    conversation_id: str | None
    message_id: str | None
    platform_notification_id: str | None
    login_id: str | None
    worker_id: str | None
    user: Person | None

    @classmethod
    def of(cls, row: notifications.NotificationRow) -> Notification:
        refs = row.refs
        return cls(
            id=row.seq,
            account_id=row.account_id,
            kind=row.kind,
            title=row.title,
            text=row.text,
            is_read=row.is_read,
            create_time=row.at,
            item_time=row.item_time,
            content_id=refs.content_id,
            comment_id=refs.comment_id,
            parent_comment_id=refs.parent_comment_id,
            conversation_id=refs.conversation_id,
            message_id=refs.message_id,
            platform_notification_id=refs.notification_id,
            login_id=refs.login_id,
            worker_id=refs.worker_id,
            user=Person.of(refs.user),
        )
