"""Crawl health: each failed pass of an account becomes an `account.crawl_failed` fact, without flooding.

A pass that fails the same way as the one before (the same reason, numbers aside: a URL's timestamp
or a timeout's milliseconds do not make a new failure) is counted, and appended again only when the
run of failures has doubled since the last append or a quarter of an hour has passed; a different
reason is appended at once. A pass that completes ends the run.
"""

from __future__ import annotations

import re
import time

from hiscrm.facts.catalogue import AccountCrawlFailed

REPEAT_AFTER_S = 900.0
_NUMBERS = re.compile(r"\d+")


def _shape(kind: str, reason: str) -> str:
    return f"{kind}:{_NUMBERS.sub('#', reason)}"


class PassFailures:
    def __init__(self, account_id: str, worker_id: str, repeat_after_s: float = REPEAT_AFTER_S) -> None:
        self.account_id = account_id
        self.worker_id = worker_id
        self.repeat_after_s = repeat_after_s
        self.consecutive = 0
        self._shape: str | None = None
        self._first_ms = 0
        self._appended_count = 0
        self._appended_at = 0.0

    def failed(self, kind: str, reason: str) -> AccountCrawlFailed | None:
        """Counts a failed pass; the fact to append, or None when this one is only counted."""
        self.consecutive += 1
        now = time.monotonic()
        shape = _shape(kind, reason)
        if shape != self._shape:
            self._shape, self._first_ms = shape, int(time.time() * 1000)
        elif self.consecutive < 2 * self._appended_count and now - self._appended_at < self.repeat_after_s:
            return None
        self._appended_count, self._appended_at = self.consecutive, now
        return AccountCrawlFailed(
            account_id=self.account_id,
            worker_id=self.worker_id,
            reason=reason,
            kind=kind,
            consecutive=self.consecutive,
            first_failed_at_ms=self._first_ms,
        )

    def succeeded(self) -> None:
        self.consecutive, self._shape, self._appended_count = 0, None, 0
