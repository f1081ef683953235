"""The SSE feed: ids are stream sequences, a dropped connection resumed with Last-Event-ID misses and repeats
nothing, idle connections get keep-alives, and the stream ends when the server shuts down."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from hiscrm.api.services import Services
from hiscrm.facts import catalogue as c
from tests.api_im.im_client import comment, message
from tests.api_im.live_server import Live, live_stack


async def _seed(services: Services) -> None:
    await services.store.append(c.AccountCreated(account_id="shop1", platform="douyin", account_name="Shop"))
    assert await services.models.wait_for(1, 10)


def _append(live: Live, *facts: c.Fact) -> list[int]:
    async def go() -> list[int]:
        return [d.seq for d in await live.store.append_many(facts)]

    return live.run(go())


def _read(lines: Iterator[str], until_seq: int, timeout: float = 10) -> tuple[list[int], int]:
    """Event ids up to and including `until_seq`, and how many keep-alive comments came."""
    ids, keepalives, deadline = [], 0, time.monotonic() + timeout
    for line in lines:
        if line.startswith("id: "):
            ids.append(int(line[4:]))
            if ids[-1] >= until_seq:
                return ids, keepalives
        elif line.startswith(": keep-alive"):
            keepalives += 1
        assert time.monotonic() < deadline, ids
    raise AssertionError(f"stream ended after {ids}")


def test_resume_after_a_dropped_connection_misses_and_repeats_nothing(tmp_path: Path) -> None:
    with live_stack(tmp_path, _seed) as live, httpx.Client(base_url=live.url, timeout=10) as client:
        headers = {"Authorization": f"Bearer {live.im}"}
        other = c.ContentRead(account_id="shop1", content_id="v1")  # not a feed event: must not show
        with client.stream("GET", "/api/im/events?heartbeat_s=0.2", headers=headers) as first:
            assert first.headers["content-type"].startswith("text/event-stream")
            time.sleep(0.3)
            wanted = _append(live, comment("shop1", "c1", t=1), other, message("shop1", "m1", t=2))
            wanted = [wanted[0], wanted[2]]
            seen, _ = _read(first.iter_lines(), wanted[-1])
        assert seen == wanted
        # While nobody listens, more happens; then the client comes back with the last id it saw.
        later = _append(live, comment("shop1", "c2", t=3), message("shop1", "m2", t=4), comment("shop1", "c3", t=5))
        resume = {**headers, "Last-Event-ID": str(seen[-1])}
        with client.stream("GET", "/api/im/events?heartbeat_s=0.2", headers=resume) as second:
            lines = second.iter_lines()
            again, _ = _read(lines, later[-1])
            assert again == later
            # Then it stays open, idle but kept alive, and ends when the server stops.
            more, _ = _read(lines, *_append(live, comment("shop1", "c4", t=6)))
            assert len(more) == 1 and more[0] > later[-1]
            idle = time.monotonic()
            for line in lines:
                if line.startswith(": keep-alive"):
                    break
            assert time.monotonic() - idle < 2
            live.shutdown()
            ended = time.monotonic()
            for _ in lines:
                pass
            assert time.monotonic() - ended < 5
        assert live.server_done.wait(5)


def _events(lines: Iterator[str], until_seq: int, timeout: float = 10) -> list[tuple[str, dict[str, Any]]]:
    """(event name, data) of each event up to and including `until_seq`."""
    out, name, deadline = [], "", time.monotonic() + timeout
    for line in lines:
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            data = json.loads(line[6:])
            out.append((name, data))
            if data["seq"] >= until_seq:
                return out
        assert time.monotonic() < deadline, out
    raise AssertionError(f"stream ended after {out}")


def test_an_admin_sees_the_fleet_without_its_secrets_and_an_im_token_only_the_inbox(tmp_path: Path) -> None:
    profile = c.Profile(uid="100", nickname="Shop", unique_id="shop")
    fleet = (
        c.WorkerRegistered(worker_id="w1", platforms=["douyin"], max_accounts=5),
        c.AccountAssigned(account_id="shop1", worker_id="w1"),
        c.LoginSucceeded(login_id="L1", account_id="shop1", profile=profile, sealed_credentials="c2VjcmV0"),
        c.AccountSessionExpired(account_id="shop1", worker_id="w1"),
    )
    with live_stack(tmp_path, _seed) as live, httpx.Client(base_url=live.url, timeout=10) as client:
        streams = {
            role: client.stream("GET", "/api/im/events?heartbeat_s=0.2", headers={"Authorization": f"Bearer {tok}"})
            for role, tok in (("admin", live.admin), ("im", live.im))
        }
        opened = {role: s.__enter__() for role, s in streams.items()}
        try:
            time.sleep(0.3)
            last = _append(live, *fleet, comment("shop1", "c1", t=1))[-1]
            got = {role: _events(r.iter_lines(), last) for role, r in opened.items()}
        finally:
            for s in streams.values():
                s.__exit__(None, None, None)
    names = {role: [name for name, _ in events] for role, events in got.items()}
    assert names["admin"] == [
        "worker.registered",
        "account.assigned",
        "login.succeeded",
        "account.session_expired",
        "inbox.comment_observed",
    ]
    assert names["im"] == ["account.session_expired", "inbox.comment_observed"]
    login = got["admin"][2][1]["data"]
    assert login["profile"]["unique_id"] == "shop" and "sealed_credentials" not in login


def test_an_event_arrives_on_an_open_feed_before_any_keep_alive(tmp_path: Path) -> None:
    """With a long heartbeat, each appended item is written when the feed delivers it, not at the next keep-alive.

    The feed was once held back a whole heartbeat whenever it was idle (an empty `Feed` is falsy).
    """
    with live_stack(tmp_path, _seed) as live, httpx.Client(base_url=live.url, timeout=60) as client:
        headers = {"Authorization": f"Bearer {live.im}"}
        with client.stream("GET", "/api/im/events?heartbeat_s=30", headers=headers) as feed:
            lines = feed.iter_lines()
            assert next(lines).startswith("retry:")  # the consumer exists once the answer has begun
            for t in (1, 2):
                (seq,) = _append(live, comment("shop1", f"c{t}", t=t))
                seen, keepalives = _read(lines, seq, timeout=60)
                assert (seen, keepalives) == ([seq], 0)


def test_notifications_and_their_read_marks_are_on_the_feed(tmp_path: Path) -> None:
    """A fact that raises a notification is on the feed, its event id the notification's id; so is a read mark."""
    notice = c.NotificationObserved(account_id="shop1", notification_id="n1", notice_type=1, create_time_ms=1)
    failed = c.LoginFailed(login_id="L1", account_id="shop1", reason="QR expired")
    with live_stack(tmp_path, _seed) as live, httpx.Client(base_url=live.url, timeout=10) as client:
        headers = {"Authorization": f"Bearer {live.im}"}
        with client.stream("GET", "/api/im/events?heartbeat_s=30", headers=headers) as feed:
            lines = feed.iter_lines()
            assert next(lines).startswith("retry:")
            raised = _append(live, notice, failed)
            assert live.run(live.services.models.wait_for(raised[-1], 10))
            r = client.put(f"/api/im/notifications/{raised[0]}/read", headers=headers)
            assert r.status_code == 200 and r.json()["data"]["is_read"] is True, r.text
            got = _events(lines, raised[-1] + 1)
    assert [(name, data["seq"]) for name, data in got[:2]] == [
        ("inbox.notification_observed", raised[0]),
        ("login.failed", raised[1]),
    ]
    name, data = got[-1]
    assert name == "inbox.notification_read" and data["data"]["notification_seq"] == raised[0]
