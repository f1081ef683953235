"""Leadership: one coordinator holds `hiscrm_presence._coordinator`, a key that dies unless renewed.

The holder writes the key with a per-message TTL (6 s) and renews it every 2 s by compare-and-set
on the revision it last wrote, so a renewal can never overwrite someone else's lease. It counts
itself leader only until its last successful renewal's send time plus the TTL minus one renewal
period's margin (here 5 s): it stops acting before the server could let the key expire, so two
coordinators never act at once, even if a renewal hangs.

Standbys watch the key. When the holder dies the TTL runs out and the server pushes an expiry
marker to every watcher; a standby then writes the key expecting the marker's revision, and only
one such write can win. A holder that stops cleanly deletes the key, so the handover is immediate.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

import msgspec
from nats.aio.client import Client

from hiscrm.facts.subjects import COORDINATOR_LEASE, PRESENCE_BUCKET
from hiscrm.store import kv

log = logging.getLogger(__name__)

TTL_S = 6.0
RENEW_S = 2.0


class LeaseValue(msgspec.Struct, kw_only=True):
    holder: str
    since_ms: int


class Lease:
    def __init__(
        self,
        nc: Client,
        holder: str,
        *,
        on_change: Callable[[], None] = lambda: None,
        ttl_s: float = TTL_S,
        renew_s: float = RENEW_S,
    ) -> None:
        if not renew_s < ttl_s / 2:
            raise ValueError(f"renewing every {renew_s} s cannot keep a {ttl_s} s lease safely")
        self.js = nc.jetstream()
        self.holder = holder
        self.on_change = on_change
        self.ttl_s = ttl_s
        self.renew_s = renew_s
        self.revision: int | None = None  # of our own lease message, while we hold it
        self.valid_until = 0.0
        self.leader_seen: str | None = None
        self._vacant = asyncio.Event()
        self._value = b""

    @property
    def leading(self) -> bool:
        return self.revision is not None and time.monotonic() < self.valid_until

    async def run(self) -> None:
        bucket = await self.js.key_value(PRESENCE_BUCKET)
        watch = asyncio.create_task(kv.follow(bucket, COORDINATOR_LEASE, self._seen))
        try:
            while True:
                if self.revision is None:
                    self._vacant.clear()
                    try:
                        acquired = await self._acquire()
                    except Exception as exc:
                        log.warning("cannot reach the lease yet: %r", exc)
                        await asyncio.sleep(self.renew_s)
                        continue
                    if not acquired:
                        await self._vacant.wait()
                    continue
                await asyncio.sleep(min(self.renew_s, max(0.0, self.valid_until - time.monotonic())))
                if not self.leading:
                    self._lose("not renewed in time")
                else:
                    await self._renew()
        finally:
            watch.cancel()
            await self._release()

    def _seen(self, entry: kv.Entry) -> None:
        if kv.removed(entry):
            self.leader_seen = None
            self._vacant.set()
        else:
            with contextlib.suppress(msgspec.DecodeError):
                self.leader_seen = msgspec.json.decode(entry.value, type=LeaseValue).holder

    async def _acquire(self) -> bool:
        revision, value = await kv.latest(self.js, PRESENCE_BUCKET, COORDINATOR_LEASE)
        if value is not None:
            return False
        self._value = msgspec.json.encode(LeaseValue(holder=self.holder, since_ms=int(time.time() * 1000)))
        sent = time.monotonic()
        try:
            self.revision = await kv.put(
                self.js, PRESENCE_BUCKET, COORDINATOR_LEASE, self._value, ttl=self.ttl_s, expected=revision
            )
        except kv.StaleRevision:
            return False
        self.valid_until = sent + self.ttl_s - self.renew_s / 2
        log.info("coordinator %s holds the lease", self.holder)
        self.on_change()
        return True

    async def _renew(self) -> None:
        sent = time.monotonic()
        try:
            self.revision = await kv.put(
                self.js, PRESENCE_BUCKET, COORDINATOR_LEASE, self._value, ttl=self.ttl_s, expected=self.revision
            )
        except kv.StaleRevision:
            self._lose("taken over")
            return
        except Exception as exc:
            # Still ours until valid_until; the next attempt may get through.
            log.warning("lease renewal failed: %r", exc)
            return
        self.valid_until = sent + self.ttl_s - self.renew_s / 2

    def _lose(self, why: str) -> None:
        log.warning("coordinator %s lost the lease: %s", self.holder, why)
        self.revision = None
        self.on_change()

    async def _release(self) -> None:
        if self.revision is None:
            return
        revision, self.revision = self.revision, None
        with contextlib.suppress(Exception):
            bucket = await self.js.key_value(PRESENCE_BUCKET)
            await bucket.delete(COORDINATOR_LEASE, last=revision)
            log.info("coordinator %s released the lease", self.holder)
