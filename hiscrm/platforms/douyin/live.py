"""Live DMs: the creator chat page kept open, each message the page is pushed observed at once.

The chat page receives new messages over the IM push socket (the frontier `/ws/v2`); the adapter
listens to the frames the page receives (Playwright's `websocket` / `framereceived`), never opens a
socket of its own. A frame's message becomes the same observation the crawl makes from the page's
data, so the worker's dedupe sees one item whichever path brought it first. A message from someone
user_detail has not named yet waits for the page to resolve them (it asks user_detail again); one it
cannot place is left to the next pass.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any
from urllib.parse import urlsplit

import msgspec
from playwright.async_api import BrowserContext, WebSocket

from hiscrm.facts.catalogue import Person
from hiscrm.platforms.base import Observe
from hiscrm.platforms.capture import Capture, matches
from hiscrm.platforms.douyin import answers, parse
from hiscrm.platforms.douyin import expectations as x
from hiscrm.platforms.douyin.chat import READ_CONVERSATIONS, Peers, open_chat
from hiscrm.platforms.douyin.pages import new_page
from hiscrm.platforms.douyin.profile import read_me
from hiscrm.platforms.douyin.run import CrawlRun
from hiscrm.platforms.douyin.site import Site

log = logging.getLogger(__name__)

PEER_WAIT_S = 5.0


def frame_message(payload: str | bytes) -> dict[str, Any] | None:
    """The new message a push frame carries, in the page data's names; None for other frames."""
    try:
        frame = msgspec.json.decode(payload)
    except msgspec.DecodeError:
        return None  # heartbeats ("hi") and binary frames
    notify = ((frame.get("payload") or {}) if isinstance(frame, dict) else {}).get("new_message_notify") or {}
    m = notify.get("message")
    if not isinstance(m, dict):
        return None
    return {
        "serverId": m.get("server_message_id"),
        "conversationId": m.get("conversation_id") or notify.get("conversation_id"),
        "conversationShortId": m.get("conversation_short_id") or notify.get("conversation_short_id"),
        "sender": str(m.get("sender") or ""),
        "content": m.get("content"),
        "createdAt": m.get("create_time"),
    }


class _Chat:
    def __init__(self, capture: Capture, me: Person) -> None:
        self.capture, self.me = capture, me
        self.peers = Peers()
        self.frames: asyncio.Queue[str | bytes] = asyncio.Queue()

    def on_socket(self, socket: WebSocket) -> None:
        if matches(urlsplit(socket.url).path, x.PUSH_SOCKET):
            socket.on("framereceived", self.frames.put_nowait)

    def known_peers(self) -> Peers:
        for answer in self.capture.of(x.IM_USERS):
            with contextlib.suppress(Exception):
                self.peers.add(answers.ok(answer))
        return self.peers

    async def peer(self, m: dict[str, Any], outbound: bool) -> Person | None:
        """The other side of the message's conversation: the sender of an inbound one; for our own
        (sent from elsewhere) the conversation's other participant, from the page's data."""
        page = self.capture.page

        async def lookup() -> Person | None:
            if not outbound:
                return self.known_peers().by_id.get(m["sender"])
            conversations = await page.evaluate(READ_CONVERSATIONS, x.CONVERSATION_ROW)
            c = next((c for c in conversations if c and c["id"] == m["conversationId"]), None)
            return self.known_peers().of(c, self.me) if c else None

        found = await lookup()
        if found is None:
            # A conversation new to the page: it resolves the peer through user_detail, then so do we.
            asked = len(self.capture.of(x.IM_USERS))
            with contextlib.suppress(TimeoutError):
                await self.capture.wait_until(lambda: len(self.capture.of(x.IM_USERS)) > asked, PEER_WAIT_S)
                found = await lookup()
        return found


async def watch_chat(context: BrowserContext, st: Site, account_id: str, observe: Observe) -> None:
    """Until cancelled or the page closes (its context closed): every pushed message is observed."""
    page = await new_page(context)
    closed = asyncio.Event()
    page.on("close", lambda _: closed.set())
    try:
        me = await read_me(page, st)
        with Capture(page, [x.IM_USERS]) as capture:
            chat = _Chat(capture, me)
            page.on("websocket", chat.on_socket)
            await open_chat(page, st, capture)
            while not closed.is_set():
                next_frame = asyncio.ensure_future(chat.frames.get())
                ending = asyncio.ensure_future(closed.wait())
                await asyncio.wait([next_frame, ending], return_when=asyncio.FIRST_COMPLETED)
                ending.cancel()
                if not next_frame.done():
                    next_frame.cancel()
                    break
                m = frame_message(next_frame.result())
                if m is not None:
                    await _observe(chat, account_id, m, observe)
    finally:
        if not page.is_closed():
            with contextlib.suppress(Exception):
                await page.close()


async def _observe(chat: _Chat, account_id: str, m: dict[str, Any], observe: Observe) -> None:
    outbound = m["sender"] == chat.me.user_id
    peer = await chat.peer(m, outbound)
    if peer is None:
        log.info("%s: pushed message %s has no known peer yet; the next pass reads it", account_id, m["serverId"])
        return
    now = CrawlRun.now_ms()
    message = parse.message(account_id, m, outbound, chat.me, peer, now)
    if message is None:
        return
    await observe(parse.conversation(account_id, message.conversation_id, m["conversationShortId"], peer, now))
    await observe(message)
