"""Moving an account's inbox on demand: when the account's browser asks for a path, people write at
that moment. Background traffic moves the inbox at random times; a stir moves it exactly while a
client is between two steps (the conversation list read and a row clicked, a comment page loaded and
the next one asked for), so a test can show a client copes with what busy accounts see now and then.

A stir fires on requests of the account (by its session cookie, as requests are counted) whose path
ends with `on`; the push socket's path counts when the page connects. Its `count` moves happen
`after_ms` after the request, then every `every_ms`: moves due at once happen before the request is
answered, so the answer already holds them.
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Literal

import msgspec

from hiscrm.sandbox import corpus, seed
from hiscrm.sandbox.model import Invalid
from hiscrm.sandbox.state import World

log = logging.getLogger(__name__)

Move = Literal["lift", "newcomer", "message", "comment"]


class Stir(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """What a test asks for (the control API's body)."""

    on: str
    # lift: the peer of the account's least recent conversation writes, lifting it to the top;
    # newcomer: someone new writes (a new conversation); message: the peer of `conversation_id`
    # writes; comment: someone new comments on the work `aweme_id`.
    move: Move
    count: int = 1
    after_ms: int = 0
    every_ms: int = 0
    times: int | None = 1  # requests it fires on; None until cleared
    conversation_id: str | None = None
    aweme_id: str | None = None
    text: str | None = None


class Stirring(msgspec.Struct, kw_only=True):
    stir: Stir
    fired: int = 0  # requests it fired on
    moved: int = 0  # moves made

    def view(self) -> dict[str, object]:
        return {**msgspec.to_builtins(self.stir), "fired": self.fired, "moved": self.moved}


class Stirrer:
    """The stirs of every account, and the moves scheduled but not yet made."""

    def __init__(self, world: World, rng: random.Random | None = None) -> None:
        self.world = world
        self.rng = rng or random.Random()
        self.stirs: dict[str, list[Stirring]] = {}
        self._later: set[asyncio.TimerHandle] = set()

    def add(self, uid: str, stir: Stir) -> None:
        if not stir.on.strip("/"):
            raise Invalid("on must name a path")
        if stir.count < 1 or stir.after_ms < 0 or stir.every_ms < 0 or (stir.times is not None and stir.times < 1):
            raise Invalid("count and times must be at least 1; after_ms and every_ms not negative")
        if stir.move == "message" and not stir.conversation_id:
            raise Invalid("a message move names its conversation_id")
        if stir.move == "comment":
            if not stir.aweme_id:
                raise Invalid("a comment move names its aweme_id")
            self.world.work(stir.aweme_id)
        if stir.conversation_id:
            self._peer(uid, stir.conversation_id)
        self.stirs.setdefault(uid, []).append(Stirring(stir=stir))

    def clear(self, uid: str) -> None:
        self.stirs.pop(uid, None)

    def fire(self, uid: str, path: str) -> None:
        """Called with every request of the account; makes the moves of the stirs it sets off."""
        for stirring in self.stirs.get(uid, ()):
            stir = stirring.stir
            if (stir.times is not None and stirring.fired >= stir.times) or not path.rstrip("/").endswith(
                stir.on.rstrip("/")
            ):
                continue
            stirring.fired += 1
            for n in range(stir.count):
                delay = (stir.after_ms + n * stir.every_ms) / 1000
                if delay <= 0:
                    self._move_safely(uid, stirring)
                else:
                    self._schedule(delay, uid, stirring)

    def cancel(self) -> None:
        """Forgets the moves not made yet (the site is stopping)."""
        for handle in self._later:
            handle.cancel()
        self._later.clear()

    def _schedule(self, delay: float, uid: str, stirring: Stirring) -> None:
        def run() -> None:
            self._later.discard(handle)
            self._move_safely(uid, stirring)

        handle = asyncio.get_running_loop().call_later(delay, run)
        self._later.add(handle)

    def _move_safely(self, uid: str, stirring: Stirring) -> None:
        try:
            if self._move(uid, stirring.stir):
                stirring.moved += 1
        except Exception:
            # The world may have changed since the stir was set (a control call): the request and the
            # other moves go on.
            log.exception("sandbox stir move failed")

    def _move(self, uid: str, stir: Stir) -> bool:
        world, rng = self.world, self.rng
        if stir.move == "lift":
            convs = [c for c in world.conversations_newest_first(uid) if c.peer_of(uid) not in world.accounts]
            if not convs:
                return False
            world.add_message(convs[-1].peer_of(uid), uid, stir.text or rng.choice(corpus.DM_FOLLOWUPS))
        elif stir.move == "newcomer":
            world.add_message(seed.new_fan(world, rng).uid, uid, stir.text or rng.choice(corpus.DM_OPENERS))
        elif stir.move == "message":
            assert stir.conversation_id is not None
            peer = self._peer(uid, stir.conversation_id)
            world.add_message(peer, uid, stir.text or rng.choice(corpus.DM_FOLLOWUPS))
        else:
            assert stir.aweme_id is not None
            world.add_comment(stir.aweme_id, seed.new_fan(world, rng).uid, stir.text or rng.choice(corpus.COMMENTS))
        return True

    def _peer(self, uid: str, conversation_id: str) -> str:
        conv = self.world.conversations.get(conversation_id)
        if conv is None or uid not in conv.members:
            raise Invalid(f"conversation {conversation_id!r} is not the account's")
        return conv.peer_of(uid)
