"""A page kept whole (hiscrm/api/im/page_cache.py) and answered ahead of routing: refused to whom its route
refuses, counted in /metrics under its route, and read again from a generation a rebuild swaps in.

That kept pages equal pages built on every read, across facts of every kind and two scopes, is
test_im_shaped_pages.py.
"""

from __future__ import annotations

import re

import httpx
import pytest

from hiscrm.api.auth import Tokens
from hiscrm.api.im.page_cache import PageCache
from hiscrm.projector.rebuild import rebuild
from projections import MODELS
from tests.api.api_client import Api
from tests.api_im.im_client import comment, error_message, im

PAGE = "/api/im/conversations?account_id=shop1"
NOTIFICATIONS = "/api/im/notifications?account_id=shop1"


def _pages(api: Api) -> PageCache:
    return api.client._transport.app.pages  # type: ignore[attr-defined,no-any-return]


async def _served(api: Api, path: str, token: str = "im") -> bytes:
    r = await api.call("GET", path, token=token)
    assert r.status_code == 200, r.text
    return r.content


async def test_a_kept_page_is_refused_to_whom_its_route_refuses(api: Api) -> None:
    await api.create_account("shop1")
    await api.create_account("shop2")
    await api.record(comment("shop1", "cm1", t=1))
    pages = _pages(api)
    cli = Tokens(api.services.settings.data_dir / "tokens.json")  # as `hiscrm tokens` would, beside the API
    doomed = cli.add("im", name="doomed")
    shop2_only = cli.add("im", accounts=["shop2"])
    for path in (PAGE, NOTIFICATIONS):
        first = await _served(api, path, doomed.secret)
        hits = pages.hits
        assert await _served(api, path, doomed.secret) == first and pages.hits == hits + 1

        missing = await api.call("GET", path, token=None)
        assert "missing Authorization" in error_message(missing, 401)
        assert "unknown token" in error_message(await api.call("GET", path, token="hcrm_wrong"), 401)
        hidden = await api.call("GET", path, token=shop2_only.secret)
        assert error_message(hidden, 404) == "account 'shop1' not found"
        assert await _served(api, path) == first  # another token of the same scope: the same kept answer

    cli.revoke(doomed.token.id)
    assert "revoked" in error_message(await api.call("GET", PAGE, token=doomed.secret), 401)

    await api.ok("DELETE", "/api/v1/accounts/shop1")
    for path in (PAGE, NOTIFICATIONS):
        assert error_message(await api.call("GET", path, token="im"), 404) == "account 'shop1' not found"


async def _count(api: Api, route: str) -> int:
    text = (await api.call("GET", "/metrics")).text
    line = rf'hiscrm_http_requests_total{{route="{re.escape(route)}",method="GET",status="200"}} (\d+)'
    found = re.search(line, text)
    return int(found.group(1)) if found else 0


async def test_answers_from_kept_pages_count_in_metrics_under_their_route(api: Api) -> None:
    await api.create_account("shop1")
    await api.record(comment("shop1", "cm1", t=1))
    await _served(api, PAGE)
    before, hits = await _count(api, "/api/im/conversations"), _pages(api).hits
    for _ in range(5):
        await _served(api, PAGE)
    assert _pages(api).hits == hits + 5
    assert await _count(api, "/api/im/conversations") == before + 5


async def test_kept_pages_are_read_again_from_a_generation_a_rebuild_swaps_in(api: Api) -> None:
    await api.create_account("shop1")
    await api.record(comment("shop1", "cm1", t=1))
    first = await im(api, "GET", PAGE)
    await im(api, "GET", PAGE)
    pages = _pages(api)
    misses = pages.misses
    await rebuild(api.store.nc, api.services.models.gens, MODELS)  # what `hiscrm projections rebuild` does
    assert await im(api, "GET", PAGE) == first
    assert pages.misses == misses + 1, "the kept page was answered from the generation swapped out"
    hits = pages.hits
    assert await im(api, "GET", PAGE) == first and pages.hits == hits + 1


class _Broken(PageCache):
    def ahead(self, *args: object) -> None:
        raise RuntimeError("a bug in answering kept pages")


async def test_a_failure_before_routing_answers_the_envelope_and_reaches_the_log(api: Api) -> None:
    app = api.client._transport.app  # type: ignore[attr-defined]
    app.pages = _Broken()
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://hiscrm.test") as client:
        r = await client.get(PAGE, headers={"Authorization": f"Bearer {api.im}"})
    assert error_message(r, 500) == "internal error; the server log has the details"
    with pytest.raises(RuntimeError, match="a bug in answering kept pages"):
        await api.call("GET", PAGE, token="im")  # the test client lets the app's exception through
