"""What the soak needs to know from the stream as it grows: facts per kind, who holds which account,
logins and their QR codes, crawl passes, workers gone offline. One ordered pass, following the head."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass

from hiscrm.facts import catalogue as c
from hiscrm.facts.codec import Recorded
from hiscrm.parts import cancel_and_wait
from hiscrm.store import reader
from hiscrm.store.connection import HiscrmClient

# Only these aggregates are decoded; every other fact is only counted by its subject.
_DECODED = ("account", "worker", "login")


@dataclass(frozen=True)
class Pass:
    worker_id: str
    started_ms: int
    ended_ms: int
    duration_ms: int


class Tally:
    def __init__(self) -> None:
        self.kinds: Counter[str] = Counter()  # "inbox.comment_observed" -> facts seen
        self.last_seq = 0
        self.holder: dict[str, str | None] = {}  # account -> the worker its latest assignment names
        self.registered: set[str] = set()
        self.offline: dict[str, int] = {}  # worker -> when it went offline (stream time, ms)
        self.qr_images: dict[str, list[str]] = {}  # login -> the QR images its worker reported
        self.login_outcome: dict[str, str] = {}  # login -> succeeded | failed: reason | expired
        self.passes: dict[str, list[Pass]] = {}  # account -> its crawl passes, in order
        self._task: asyncio.Task[None] | None = None

    def start(self, nc: HiscrmClient) -> None:
        self._task = asyncio.create_task(self._follow(nc))

    async def close(self) -> None:
        await cancel_and_wait(self._task)

    async def _follow(self, nc: HiscrmClient) -> None:
        async for raw in reader.read_raw(nc, follow=True):
            _, _, aggregate, _, event = raw.subject.split(".", 4)
            self.kinds[f"{aggregate}.{event}"] += 1
            self.last_seq = raw.seq
            if aggregate in _DECODED or event == "snapshot_synced":
                item = reader.decode_raw(raw)
                if isinstance(item, Recorded):
                    self._apply(item.fact, raw.time_ms)

    def _apply(self, fact: object, time_ms: int) -> None:
        match fact:
            case c.AccountAssigned(account_id=account, worker_id=worker):
                self.holder[account] = worker
            case c.AccountUnassigned(account_id=account):
                self.holder[account] = None
            case c.WorkerRegistered(worker_id=worker):
                self.registered.add(worker)
            case c.WorkerWentOffline(worker_id=worker):
                self.offline[worker] = time_ms
            case (
                c.LoginQrcodeReady(login_id=login, qrcode=image) | c.LoginQrcodeRefreshed(login_id=login, qrcode=image)
            ):
                self.qr_images.setdefault(login, []).append(image)
            case c.LoginSucceeded(login_id=login):
                self.login_outcome[login] = "succeeded"
            case c.LoginFailed(login_id=login, reason=reason):
                self.login_outcome[login] = f"failed: {reason}"
            case c.LoginExpired(login_id=login):
                self.login_outcome[login] = "expired"
            case c.SnapshotSynced(account_id=account, worker_id=worker, duration_ms=duration):
                self.passes.setdefault(account, []).append(Pass(worker, time_ms - duration, time_ms, duration))

    def passes_since(self, account: str, since_ms: int, workers: set[str] | None = None) -> list[Pass]:
        """The account's passes that began at or after `since_ms`, by one of `workers` if given."""
        return [
            p
            for p in self.passes.get(account, ())
            if p.started_ms >= since_ms and (workers is None or p.worker_id in workers)
        ]
