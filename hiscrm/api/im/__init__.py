"""The IM API under /api/im, as reference/im-api.md fixes it; one module per resource, roles im and admin."""

from __future__ import annotations

from typing import Any

from hiscrm.api.im import (
    accounts,
    contents,
    conversations,
    discussions,
    events,
    history,
    messages,
    notifications,
    read_all,
    search,
    service,
    unified,
)

ROUTER_MODULES: list[Any] = [
    service,
    accounts,
    conversations,
    messages,
    contents,
    discussions,
    unified,
    notifications,
    read_all,
    search,
    history,
    events,
]
