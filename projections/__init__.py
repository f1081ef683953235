"""The read models the projector applies, one module per model.

Each module has NAME, VERSION, TABLES and HANDLERS (fact type name -> `handler(tx, rec)`); see
hiscrm/projector/model.py.
Bumping a VERSION makes the projector rebuild the models from the stream before it serves again.
Modules starting with `_` and `paging` are helpers, not models.
"""

from __future__ import annotations

from hiscrm.projector.model import ReadModel
from projections import (
    accounts,
    activity,
    comments,
    contents,
    conversations,
    freshness,
    inbox_versions,
    login_sessions,
    notifications,
    replies,
    search,
    sightings,
    unread,
    workers,
)

MODELS: list[ReadModel] = [  # type: ignore[list-item]
    workers,
    accounts,
    login_sessions,
    replies,
    contents,
    comments,
    conversations,
    notifications,
    unread,
    freshness,
    activity,
    inbox_versions,
    sightings,
    search,
]
