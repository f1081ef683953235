"""Schemathesis against /openapi.json over a live server with a valid token: no 5xx, no answer that breaks the schema.

Only those checks run: the API is stricter than JSON Schema on purpose (469.0 is not an int, ids are
subject tokens), so "schema-valid input refused" is expected and not a failure here.

The event feed is left out: it is an endless text/event-stream (tests/api_im/test_im_events.py covers it).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from hiscrm.api.services import Services
from hiscrm.facts import catalogue as c
from tests.api_im.im_client import comment, message
from tests.api_im.live_server import Live, live_stack

CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


async def _seed(services: Services) -> None:
    facts = [
        c.AccountCreated(account_id="shop1", platform="douyin", account_name="Shop"),
        c.ContentObserved(account_id="shop1", content_id="v1", title="Work"),
        comment("shop1", "cm1", t=1),
        comment("shop1", "cm2", t=2, parent="cm1"),
        message("shop1", "m1", t=3),
    ]
    done = await services.store.append_many(facts)
    assert await services.models.wait_for(done[-1].seq, 10)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    with live_stack(Path(tmp_path_factory.mktemp("schemathesis")), _seed) as running:
        yield running


def test_im_api_conforms(live: Live) -> None:
    # Each operation is driven by hypothesis here rather than through schemathesis' pytest plugin,
    # which does not run under pytest 9.
    schema = schemathesis.openapi.from_url(f"{live.url}/openapi.json")
    operations = schema.include(path_regex=r"^/api/im/").exclude(path="/api/im/events").get_all_operations()
    headers = {"Authorization": f"Bearer {live.admin}"}
    failures: list[str] = []
    checked = 0
    for found in operations:
        operation = found.ok()

        @settings(max_examples=6, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def conforms(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, timeout=10, checks=CHECKS)

        try:
            conforms()
        except Exception as exc:
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
        checked += 1
    assert checked >= 35
    assert not failures, "\n\n".join(failures)
