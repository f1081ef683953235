"""Background activity: comments and direct messages from varied people, at each account's set rate."""

from __future__ import annotations

import asyncio
import logging
import random

from hiscrm.sandbox import corpus, seed
from hiscrm.sandbox.model import Account, User
from hiscrm.sandbox.state import World

log = logging.getLogger(__name__)

TICK_SECONDS = 0.5
REPLY_SHARE = 0.25  # of generated comments, answers to an existing comment
RETURNING_SHARE = 0.3  # of generated comments and messages, from someone already there
RECENT_THREADS = 20  # replies go to one of the newest comments, as on the real site


class Traffic:
    def __init__(self, world: World, rng: random.Random | None = None) -> None:
        self.world = world
        self.rng = rng or random.Random()
        self.due: dict[tuple[str, str], float] = {}

    def step(self, seconds: float) -> int:
        """Adds what `seconds` of activity amount to at the current rates; returns how many items."""
        added = 0
        for account in list(self.world.accounts.values()):
            for kind, rate, add in (
                ("comment", account.comments_per_minute, self._comment),
                ("message", account.messages_per_minute, self._message),
            ):
                if rate <= 0:
                    self.due.pop((account.uid, kind), None)
                    continue
                due = self.due.get((account.uid, kind), 0.0) + rate * seconds / 60
                while due >= 1:
                    due -= 1
                    added += add(account)
                self.due[(account.uid, kind)] = due
        return added

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        last = loop.time()
        while True:
            await asyncio.sleep(TICK_SECONDS)
            now = loop.time()
            try:
                self.step(now - last)
            except Exception:
                # A control call can change the world between ticks; one bad tick must not end all traffic.
                log.exception("sandbox traffic step failed")
            last = now

    def _person(self, known: list[str]) -> User:
        if known and self.rng.random() < RETURNING_SHARE:
            return self.world.users[self.rng.choice(known)]
        return seed.new_fan(self.world, self.rng)

    def _comment(self, account: Account) -> int:
        open_works = [w for w in self.world.works_by_owner.get(account.uid, []) if not w.comments_closed]
        if not open_works:
            return 0
        work = self.rng.choice(open_works[-5:])  # fresh works draw the comments
        threads = self.world.top_comments.get(work.aweme_id, [])[-RECENT_THREADS:]
        others = [c.user_uid for c in threads if c.user_uid not in self.world.accounts]
        author = self._person(others)
        if threads and self.rng.random() < REPLY_SHARE:
            parent = self.rng.choice(threads)
            self.world.add_comment(work.aweme_id, author.uid, self.rng.choice(corpus.FAN_REPLIES), reply_to=parent.cid)
        else:
            self.world.add_comment(work.aweme_id, author.uid, self.rng.choice(corpus.COMMENTS))
        return 1

    def _message(self, account: Account) -> int:
        peers = [p for p in self.world.conversations_of.get(account.uid, {}) if p not in self.world.accounts]
        sender = self._person(peers)
        opening = sender.uid not in peers
        text = self.rng.choice(corpus.DM_OPENERS if opening else corpus.DM_FOLLOWUPS)
        self.world.add_message(sender.uid, account.uid, text)
        return 1
