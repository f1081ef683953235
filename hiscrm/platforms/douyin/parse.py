"""The pages' JSON (and the chat DOM's data-* attributes) turned into observations. Pure functions."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hiscrm.facts.catalogue import (
    CommentObserved,
    ContentObserved,
    ContentStats,
    ConversationObserved,
    MessageObserved,
    NotificationObserved,
    Person,
    Profile,
)

PLATFORM = "douyin"
AUTHOR_LABEL = "作者"
IMAGE_SET_TYPES = frozenset({68, 2})  # aweme_type 68, or media_type 2 in the creator item list
BEIJING = dt.timezone(dt.timedelta(hours=8))


def first_url(picture: dict[str, Any] | None) -> str | None:
    urls = (picture or {}).get("url_list") or []
    return urls[0] if urls else None


def person(user: dict[str, Any]) -> Person:
    return Person(
        user_id=str(user["uid"]),
        name=user.get("nickname") or None,
        avatar=first_url(user.get("avatar_thumb")),
        sec_uid=user.get("sec_uid") or None,
        unique_id=user.get("unique_id") or None,
    )


def profile(user: dict[str, Any]) -> Profile:
    return Profile(
        uid=str(user["uid"]),
        unique_id=user.get("unique_id") or None,
        sec_uid=user.get("sec_uid") or None,
        short_id=str(user["short_id"]) if user.get("short_id") else None,
        nickname=user.get("nickname") or None,
        avatar=first_url(user.get("avatar_thumb")),
        signature=user.get("signature") or None,
        follower_count=user.get("follower_count"),
        following_count=user.get("following_count"),
    )


def display_time_ms(text: str) -> int | None:
    """item/list's "2026-11-20 14:03", Beijing time."""
    try:
        return int(dt.datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=BEIJING).timestamp() * 1000)
    except (TypeError, ValueError):
        return None


def content(account_id: str, item: dict[str, Any], aweme: dict[str, Any] | None, now_ms: int) -> ContentObserved:
    """A work from item/list, with work_list's exact time and statistics when the page fetched them."""
    stats = (aweme or {}).get("statistics") or {}
    aweme_type = (aweme or {}).get("aweme_type")
    image_set = aweme_type in IMAGE_SET_TYPES if aweme_type is not None else item.get("media_type") in IMAGE_SET_TYPES
    published = (aweme or {}).get("create_time")
    return ContentObserved(
        account_id=account_id,
        platform=PLATFORM,
        observed_at_ms=now_ms,
        content_id=str(item["item_id_plain"]),
        content_type="image" if image_set else "video",
        title=item.get("title") or None,
        description=(aweme or {}).get("desc") or item.get("title") or None,
        cover=item.get("cover_image_url") or first_url(((aweme or {}).get("video") or {}).get("cover")),
        url=item.get("item_link") or (aweme or {}).get("share_url") or None,
        publish_time_ms=published * 1000 if published else display_time_ms(item.get("create_time", "")),
        stats=ContentStats(
            comments=int(stats.get("comment_count", item.get("comment_count", 0))),
            likes=int(stats.get("digg_count", item.get("digg_count", 0))),
            shares=int(stats.get("share_count", 0)),
            views=int(stats.get("play_count", item.get("play_count", 0))),
            collects=int(stats.get("collect_count", 0)),
        ),
    )


def comment(account_id: str, c: dict[str, Any], title: str | None, now_ms: int) -> CommentObserved:
    parent = str(c.get("reply_id") or "0")
    return CommentObserved(
        account_id=account_id,
        platform=PLATFORM,
        observed_at_ms=now_ms,
        comment_id=str(c["cid"]),
        content_id=str(c["aweme_id"]),
        text=c.get("text") or "",
        author=person(c["user"]),
        create_time_ms=int(c["create_time"]) * 1000,
        parent_comment_id=None if parent == "0" else parent,
        content_title=title,
        like_count=int(c.get("digg_count") or 0),
        reply_count=int(c.get("reply_comment_total") or 0),
        is_author=c.get("label_text") == AUTHOR_LABEL,
        ip_label=c.get("ip_label") or None,
    )


def conversation(account_id: str, entry: dict[str, Any], now_ms: int) -> ConversationObserved:
    return ConversationObserved(
        account_id=account_id,
        platform=PLATFORM,
        observed_at_ms=now_ms,
        conversation_id=str(entry["conversation_id"]),
        peer=person({"uid": entry["user_id"], **entry["user"]}),
        short_id=str(entry["conversation_short_id"]) if entry.get("conversation_short_id") else None,
    )


def message(account_id: str, node: dict[str, str], me: Person, peer: Person, now_ms: int) -> MessageObserved:
    """A rendered `.message-item`'s data-* attributes and text (the history itself is protobuf)."""
    outbound = node["fromMe"] == "true"
    return MessageObserved(
        account_id=account_id,
        platform=PLATFORM,
        observed_at_ms=now_ms,
        message_id=node["msgId"],
        conversation_id=node["conversationId"],
        sender=me if outbound else peer,
        receiver=peer if outbound else me,
        direction="outbound" if outbound else "inbound",
        content=node["content"],
        create_time_ms=int(node["createdMs"]),
    )


def notification(account_id: str, n: dict[str, Any], now_ms: int) -> NotificationObserved:
    inner = (n.get("comment") or {}).get("comment") or {}
    return NotificationObserved(
        account_id=account_id,
        platform=PLATFORM,
        observed_at_ms=now_ms,
        notification_id=str(n.get("nid_str") or n["nid"]),
        notice_type=int(n["type"]),
        create_time_ms=int(n["create_time"]) * 1000,
        text=inner.get("text"),
        user=person(inner["user"]) if inner.get("user") else None,
        content_id=str(inner["aweme_id"]) if inner.get("aweme_id") else None,
        comment_id=str(inner["cid"]) if inner.get("cid") else None,
    )
