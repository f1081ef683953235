"""Reading the pages' answers: trouble first (detect), then the JSON of a successful answer."""

from __future__ import annotations

from typing import Any

from hiscrm.platforms.base import PlatformError
from hiscrm.platforms.capture import Answer
from hiscrm.platforms.douyin import detect


def ok(answer: Answer) -> dict[str, Any]:
    """The JSON of an answer with status_code 0; trouble raises its own error, any other code PlatformError."""
    data = detect.read_json(answer)
    if data.get("status_code", 0) != 0:
        raise PlatformError(f"{answer.path} answered {data.get('status_code')}: {data.get('status_msg')}")
    return data


def missing(where: str, field: str) -> PlatformError:
    """An answer without a field the adapter depends on: the site changed (`hiscrm doctor` says what)."""
    return PlatformError(f"{where} answered without {field}")
