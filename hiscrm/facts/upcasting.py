"""Old schema versions of a fact are rewritten to the current shape on read.

A stream keeps every fact forever, so a fact written by an older release must still decode after
its Struct changes. Each step turns the raw JSON object of version N into version N+1; reading
applies the steps in order, then validates the result against the current Struct.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Step = Callable[[dict[str, Any]], dict[str, Any]]


class Upcasters:
    def __init__(self) -> None:
        self._steps: dict[tuple[str, int], Step] = {}

    def register(self, type_name: str, from_version: int) -> Callable[[Step], Step]:
        """Decorator: `step` turns `type_name` at `from_version` into `from_version + 1`."""

        def decorate(step: Step) -> Step:
            self._steps[(type_name, from_version)] = step
            return step

        return decorate

    def upcast(self, type_name: str, version: int, target: int, raw: dict[str, Any]) -> dict[str, Any]:
        while version < target:
            step = self._steps.get((type_name, version))
            if step is None:
                raise ValueError(f"no upcaster for {type_name} from schema {version} to {version + 1}")
            raw = step(raw)
            version += 1
        return raw


UPCASTERS = Upcasters()
