from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.projections.factlog import FactLog


@pytest.fixture
def log(tmp_path: Path) -> Iterator[FactLog]:
    fl = FactLog(tmp_path / "models")
    try:
        yield fl
    finally:
        fl.close()
