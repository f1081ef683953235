"""The dedupe index: rebuilt from the stream it dedupes exactly as the original; msg ids catch the rest."""

from __future__ import annotations

from pathlib import Path

import msgspec

from hiscrm.facts.catalogue import CommentObserved, MessageObserved, Person
from hiscrm.facts.subjects import aggregate_filter
from hiscrm.worker.recorder import PassRecorder
from hiscrm.worker.seen import SeenIndex
from tests.worker.conftest import all_facts

FAN = Person(user_id="42", name="小林", avatar="http://pic/42.jpeg")
ME = Person(user_id="7", name="厨房", avatar="http://pic/7.jpeg")


def observations() -> list[CommentObserved | MessageObserved]:
    comments = [
        CommentObserved(
            account_id="acc", comment_id=f"c{i}", content_id="w1", text=f"第{i}条", author=FAN, create_time_ms=1000 + i
        )
        for i in range(5)
    ]
    message = MessageObserved(
        account_id="acc",
        message_id="m1",
        conversation_id="0:1:7:42",
        sender=FAN,
        receiver=ME,
        direction="inbound",
        content="在吗",
        create_time_ms=2000,
    )
    return [*comments, message]


async def record(store, index: SeenIndex, items: list, baseline: bool = False) -> PassRecorder:  # type: ignore[no-untyped-def]
    recorder = PassRecorder(store, index, "acc", baseline=baseline)
    for obs in items:
        await recorder.observe(msgspec.structs.replace(obs, observed_at_ms=123))
    await recorder.flush()
    return recorder


async def observed(nc) -> int:  # type: ignore[no-untyped-def]
    return len([r for r in await all_facts(nc, aggregate_filter("inbox", "acc"))])


async def test_an_index_rebuilt_from_the_stream_dedupes_like_the_original(nc, store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    original = SeenIndex.load(tmp_path / "a" / "seen.idx")
    first = await record(store, original, observations(), baseline=True)
    assert sum(first.new.values()) == 6 and await observed(nc) == 6

    rebuilt = SeenIndex.load(tmp_path / "b" / "seen.idx")
    assert await rebuilt.catch_up(nc, "acc") == 6
    assert rebuilt.digest() == original.digest()
    assert rebuilt.refs("comment", "c3") == ("w1", "") and rebuilt.refs("message", "m1") == ("0:1:7:42",)
    stale = SeenIndex.load(tmp_path / "b" / "seen.idx")  # nothing saved yet: an empty copy
    await stale.catch_up(nc, "acc")

    again = await record(store, rebuilt, observations())
    assert sum(again.new.values()) == 0 and await observed(nc) == 6

    changed = [msgspec.structs.replace(observations()[0], like_count=9), *observations()[1:]]
    assert sum((await record(store, rebuilt, changed)).new.values()) == 1
    # A worker whose copy predates the change sees it too: same item, same content, same msg id, stored once.
    late = await record(store, stale, changed)
    assert sum(late.new.values()) == 0 and await observed(nc) == 7

    rebuilt.write(rebuilt.encoded())
    reloaded = SeenIndex.load(rebuilt.path)
    assert await reloaded.catch_up(nc, "acc") == 0 and reloaded.digest() == stale.digest()
