"""Pages of one walk never repeat or skip an item, however facts interleave with the page requests."""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hiscrm.facts import catalogue as c
from tests.api.api_client import Api
from tests.api_im.im_client import comment, im, message

_runs = itertools.count()

# A step: ("page",) asks for the next page; ("add", kind, t, read) appends a new item (and maybe reads an old one).
steps = st.lists(
    st.one_of(
        st.tuples(st.just("page")),
        st.tuples(st.just("add"), st.sampled_from(["comment", "reply", "dm"]), st.integers(-50, 150), st.booleans()),
    ),
    max_size=25,
)


def _fact(account: str, n: int, kind: str, t: int) -> Any:
    if kind == "dm":
        return message(account, f"m{n}", t=t, conversation=f"cv{n % 3}")
    return comment(account, f"c{n}", t=t, parent="c0" if kind == "reply" else None)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    initial=st.lists(
        st.tuples(st.sampled_from(["comment", "reply", "dm"]), st.integers(0, 100)), min_size=1, max_size=30
    ),
    steps=steps,
    count=st.integers(1, 7),
    route=st.sampled_from(["unified", "discussions", "messages"]),
)
async def test_a_walk_returns_every_item_once_in_order(
    api: Api, initial: list[tuple[str, int]], steps: list[Any], count: int, route: str
) -> None:
    account = f"acct{next(_runs)}"
    await api.create_account(account)
    made = itertools.count()
    await api.record(*(_fact(account, next(made), kind, t) for kind, t in initial))
    path, key = {
        "unified": ("/api/im/unified-messages", "messages"),
        "discussions": ("/api/im/discussions", "discussions"),
        "messages": ("/api/im/messages", "messages"),
    }[route]
    id_field = {"discussions": "discussion_id"}.get(route, "msg_id")
    before = await _all(api, path, key, id_field, account)

    returned: list[str] = []
    cursor, has_more = 0, True
    plan = iter(steps)
    while has_more:
        step = next(plan, ("page",))
        if step[0] == "add":
            _, kind, t, read = step
            extra = [c.CommentRead(account_id=account, comment_id="c0")] if read else []
            await api.record(_fact(account, next(made), kind, t), *extra)
            continue
        body = await im(api, "GET", f"{path}?account_id={account}&cursor={cursor}&count={count}")
        page = body["data"][key]
        holder = body["data"] if route == "messages" else body
        returned += [item[id_field] for item in page]
        cursor, has_more = holder["cursor"], holder["has_more"]
    assert len(returned) == len(set(returned)), "an item came twice"
    missing = [i for i in before if i not in returned]
    assert not missing, f"skipped {missing}"
    # What the walk returned is in the list's order; items added meanwhile fit in where they sort.
    assert [i for i in await _all(api, path, key, id_field, account) if i in returned] == returned


async def _all(api: Api, path: str, key: str, id_field: str, account: str) -> list[str]:
    body = await im(api, "GET", f"{path}?account_id={account}&count=100")
    holder = body["data"] if "cursor" in body["data"] else body
    assert holder["has_more"] is False
    return [item[id_field] for item in body["data"][key]]
