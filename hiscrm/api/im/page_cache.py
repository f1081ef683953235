"""Pages of one account kept until that account's inbox moves on.

IM clients poll the first pages of an account's lists over and over; between two facts of that
account every such request would rebuild the same answer. The unified inbox, conversations,
messages, discussions and contents of one account are read from models that only `inbox.<account>`
facts change (see projections/inbox_versions.py), so such a page depends only on those facts, the
request's path and query, and the caller's scope: a page built at inbox version V is served again
while the version is still V, and rebuilt the moment it is not. The caller's right to see the
account is checked on every request, cached or not, before the page is looked up. (Notifications
and accounts also change with account and login facts, so their pages are not kept.)
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any, TypeVar

from projections import inbox_versions

if TYPE_CHECKING:
    from hiscrm.api.routing import Call
    from hiscrm.projector.model import Tx

T = TypeVar("T")

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


def account_page(call: Call, tx: Tx, account_id: str, build: Callable[[], T]) -> T:
    """The page this request asks for of a visible `account_id`'s inbox models: kept, or built and kept."""
    cache: PageCache = call.request.app.state.page_cache
    scope = call.request.scope
    accounts = None if call.token is None or call.token.accounts is None else tuple(call.token.accounts)
    page_key = (account_id, scope["path"], scope["query_string"], accounts)
    version = inbox_versions.version(tx, account_id)
    page = cache.get(page_key, version)
    if page is None:
        page = build()
        cache.put(page_key, version, page)
    return page  # type: ignore[no-any-return]
