"""Records in the field names and types of Douyin's JSON answers."""

from __future__ import annotations

from typing import Any

from hiscrm.sandbox import ids
from hiscrm.sandbox.model import Comment, Notice, User, Work
from hiscrm.sandbox.state import World

AUTHOR_LABEL = "作者"
VIDEO_MEDIA_TYPE = 4  # item/list's media_type for a video; no public capture shows one for an image set
IMAGE_SET = 68  # aweme_type


def picture(base: str, path: str) -> dict[str, Any]:
    return {"uri": path.lstrip("/"), "url_list": [f"{base}{path}?from=2956013662"]}


def user_brief(user: User, base: str) -> dict[str, Any]:
    return {
        "uid": user.uid,
        "sec_uid": user.sec_uid,
        "unique_id": user.unique_id,
        "short_id": user.short_id,
        "nickname": user.nickname,
        "avatar_thumb": picture(base, user.avatar),
    }


def im_user(user: User, base: str) -> dict[str, Any]:
    """A user in the creator IM's user_detail answer: ShortId is the 抖音号, no uid inside."""
    return {
        "nickname": user.nickname,
        "ShortId": user.unique_id,
        "sec_uid": user.sec_uid,
        "avatar_thumb": picture(base, user.avatar),
    }


def user_profile(user: User, world: World, base: str) -> dict[str, Any]:
    works = world.works_by_owner.get(user.uid, [])
    return {
        **user_brief(user, base),
        "avatar_medium": picture(base, user.avatar),
        "signature": user.signature,
        "follower_count": user.follower_count,
        "following_count": user.following_count,
        "aweme_count": len(works),
        "total_favorited": sum(w.digg_count for w in works),
    }


def comment(c: Comment, world: World, base: str) -> dict[str, Any]:
    work = world.works[c.aweme_id]
    return {
        "cid": c.cid,
        "aweme_id": c.aweme_id,
        "text": c.text,
        "create_time": c.create_time,
        "digg_count": c.digg_count,
        "reply_comment_total": len(world.replies.get(c.cid, ())) if c.reply_id == "0" else 0,
        "reply_id": c.reply_id,
        "reply_to_reply_id": c.reply_to_reply_id,
        "user": user_brief(world.users[c.user_uid], base),
        "image_list": [{"origin_url": picture(base, c.image)}] if c.image else None,
        "ip_label": c.ip_label,
        "label_text": AUTHOR_LABEL if c.user_uid == work.owner_uid else "",
        "is_author_digged": False,
        "status": 1,
    }


def _creator_user(user: User, base: str) -> dict[str, Any]:
    return {
        "user_id": ids.user_token(user.uid),
        "screen_name": user.nickname,
        "avatar_url": picture(base, user.avatar)["url_list"][0],
    }


def creator_comment(c: Comment, world: World, base: str) -> dict[str, Any]:
    """The creator comment API's shape: encrypted ids, numbers as strings, flat author fields."""
    answered = world.comments.get(c.reply_to_reply_id if c.reply_to_reply_id != "0" else c.reply_id)
    return {
        "comment_id": ids.comment_token(c.cid),
        "create_time": str(c.create_time),
        "digg_count": str(c.digg_count),
        "reply_count": str(len(world.replies.get(c.cid, ()))) if c.reply_id == "0" else "0",
        "text": c.text,
        "level": 1 if c.reply_id == "0" else 2,
        "status": 1,
        "user_info": _creator_user(world.users[c.user_uid], base),
        "reply_to_user_info": _creator_user(world.users[answered.user_uid], base) if answered else None,
        "image_list": [{"origin_url": picture(base, c.image)}] if c.image else None,
        "is_author": c.user_uid == world.works[c.aweme_id].owner_uid,
    }


def work_link(work: Work) -> str:
    kind = "note" if work.aweme_type == IMAGE_SET else "video"
    return f"https://www.douyin.com/{kind}/{work.aweme_id}"


def creator_item(work: Work, world: World, base: str) -> dict[str, Any]:
    drifted = world.variants.item_time == "iso"
    item = {
        "item_id": work.item_id,
        "item_id_plain": work.aweme_id,
        "title": work.desc,
        "create_time": ids.iso_time(work.create_time) if drifted else ids.display_time(work.create_time),
        "comment_count": world.comment_totals.get(work.aweme_id, 0),
        "digg_count": work.digg_count,
        "play_count": work.play_count,
        "cover_image_url": picture(base, work.cover)["url_list"][0],
        "item_link": work_link(work),
        "is_private": work.private,
        "comment_closed": work.comments_closed,
    }
    if work.aweme_type != IMAGE_SET:
        item["media_type"] = VIDEO_MEDIA_TYPE
    return item


def aweme(work: Work, world: World, base: str) -> dict[str, Any]:
    return {
        "aweme_id": work.aweme_id,
        "desc": work.desc,
        "create_time": work.create_time,
        "aweme_type": work.aweme_type,
        "share_url": work_link(work),
        "video": {"cover": picture(base, work.cover)},
        "status": {"is_private": work.private, "allow_comment": not work.comments_closed},
        "statistics": {
            "play_count": work.play_count,
            "digg_count": work.digg_count,
            "comment_count": world.comment_totals.get(work.aweme_id, 0),
            "share_count": work.share_count,
            "collect_count": work.collect_count,
        },
    }


def notice(n: Notice, world: World, base: str) -> dict[str, Any]:
    c = world.comments[n.cid]
    work = world.works[n.aweme_id]
    return {
        "nid": n.nid,
        "nid_str": n.nid,
        "type": n.type,
        "create_time": n.create_time,
        "user_id": c.user_uid,
        "comment": {
            "comment": {
                "cid": c.cid,
                "text": c.text,
                "create_time": c.create_time,
                "reply_id": c.reply_id,
                "aweme_id": c.aweme_id,
                "user": user_brief(world.users[c.user_uid], base),
            },
            "aweme": {
                "aweme_id": work.aweme_id,
                "desc": work.desc,
                "create_time": work.create_time,
                "video": {"cover": picture(base, work.cover)},
            },
        },
    }
