"""The two response envelopes clients depend on.

`/api/v1` answers `{success, data | error}`. `/api/im` answers as the predecessor's IM API did
(reference/im-api.md): `{data, status_code: 0}` with the list's cursor inside `data` or beside it,
and `{data: null, status_code, status_msg}` on failure.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec
from starlette.responses import Response

from hiscrm.api.errors import ApiError

Family = Literal["v1", "im", "plain"]

_encoder = msgspec.json.Encoder()


class ReadyResponse(Response):
    """JSON already encoded: what Response.__init__ and init_headers come to for a JSON body and no other
    headers, without their generality. Every answer of the API is made here."""

    media_type = "application/json"

    def __init__(self, body: bytes, status_code: int = 200) -> None:
        self.status_code = status_code
        self.background = None
        self.body = body
        self.raw_headers = [(b"content-type", b"application/json")]
        if status_code >= 200 and status_code not in (204, 304):
            self.raw_headers.insert(0, (b"content-length", str(len(body)).encode()))


class JSONResponse(ReadyResponse):
    def __init__(self, content: Any, status_code: int = 200) -> None:
        super().__init__(_encoder.encode(content), status_code)


class ImList(msgspec.Struct):
    """An IM list whose cursor and has_more sit inside `data` (accounts, conversations, messages)."""

    key: str
    items: list[Any]
    cursor: int
    has_more: bool


class ImPage(msgspec.Struct):
    """An IM success whose cursor and has_more sit beside `data` (contents, discussions, unified messages)."""

    data: dict[str, Any]
    cursor: int
    has_more: bool


def success(family: Family, data: Any, status: int = 200) -> JSONResponse:
    if family == "v1":
        return JSONResponse({"success": True, "data": data}, status)
    if family == "im":
        if isinstance(data, ImList):
            body = {"data": {data.key: data.items, "cursor": data.cursor, "has_more": data.has_more}, "status_code": 0}
        elif isinstance(data, ImPage):
            body = {"data": data.data, "status_code": 0, "cursor": data.cursor, "has_more": data.has_more}
        else:
            body = {"data": data, "status_code": 0}
        return JSONResponse(body, status)
    return JSONResponse(data, status)


def failure(family: Family, error: ApiError) -> JSONResponse:
    if family == "im":
        return JSONResponse({"data": None, "status_code": error.status, "status_msg": error.message}, error.status)
    return JSONResponse({"success": False, "error": {"code": error.code, "message": error.message}}, error.status)


def family_of(path: str) -> Family:
    return "im" if path.startswith("/api/im") else "v1"
