"""The read models the projector applies, one module per model.

Each module has NAME, VERSION, TABLES, HANDLES and `apply(tx, rec)`; see hiscrm/projector/model.py.
Bumping a VERSION makes the projector rebuild the models from the stream before it serves again.
"""

from __future__ import annotations

from hiscrm.projector.model import ReadModel
from projections import workers

MODELS: list[ReadModel] = [workers]  # type: ignore[list-item]
