"""The pages' JSON, page data and push frames turned into observations. Pure functions."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import msgspec

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
IMAGE_SET = 68  # work_list's aweme_type; item/list shows no public media_type for image sets
BEIJING = dt.timezone(dt.timedelta(hours=8))
_ZH_TIME = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日\s*(\d{1,2}):(\d{2})")


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


def is_me(user: Person, me: Person | None) -> bool:
    """Whether a user a page shows is the account itself, by uid or sec_uid."""
    if me is None:
        return False
    return bool(user.user_id and user.user_id == me.user_id) or bool(user.sec_uid and user.sec_uid == me.sec_uid)


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
    """item/list's "发布于2025年10月27日 10:42", Beijing time; None for anything else."""
    found = _ZH_TIME.search(text or "")
    if found is None:
        return None
    try:
        moment = dt.datetime(*(int(g) for g in found.groups()), tzinfo=BEIJING)  # type: ignore[misc]
    except ValueError:
        return None
    return int(moment.timestamp() * 1000)


def im_time_ms(value: object) -> int | None:
    """An IM time as public captures show it: a number of µs, ms or s, or an ISO string."""
    if isinstance(value, str) and not value.isdigit():
        try:
            moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return int(moment.replace(tzinfo=moment.tzinfo or BEIJING).timestamp() * 1000)
    try:
        number = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None
    if number > 10**14:
        return number // 1000
    return number if number > 10**11 else number * 1000


def content(account_id: str, item: dict[str, Any], aweme: dict[str, Any] | None, now_ms: int) -> ContentObserved:
    """A work from item/list, with work_list's exact time and statistics when the page fetched them."""
    stats = (aweme or {}).get("statistics") or {}
    image_set = (aweme or {}).get("aweme_type") == IMAGE_SET
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


def comment(
    account_id: str, c: dict[str, Any], title: str | None, now_ms: int, me: Person | None = None
) -> CommentObserved:
    parent = str(c.get("reply_id") or "0")
    author = person(c["user"])
    return CommentObserved(
        account_id=account_id,
        platform=PLATFORM,
        observed_at_ms=now_ms,
        comment_id=str(c["cid"]),
        content_id=str(c["aweme_id"]),
        text=c.get("text") or "",
        author=author,
        create_time_ms=int(c["create_time"]) * 1000,
        parent_comment_id=None if parent == "0" else parent,
        content_title=title,
        like_count=int(c.get("digg_count") or 0),
        reply_count=int(c.get("reply_comment_total") or 0),
        # The label marks the work's author, who is the account; its own uid says the same without it.
        is_author=c.get("label_text") == AUTHOR_LABEL or is_me(author, me),
        ip_label=c.get("ip_label") or None,
    )


def creator_comment(
    account_id: str, c: dict[str, Any], aweme_id: str, parent: str | None, title: str | None, now_ms: int
) -> CommentObserved:
    """A comment of the creator comment API (work-detail page): encrypted ids, numbers as strings."""
    user = c.get("user_info") or {}
    return CommentObserved(
        account_id=account_id,
        platform=PLATFORM,
        observed_at_ms=now_ms,
        comment_id=str(c["comment_id"]),
        content_id=aweme_id,
        text=c.get("text") or "",
        author=Person(
            user_id=str(user.get("user_id") or ""), name=user.get("screen_name") or None, avatar=user.get("avatar_url")
        ),
        create_time_ms=int(c["create_time"]) * 1000,
        parent_comment_id=parent,
        content_title=title,
        like_count=int(c.get("digg_count") or 0),
        reply_count=int(c.get("reply_count") or 0) if parent is None else 0,
        is_author=bool(c.get("is_author")),
    )


def im_peer(entry: dict[str, Any]) -> Person:
    """A user_detail entry: the uid outside, the profile inside, ShortId being the 抖音号."""
    user = entry.get("user") or {}
    return Person(
        user_id=str(entry["user_id"]),
        name=user.get("nickname") or None,
        avatar=first_url(user.get("avatar_thumb")),
        sec_uid=user.get("sec_uid") or None,
        unique_id=str(user["ShortId"]) if user.get("ShortId") else None,
    )


def conversation(
    account_id: str, conversation_id: str, short_id: str | None, peer: Person, now_ms: int
) -> ConversationObserved:
    return ConversationObserved(
        account_id=account_id,
        platform=PLATFORM,
        observed_at_ms=now_ms,
        conversation_id=conversation_id,
        peer=peer,
        short_id=short_id or None,
    )


def message_text(content: object) -> str:
    """The IM SDK's content: a JSON string (or object) with the text inside, else the text itself."""
    if isinstance(content, str):
        try:
            content = msgspec.json.decode(content)
        except msgspec.DecodeError:
            return content
    if isinstance(content, dict):
        return str(content.get("text") or "")
    return str(content)


def message(
    account_id: str, m: dict[str, Any], outbound: bool, me: Person, peer: Person, now_ms: int
) -> MessageObserved | None:
    """A message from the page's data (fiber props, or a push frame turned into the same names:
    serverId, conversationId, sender, content, createdAt). None without a server id or a time."""
    created = im_time_ms(m.get("createdAt"))
    if not m.get("serverId") or created is None:
        return None
    sender = str(m.get("sender") or "")
    # Our own message is ours even where the page's from-me mark is missing.
    outbound = outbound or (bool(sender) and sender == me.user_id)
    other = peer if sender in ("", peer.user_id) else Person(user_id=sender)
    return MessageObserved(
        account_id=account_id,
        platform=PLATFORM,
        observed_at_ms=now_ms,
        message_id=str(m["serverId"]),
        conversation_id=str(m["conversationId"]),
        sender=me if outbound else other,
        receiver=peer if outbound else me,
        direction="outbound" if outbound else "inbound",
        content=message_text(m.get("content")),
        create_time_ms=created,
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
