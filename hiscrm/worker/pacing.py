"""When to crawl next: the interval with ±10 % jitter, and exponential backoff after failures."""

from __future__ import annotations

import random

JITTER = 0.10


def jittered(seconds: float) -> float:
    return seconds * random.uniform(1 - JITTER, 1 + JITTER)


class Backoff:
    """base, 2·base, 4·base … up to `cap`, each jittered; `reset()` after a success."""

    def __init__(self, base_s: float, cap_s: float) -> None:
        self.base_s = base_s
        self.cap_s = cap_s
        self.failures = 0

    def next_delay(self) -> float:
        self.failures += 1
        return jittered(min(self.cap_s, self.base_s * 2 ** (self.failures - 1)))

    def reset(self) -> None:
        self.failures = 0
