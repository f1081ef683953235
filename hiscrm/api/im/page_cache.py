"""Inbox pages kept until their account's inbox moves on.

IM clients poll the first page of an account's inbox over and over; between two facts of that
account every such request would rebuild the same answer. A page depends only on the account's
inbox facts (see projections/inbox_versions.py), the query and the caller's scope, so a page built
at inbox version V is served again while the version is still V, and rebuilt the moment it is not.
The caller's right to see the account is checked on every request, cached or not.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

SIZE = 4096


class PageCache:
    def __init__(self, size: int = SIZE) -> None:
        self.size = size
        self._pages: OrderedDict[Hashable, tuple[int, Any]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable, version: int) -> Any | None:
        found = self._pages.get(key)
        if found is None or found[0] != version:
            self.misses += 1
            return None
        self._pages.move_to_end(key)
        self.hits += 1
        return found[1]

    def put(self, key: Hashable, version: int, page: Any) -> None:
        self._pages[key] = (version, page)
        self._pages.move_to_end(key)
        if len(self._pages) > self.size:
            self._pages.popitem(last=False)
