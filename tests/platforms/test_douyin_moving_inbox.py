"""Replies while the account's inbox moves: the sandbox's stirs make people write exactly while the
adapter is between two steps of a send (the conversation list read and a row used, user_detail
answered and the rows rendered, the send clicked and its message shown), or a comment list grow
between two of its pages. Every send under movement must reach exactly the conversation or comment
it was meant for, as every send of the control (the same sends, nothing moving) in the same run does.
Real Chromium, the sandbox served for real, its control API over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import BrowserContext
from playwright.async_api import Error as PlaywrightError

from hiscrm.facts.catalogue import CommentObserved
from hiscrm.facts.messages import ReplySend
from hiscrm.platforms.base import PlatformError, SendRefused
from hiscrm.sandbox.model import Variants
from tests.platforms.conftest import KITCHEN, MODULE, VARIANTS, Observed, Site, comment_id

pytestmark = MODULE

ROUNDS = 6  # sends per arm and kind of movement

# What moves during a DM send, by name: the stirs set for each send of the moving arm.
DM_MOVES: dict[str, list[dict[str, Any]]] = {
    # The list reorders while the adapter reads it: the page's push socket connects right after the
    # rows render, and from then on a conversation is lifted to the top every 15 ms for a while.
    "rows_reorder": [{"on": "/ws/v2", "move": "lift", "count": 20, "after_ms": 5, "every_ms": 15}],
    # Someone new writes after the page got its conversation list and before user_detail answers:
    # user_detail names one peer more than there are rows.
    "someone_new": [{"on": "/creator/im/user_detail", "move": "newcomer"}],
    # The peer writes the very text we send, just before our message is stored (and pushed).
    "peer_echo": [{"on": "/v1/message/send", "move": "message", "text": "{content}", "conversation_id": "{target}"}],
}


@pytest_asyncio.fixture(loop_scope="module")
async def control(site: Site) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"{site.base}/__sandbox", timeout=10) as http:
        yield http


async def _stir(control: httpx.AsyncClient, stirs: list[dict[str, Any]], **values: str) -> None:
    for stir in stirs:
        body = {k: v.format(**values) if isinstance(v, str) else v for k, v in stir.items()}
        armed = await control.post(f"/accounts/{KITCHEN}/stirs", json=body)
        assert armed.status_code == 201, armed.text


async def _stirred(control: httpx.AsyncClient) -> list[dict[str, Any]]:
    """The account's stirs as they fired, cleared for the next send."""
    stirs = (await control.get(f"/accounts/{KITCHEN}/stirs")).json()
    await control.post(f"/accounts/{KITCHEN}/stirs/clear", json={})
    return stirs


async def _send(site: Site, context: BrowserContext, request: ReplySend, known: Observed) -> str | Exception:
    try:
        return await site.douyin.send(context, request, known.index) or ""
    except (SendRefused, PlatformError, PlaywrightError) as exc:  # Playwright's timeouts are its Errors too
        return exc


@pytest.mark.parametrize("moves", list(DM_MOVES), ids=list(DM_MOVES))
async def test_dms_reach_their_conversation_while_the_inbox_moves(
    site: Site, context: BrowserContext, control: httpx.AsyncClient, tmp_path: Path, moves: str
) -> None:
    world = site.world
    known = Observed(tmp_path / "seen.idx")
    outcomes: dict[str, list[str]] = {"still": [], "moving": []}
    for n in range(ROUNDS):
        for arm in ("still", "moving"):
            # Targets from the bottom of the list up: the rows most moved by lifts above them.
            listed = [c for c in world.conversations_newest_first(KITCHEN) if c.peer_of(KITCHEN) not in world.accounts]
            target = listed[-1 - n % len(listed)]
            content = f"{arm} 第{n}条 {moves}"
            if arm == "moving":
                await _stir(control, DM_MOVES[moves], content=content, target=target.conversation_id)
            request = ReplySend(reply_id=f"{arm}{n}", request_id=f"Q{arm}{n}", account_id="kitchen",
                                target_type="direct_message", target_id="-", conversation_id=target.conversation_id,
                                user_id=target.peer_of(KITCHEN), content=content)  # fmt: skip
            sent_before = len(world.sent)
            result = await _send(site, context, request, known)
            stirred = await _stirred(control)
            sent = [(s.conversation_id, s.text, s.id) for s in world.sent[sent_before:]]
            if arm == "moving":  # the inbox really moved (on the send's own request only if we sent)
                assert stirred and all(s["moved"] or (s["on"] == "/v1/message/send" and not sent) for s in stirred)
            if isinstance(result, Exception):
                outcomes[arm].append(f"failed: {type(result).__name__}: {str(result)[:160]}")
            elif sent != [(target.conversation_id, content, result)]:
                outcomes[arm].append(f"sent {sent}, returned {result}")
            else:
                outcomes[arm].append("reached")
    assert outcomes["still"] == ["reached"] * ROUNDS  # the control: if this fails, the test is broken, not the race
    assert outcomes["moving"] == outcomes["still"]


# --------------------------------------------------------------------------- comments

# Newest first and paged by offset, like the site's: a comment arriving between two pages pushes the
# last comment of one page onto the next, and the page shows that comment twice.
COMMENT_LISTS = {"interactive": "/comment/list/select/", "work_detail": "/creator/comment/list/"}
BUSY_TOPS = 45  # top-level comments of the busy work: three pages of 20


def _busy_work(site: Site) -> str:
    """A work with three pages of top-level comments, each with a reply (so a pass opens every thread)."""
    world = site.world
    work = next((w for w in world.newest_works(KITCHEN) if w.desc == "忙碌的作品"), None)
    if work is None:
        work = world.add_work(KITCHEN, "忙碌的作品", create_time=world.now() - 3600)
        for n in range(BUSY_TOPS):
            fan = world.add_user(f"路人{n}")
            top = world.add_comment(work.aweme_id, fan.uid, f"第{n}条评论", create_time=world.now() - 3000 + n)
            world.add_comment(work.aweme_id, KITCHEN, f"谢谢{n}", reply_to=top.cid, create_time=world.now() - 2000 + n)
    return work.aweme_id


async def _crawl(site: Site, context: BrowserContext, known: Observed) -> Exception | None:
    try:
        await site.douyin.crawl(context, "kitchen", {}, known.index, known)
    except (SendRefused, PlatformError, PlaywrightError) as exc:
        return exc
    return None


@pytest.mark.parametrize("variants", VARIANTS[:2])
async def test_a_pass_reads_a_work_whose_comments_grow_between_its_pages(
    site: Site, context: BrowserContext, control: httpx.AsyncClient, tmp_path: Path, variants: Variants
) -> None:
    """Each page of the busy work's list asked for, someone comments first: the page shows the comment
    that moved across the page boundary twice, and the pass opens its thread all the same."""
    world = site.world
    world.variants = variants
    aweme_id = _busy_work(site)
    outcomes = {}
    for arm in ("still", "moving"):
        held = {comment_id(variants, c.cid) for c in world.comments.values() if c.aweme_id == aweme_id}
        if arm == "moving":
            await _stir(control, [{"on": COMMENT_LISTS[variants.comment_page], "move": "comment",
                                   "aweme_id": aweme_id, "times": None}])  # fmt: skip
        observed = Observed(tmp_path / f"{arm}.idx")
        failed = await _crawl(site, context, observed)
        stirred = await _stirred(control)
        if arm == "moving":
            assert stirred[0]["moved"] >= 2  # the list grew before a second page at least
        seen = {c.comment_id for c in observed.of(CommentObserved)}
        outcomes[arm] = (repr(failed) if failed else None, sorted(held - seen))
    assert outcomes["still"] == (None, [])
    assert outcomes["moving"] == outcomes["still"]


@pytest.mark.parametrize("variants", VARIANTS[:2])
async def test_comment_replies_reach_their_comment_while_comments_arrive(
    site: Site, context: BrowserContext, control: httpx.AsyncClient, tmp_path: Path, variants: Variants
) -> None:
    """Replies to comments on the busy work's later pages, and to replies in their threads, while someone
    comments each time the page asks for a page of the list; the control sends the same with nothing
    arriving."""
    world = site.world
    world.variants = variants
    aweme_id = _busy_work(site)
    known = Observed(tmp_path / "seen.idx")
    assert await _crawl(site, context, known) is None
    ours = [c for c in known.of(CommentObserved) if c.content_id == aweme_id]
    tops = sorted((c for c in ours if c.parent_comment_id is None), key=lambda c: c.create_time_ms)
    # The oldest ones, on the last pages; the comments near a page's end, which arrivals push across it.
    targets = [tops[0], tops[4], tops[24]]
    targets += [next(c for c in ours if c.parent_comment_id == t.comment_id) for t in targets]
    outcomes: dict[str, list[str]] = {"still": [], "moving": []}
    for n, target in enumerate(targets):
        for arm in ("still", "moving"):
            if arm == "moving":
                await _stir(control, [{"on": COMMENT_LISTS[variants.comment_page], "move": "comment",
                                       "aweme_id": aweme_id, "times": None}])  # fmt: skip
            content = f"{arm} 回复{n}"
            request = ReplySend(reply_id=f"{arm}{n}", request_id=f"Q{arm}{n}", account_id="kitchen",
                                target_type="comment", target_id=target.comment_id, content=content)  # fmt: skip
            sent_before = len(world.sent)
            result = await _send(site, context, request, known)
            stirred = await _stirred(control)
            if arm == "moving":
                assert stirred[0]["moved"], stirred
            sent = [(comment_id(variants, s.comment_id), s.text) for s in world.sent[sent_before:]]
            if isinstance(result, Exception):
                outcomes[arm].append(f"failed: {type(result).__name__}: {str(result)[:160]}")
            elif sent != [(target.comment_id, content)]:
                outcomes[arm].append(f"sent {sent}")
            else:
                outcomes[arm].append("reached")
    assert outcomes["still"] == ["reached"] * len(targets)
    assert outcomes["moving"] == outcomes["still"]
