"""Identifiers shaped like Douyin's, derived deterministically so a seeded world is the same every run."""

from __future__ import annotations

import base64
import hashlib
import random
import string
from datetime import datetime, timedelta, timezone

# Douyin ids carry their creation second in the high bits; the low 32 bits only need to be distinct.
_LOW_MULTIPLIER = 2654435761  # odd, so counter -> low bits is a bijection on 32 bits
CHINA = timezone(timedelta(hours=8))


def snowflake(ts: int, counter: int) -> str:
    return str((ts << 32) | ((counter * _LOW_MULTIPLIER) & 0xFFFFFFFF))


def sec_uid(uid: str) -> str:
    digest = hashlib.sha256(f"sec:{uid}".encode()).digest()
    return "MS4wLjABAAAA" + base64.urlsafe_b64encode(digest + digest[:16]).decode()


def _encrypted(kind: str, plain: str) -> str:
    # The creator API's encrypted ids ("@j/…"): opaque, with +, / and = so clients must URL-encode them.
    return "@j/" + base64.b64encode(hashlib.sha512(f"{kind}:{plain}".encode()).digest()[:36]).decode()


def item_id(aweme_id: str) -> str:
    return _encrypted("item", aweme_id)


def comment_token(cid: str) -> str:
    """A comment's id in the creator comment API (the V2 select API shows the numeric cid)."""
    return _encrypted("comment", cid)


def user_token(uid: str) -> str:
    """A user's id in the creator comment API's user_info."""
    return _encrypted("user", uid)


def avatar_path(uid: str) -> str:
    return f"/aweme/100x100/aweme-avatar/tos-cn-avt-0015_{hashlib.md5(uid.encode()).hexdigest()}.jpeg"


def cover_path(aweme_id: str) -> str:
    return f"/obj/tos-cn-p-0015/o{hashlib.md5(aweme_id.encode()).hexdigest()[:30]}~tplv-dy-360p.jpeg"


def random_uid(rng: random.Random) -> str:
    return str(rng.randrange(10**18, 4 * 10**18))


def random_unique_id(rng: random.Random) -> str:
    return "dy" + "".join(rng.choices(string.ascii_lowercase + string.digits, k=10))


def random_short_id(rng: random.Random) -> str:
    return str(rng.randrange(10**9, 4 * 10**9))


def conversation_id(uid_a: str, uid_b: str) -> str:
    low, high = sorted((uid_a, uid_b), key=int)
    return f"0:1:{low}:{high}"


def display_time(ts: int) -> str:
    """item/list's create_time, "发布于2025年10月27日 10:42": Beijing time whatever the host's zone."""
    t = datetime.fromtimestamp(ts, CHINA)
    return f"发布于{t.year}年{t.month:02d}月{t.day:02d}日 {t.hour:02d}:{t.minute:02d}"


def iso_time(ts: int) -> str:
    """The drifted item/list create_time of the `item_time: iso` variant."""
    return datetime.fromtimestamp(ts, CHINA).isoformat(timespec="minutes")
