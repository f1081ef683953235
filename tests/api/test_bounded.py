"""Bounded, the API caches' map: at most `size` worth of entries, the oldest put going first, as a list says."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from hiscrm.api.bounded import Bounded

puts = st.lists(st.tuples(st.integers(0, 9), st.integers(1, 4)), max_size=60)


@given(size=st.integers(0, 12), puts=puts, weighed=st.booleans())
def test_bounded_keeps_the_keys_put_last_with_their_latest_values(
    size: int, puts: list[tuple[int, int]], weighed: bool
) -> None:
    weigh = (lambda v: v) if weighed else (lambda v: 1)
    kept: Bounded[int, int] = Bounded(size, weigh)
    order: list[int] = []  # keys in the order they were first put since they were last evicted
    latest: dict[int, int] = {}
    for key, value in puts:
        kept.put(key, value)
        if size:
            if key not in order:
                order.append(key)
            latest[key] = value
            while sum(weigh(v) for v in latest.values()) > size:
                latest.pop(order.pop(0))
        assert dict(kept) == latest
        assert kept.held == sum(weigh(v) for v in latest.values()) <= size
