"""Deeply nested JSON bodies (issue 13, finding 6): a 400 with the envelope on every write route, never a
RecursionError; and the depth scan that refuses them agrees with a decoder's idea of depth."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hiscrm.api.app import endpoints
from hiscrm.api.json_depth import MAX_DEPTH, deeper_than
from tests.api.api_client import Api

# About 2 KB: what took a route down with a 500 and a 38-line traceback.
DEEP = b'{"nobody_reads_this": ' + b"[" * 1000 + b"]" * 1000 + b"}"


async def test_every_write_route_refuses_a_deep_body_with_the_envelope(api: Api) -> None:
    await api.create_account("shop1")
    routes = [e for e in endpoints() if e.body is not None]
    assert len(routes) >= 14
    for route in routes:
        path = re.sub(r"\{[^}]+\}", "shop1", route.path)
        token = "im" if route.family == "im" else "admin"
        answer = await api.call(
            route.method, path, token=token, content=DEEP, headers={"content-type": "application/json"}
        )
        assert answer.status_code == 400, (route.method, route.path, answer.text)
        body = answer.json()
        message = body["status_msg"] if route.family == "im" else body["error"]["message"]
        assert f"more than {MAX_DEPTH} deep" in message, (route.method, route.path, body)


async def test_a_body_as_deep_as_the_limit_is_decoded(api: Api) -> None:
    """The limit is not off by one: 64 levels reach the decoder (which names the field), 65 do not."""
    for depth, refused in ((MAX_DEPTH, False), (MAX_DEPTH + 1, True)):
        nested = "[" * (depth - 1) + "]" * (depth - 1)
        raw = f'{{"platform": "douyin", "account_name": {nested}}}'.encode()
        message = await api.fails("POST", "/api/v1/accounts", 400, content=raw)
        assert ("deep" in message) is refused, (depth, message)


def depth_of(value: Any) -> int:
    """The reference: nesting as the decoded value shows it."""
    if isinstance(value, list):
        return 1 + max(map(depth_of, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(depth_of, value.values()), default=0)
    return 0


# Strings full of what the scan must not count: brackets, quotes, backslashes and escapes of them.
TRICKY = st.text(alphabet=st.sampled_from('[]{}"\\/ab\n\u00e9'), max_size=8)
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | TRICKY,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TRICKY, inner, max_size=4),
    max_leaves=60,
)


@settings(max_examples=400, deadline=None)
@given(value=VALUES, ascii_only=st.booleans(), spaced=st.booleans(), slack=st.integers(-3, 3))
def test_the_scan_agrees_with_the_decoded_depth(value: Any, ascii_only: bool, spaced: bool, slack: int) -> None:
    payload = json.dumps(value, ensure_ascii=ascii_only, separators=(", ", ": ") if spaced else (",", ":")).encode()
    depth = depth_of(json.loads(payload))
    limit = max(0, depth + slack)
    assert deeper_than(payload, limit) is (depth > limit)


@settings(max_examples=200, deadline=None)
@given(value=VALUES, cut=st.integers(0, 10_000), padding=st.integers(0, 1200))
def test_a_truncated_body_the_scan_lets_through_never_recurses_in_the_decoder(
    value: Any, cut: int, padding: int
) -> None:
    """Invalid JSON may be judged deeper than it is, but whatever passes decodes or fails cleanly."""
    payload = ("[" * padding + json.dumps(value)).encode()
    payload = payload[: cut % (len(payload) + 1)]
    if deeper_than(payload):
        return
    try:
        msgspec.json.decode(payload)
    except msgspec.DecodeError:
        pass


def test_the_shapes_that_take_the_scan_down_each_path() -> None:
    wide = b"[" + b",".join([b"[" * 8 + b"]" * 8] * 2000) + b"]"  # many runs: stripped a level per pass
    assert not deeper_than(wide, 9) and deeper_than(wide, 8)
    lopsided = b"[" * 70 + b"[]," * 5000 + b"1" + b"]" * 70  # deep at one end of a wide body
    assert deeper_than(lopsided) and not deeper_than(lopsided, 71)
    assert deeper_than(b"[" * 1000)  # never closed: a decoder would recurse into every one
    assert not deeper_than(b'["' + b"[" * 1000)  # inside an unterminated string nothing nests
    assert not deeper_than(b'["\\"' + b"[" * 100 + b'"]')  # an escaped quote does not end the string
    assert deeper_than(b'["\\\\"' + b"[" * 100 + b'"]')  # an escaped backslash does not escape the quote


async def test_an_unexpected_error_is_a_500_with_the_envelope(api: Api) -> None:
    app = api.client._transport.app  # type: ignore[attr-defined]

    async def broken(request: Request) -> Response:
        raise RuntimeError("a bug")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://hiscrm.test") as client:
        for path in ("/api/v1/broken/x", "/api/im/broken/x"):
            app.router.routes.append(Route(path.replace("/x", "/{what}"), broken))
            answer = await client.get(path)
            assert answer.status_code == 500 and answer.headers["content-type"] == "application/json"
            assert "a bug" not in answer.text and "Traceback" not in answer.text
            assert "internal error" in answer.text
