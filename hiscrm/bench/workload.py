"""A deterministic stream of plausible facts: what a fleet of accounts produces in a day.

Used by the benchmarks and by the crash and property tests, so they exercise every read model
with the mix a real deployment sees (mostly observations, some IM-state changes and passes).
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from hiscrm.facts import catalogue as c
from hiscrm.facts.base import Fact

_WORDS = "好看 太棒了 请问 这个 在哪里 买 多少钱 支持 主播 加油 视频 喜欢 什么时候 更新 谢谢 回复 我 也 想 要".split()
BASE_MS = 1_763_000_000_000


def _text(rng: random.Random) -> str:
    return "".join(rng.choice(_WORDS) for _ in range(rng.randint(2, 8)))


def _person(rng: random.Random, n: int) -> c.Person:
    return c.Person(
        user_id=f"{7_100_000_000 + n}", name=f"用户{n:04d}", avatar=f"https://p3.douyinpic.com/aweme/{n}.jpeg"
    )


def account_setup(account_id: str, worker_id: str = "w1") -> list[Fact]:
    return [
        c.AccountCreated(account_id=account_id, platform="douyin", account_name=f"账号 {account_id}"),
        c.AccountAssigned(account_id=account_id, worker_id=worker_id),
    ]


def facts(count: int, accounts: int = 10, seed: int = 7) -> Iterator[Fact]:
    """`count` facts over `accounts` accounts, the same ones for the same arguments."""
    rng = random.Random(seed)
    ids = [f"acc{n:03d}" for n in range(accounts)]
    made = 0
    yield c.WorkerRegistered(worker_id="w1", platforms=["douyin"], max_accounts=accounts)
    made += 1
    for account in ids:
        for fact in account_setup(account):
            yield fact
            made += 1
    comments: dict[str, list[str]] = {a: [] for a in ids}
    messages: dict[str, list[str]] = {a: [] for a in ids}
    t = BASE_MS
    serial = 0
    while made < count:
        account = rng.choice(ids)
        serial += 1
        t += rng.randint(1, 2000)
        roll = rng.random()
        content_id = f"73{rng.randint(0, 19):017d}"
        if roll < 0.40:
            cid = f"75{serial:017d}"
            parent = rng.choice(comments[account]) if comments[account] and rng.random() < 0.3 else None
            comments[account].append(cid)
            fact: Fact = c.CommentObserved(
                account_id=account,
                comment_id=cid,
                content_id=content_id,
                parent_comment_id=parent,
                text=_text(rng),
                author=_person(rng, rng.randint(0, 5000)),
                create_time_ms=t,
                like_count=rng.randint(0, 50),
                observed_at_ms=t,
            )
        elif roll < 0.70:
            peer = rng.randint(0, 300)
            conversation = f"0:1:{7_100_000_000 + peer}:{9_900_000_000 + ids.index(account)}"
            mid = f"76{serial:017d}"
            messages[account].append(mid)
            inbound = rng.random() < 0.8
            me = c.Person(user_id=f"{9_900_000_000 + ids.index(account)}", name=f"账号 {account}")
            other = _person(rng, peer)
            fact = c.MessageObserved(
                account_id=account,
                message_id=mid,
                conversation_id=conversation,
                sender=other if inbound else me,
                receiver=me if inbound else other,
                direction="inbound" if inbound else "outbound",
                content=_text(rng),
                create_time_ms=t,
                observed_at_ms=t,
            )
        elif roll < 0.78:
            peer = rng.randint(0, 300)
            fact = c.ConversationObserved(
                account_id=account,
                conversation_id=f"0:1:{7_100_000_000 + peer}:{9_900_000_000 + ids.index(account)}",
                peer=_person(rng, peer),
            )
        elif roll < 0.84:
            fact = c.ContentObserved(
                account_id=account,
                content_id=content_id,
                title=_text(rng),
                publish_time_ms=BASE_MS - rng.randint(0, 10**9),
                stats=c.ContentStats(comments=rng.randint(0, 500), likes=rng.randint(0, 10**5)),
                observed_at_ms=t,
            )
        elif roll < 0.90 and comments[account]:
            fact = c.CommentRead(account_id=account, comment_id=rng.choice(comments[account]))
        elif roll < 0.95 and messages[account]:
            fact = c.MessageRead(account_id=account, message_id=rng.choice(messages[account]))
        else:
            fact = c.SnapshotSynced(
                account_id=account,
                worker_id="w1",
                pass_no=serial,
                counts=c.PassCounts(comments=len(comments[account]), messages=len(messages[account])),
                new_counts=c.PassCounts(comments=1),
                duration_ms=rng.randint(2000, 20000),
                digest=f"{serial:016x}",
            )
        yield fact
        made += 1
