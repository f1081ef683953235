"""Worlds to start from: a deterministic demo with two creators, or bulk content for benchmarks."""

from __future__ import annotations

import random
import time
from collections.abc import Sequence

from hiscrm.sandbox import corpus, ids
from hiscrm.sandbox.model import Account, Comment, User, Work
from hiscrm.sandbox.state import World

DEMO_SEED = 20261120
DAY = 86400


def demo_world(now: float | None = None) -> World:
    """Two creator accounts with works, threads, conversations and notices, the same for the same `now`."""
    now = time.time() if now is None else now
    world = World()
    rng = random.Random(DEMO_SEED)
    kitchen = _add_creator(
        world,
        "林小满的厨房",
        uid="2381749560317724160",
        unique_id="linxiaoman.kitchen",
        signature="家常菜｜一人食｜每周三、六更新\n商务合作请看主页邮箱",
        follower_count=286_400,
        following_count=132,
        ip_label="浙江",
    )
    populate(
        world,
        kitchen,
        rng,
        now=int(now),
        works=8,
        comments=120,
        conversations=6,
        messages=8,
        titles=corpus.KITCHEN_TITLES,
        comment_texts=corpus.KITCHEN_COMMENTS + corpus.COMMENTS,
        private_works=1,
    )
    rider = _add_creator(
        world,
        "阿杰骑行日记",
        uid="1093857263140582913",
        unique_id="ajie_ride",
        signature="骑行爱好者，周末长途，偶尔测评",
        follower_count=41_720,
        following_count=318,
        ip_label="江苏",
    )
    populate(
        world,
        rider,
        rng,
        now=int(now),
        works=6,
        comments=60,
        conversations=3,
        messages=6,
        titles=corpus.RIDE_TITLES,
        comment_texts=corpus.RIDE_COMMENTS + corpus.COMMENTS,
    )
    return world


def _add_creator(
    world: World,
    nickname: str,
    *,
    uid: str,
    unique_id: str,
    signature: str,
    follower_count: int,
    following_count: int,
    ip_label: str,
) -> Account:
    user = world.add_user(
        nickname,
        uid=uid,
        unique_id=unique_id,
        signature=signature,
        follower_count=follower_count,
        following_count=following_count,
        ip_label=ip_label,
    )
    return world.add_account(user.uid)


def populate(
    world: World,
    account: Account,
    rng: random.Random,
    *,
    now: int,
    works: int,
    comments: int,
    conversations: int,
    messages: int,
    titles: Sequence[str] = corpus.GENERIC_TITLES,
    comment_texts: Sequence[str] = corpus.COMMENTS,
    private_works: int = 0,
) -> None:
    """Adds works spread over the last month, comment threads on them, and DM conversations.

    About a quarter of the comments are replies, a third of those by the creator. The oldest
    `private_works` works are private with comments closed, after having collected a few comments.
    """
    fans = [new_fan(world, rng) for _ in range(max(8, min(60, comments // 4 + conversations)))]
    made = []
    for i in range(works):
        ts = now - (works - i) * 3 * DAY - rng.randrange(DAY // 2) - 3600
        plays = rng.randrange(2_000, 600_000)
        made.append(
            world.add_work(
                account.uid,
                titles[i % len(titles)],
                create_time=ts,
                aweme_type=68 if i % 5 == 3 else 0,
                play_count=plays,
                digg_count=plays * rng.randrange(2, 9) // 100,
                share_count=plays // rng.randrange(150, 400),
                collect_count=plays // rng.randrange(60, 200),
            )
        )
    if made:
        _add_threads(world, account, rng, made, comments, fans, comment_texts, now)
    for work in made[:private_works]:
        work.private = work.comments_closed = True
    # One conversation per peer: two users share exactly one.
    peers = rng.sample(fans, min(conversations, len(fans)))
    peers += [new_fan(world, rng) for _ in range(conversations - len(peers))]
    for peer in peers:
        _add_conversation(world, account, rng, peer, max(messages, 1), now)  # a conversation exists by its messages


def new_fan_name(rng: random.Random) -> str:
    name = rng.choice(corpus.NICKNAMES)
    return name + str(rng.randrange(10, 9999)) if rng.random() < 0.3 else name


def new_fan(world: World, rng: random.Random) -> User:
    return world.add_user(
        new_fan_name(rng),
        signature=rng.choice(corpus.SIGNATURES),
        follower_count=int(rng.paretovariate(1.2) * 40),
        following_count=rng.randrange(20, 900),
        ip_label=rng.choice(corpus.IP_LABELS),
    )


def _add_threads(
    world: World,
    account: Account,
    rng: random.Random,
    works: list[Work],
    count: int,
    fans: list[User],
    texts: Sequence[str],
    now: int,
) -> None:
    tops: dict[str, list[Comment]] = {w.aweme_id: [] for w in works}
    for n in range(count):
        work = rng.choice(works)
        threads = tops[work.aweme_id]
        if threads and rng.random() < 0.25:
            parent = rng.choice(threads)
            by_creator = rng.random() < 0.35
            author = account.uid if by_creator else rng.choice(fans).uid
            text = rng.choice(corpus.CREATOR_REPLIES if by_creator else corpus.FAN_REPLIES)
            ts = rng.randrange(parent.create_time + 60, max(now, parent.create_time + 61))
            world.add_comment(work.aweme_id, author, text, reply_to=parent.cid, create_time=ts)
            continue
        ts = rng.randrange(work.create_time + 120, max(now, work.create_time + 121))
        comment = world.add_comment(
            work.aweme_id,
            rng.choice(fans).uid,
            rng.choice(texts),
            create_time=ts,
            digg_count=int(rng.paretovariate(1.5)) - 1,
            image=ids.cover_path(f"comment-image-{n}") if rng.random() < 0.03 else "",
        )
        threads.append(comment)


def _add_conversation(world: World, account: Account, rng: random.Random, fan: User, length: int, now: int) -> None:
    at_ms = (now - rng.randrange(DAY // 4, 10 * DAY)) * 1000
    for i in range(length):
        from_fan = i % 2 == 0 or rng.random() < 0.2
        if from_fan:
            text = rng.choice(corpus.DM_OPENERS if i == 0 else corpus.DM_FOLLOWUPS)
            world.add_message(fan.uid, account.uid, text, created_ms=at_ms)
        else:
            world.add_message(account.uid, fan.uid, rng.choice(corpus.CREATOR_DM_REPLIES), created_ms=at_ms)
        at_ms = min(at_ms + rng.randrange(20_000, 3 * 3_600_000), now * 1000 - (length - i) * 1000)
