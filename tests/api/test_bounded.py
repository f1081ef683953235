"""Bounded, the API caches' map: at most `size` entries, the oldest put going first, as a list would say."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from hiscrm.api.bounded import Bounded


@given(size=st.integers(0, 5), puts=st.lists(st.tuples(st.integers(0, 9), st.integers()), max_size=60))
def test_bounded_keeps_the_keys_put_last_with_their_latest_values(size: int, puts: list[tuple[int, int]]) -> None:
    kept: Bounded[int, int] = Bounded(size)
    order: list[int] = []  # keys in the order they were first put since they were last evicted
    latest: dict[int, int] = {}
    for key, value in puts:
        kept.put(key, value)
        if size:
            if key not in order:
                order.append(key)
                if len(order) > size:
                    latest.pop(order.pop(0))
            latest[key] = value
        assert dict(kept) == latest
        assert len(kept) <= size
