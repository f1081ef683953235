"""Which live worker runs which account: a pure function from the folded state and presence to moves.

Rules, in order:
- an active account stays where it is while its worker is live, runs its platform and is within
  `max_accounts`; otherwise it goes to the least loaded capable worker with room, the accounts
  with the fewest candidate workers first; if none has room it stays unassigned, with the reason;
- a disabled account keeps its worker (so the worker sees it disabled) until that worker is gone;
  a deleted one is let go;
- an account pinned to a worker runs there or nowhere: placed before the others, never moved by a
  rebalance, and while that worker is not live (or full, or without its platform) it waits
  unassigned, with that as the reason;
- per platform, when the loads of the live workers that run it differ by more than 3, accounts
  move from the most to the least loaded until they differ by at most 1.

Load counts active accounts only. Executing the moves and planning again yields no moves.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import msgspec

from hiscrm.coordinator.state import AccountState
from hiscrm.facts.messages import Presence

REBALANCE_SPREAD = 3


class Move(msgspec.Struct, frozen=True):
    account_id: str
    from_worker: str | None
    to_worker: str | None
    reason: str
    expected_seq: int  # the account's last fact the plan saw: the move holds only if nothing came since


class Plan(msgspec.Struct):
    moves: list[Move]
    unplaced: dict[str, str]  # active account -> why no live worker takes it
    loads: dict[str, int]  # live worker -> active accounts after the moves


class _Planner:
    def __init__(self, workers: Mapping[str, Presence]) -> None:
        self.workers = workers
        self.loads = dict.fromkeys(workers, 0)
        self.place: dict[str, str | None] = {}
        self.platform: dict[str, str] = {}  # active accounts only
        self.why: dict[str, str] = {}
        self.pinned: set[str] = set()
        self.unplaced: dict[str, str] = {}

    def capable(self, platform: str) -> list[str]:
        return [w for w, p in self.workers.items() if platform in p.platforms]

    def has_room(self, worker: str) -> bool:
        return self.loads[worker] < self.workers[worker].max_accounts

    def put(self, account: str, worker: str | None, why: str) -> None:
        old = self.place.get(account)
        if old is not None and account in self.platform:
            self.loads[old] -= 1
        self.place[account] = worker
        if worker is not None and account in self.platform:
            self.loads[worker] += 1
        self.why[account] = why

    def held(self, worker: str, platform: str) -> list[str]:
        return sorted(
            a
            for a, w in self.place.items()
            if w == worker and self.platform.get(a) == platform and a not in self.pinned
        )

    def full_reason(self, platform: str, capable: list[str]) -> str:
        if not capable:
            return f"no live worker runs platform {platform!r}"
        loads = ", ".join(f"{w} {self.loads[w]}/{self.workers[w].max_accounts}" for w in sorted(capable))
        return f"every live worker for platform {platform!r} is at max_accounts ({loads})"

    def settle(self, accounts: list[AccountState]) -> list[str]:
        """Keep what may stay; return the active accounts that need a worker."""
        waiting: list[str] = []
        for a in accounts:
            if a.status == "active" and a.pinned_worker is not None:
                self.pin(a)
        for a in accounts:
            if a.account_id in self.pinned:
                continue
            current = a.worker_id if a.worker_id in self.workers else None
            gone = f"worker {a.worker_id} is gone"
            if a.status == "deleted":
                self.put(a.account_id, None, "account deleted")
            elif a.status == "disabled":
                self.put(a.account_id, current, gone)
            else:
                self.platform[a.account_id] = a.platform
                if current is not None and a.platform in self.workers[current].platforms:
                    self.put(a.account_id, current, "kept")
                else:
                    self.put(a.account_id, None, gone if a.worker_id else "new")
                    waiting.append(a.account_id)
        for worker, presence in self.workers.items():
            excess = self.loads[worker] - presence.max_accounts
            if excess > 0:
                held = sorted(
                    a for a, w in self.place.items() if w == worker and a in self.platform and a not in self.pinned
                )
                for account in held[-excess:]:
                    self.put(account, None, f"worker {worker} is over max_accounts")
                    waiting.append(account)
        return waiting

    def pin(self, a: AccountState) -> None:
        pinned = a.pinned_worker
        assert pinned is not None
        self.pinned.add(a.account_id)
        self.platform[a.account_id] = a.platform
        presence = self.workers.get(pinned)
        if presence is None:
            why = f"pinned to worker {pinned}, which is offline"
        elif a.platform not in presence.platforms:
            why = f"pinned to worker {pinned}, which does not run platform {a.platform!r}"
        elif not self.has_room(pinned):
            why = f"pinned to worker {pinned}, which is at max_accounts ({presence.max_accounts})"
        else:
            self.put(a.account_id, pinned, "pinned" if a.worker_id != pinned else "kept")
            return
        self.put(a.account_id, None, why)
        self.unplaced[a.account_id] = why

    def assign(self, waiting: list[str]) -> dict[str, str]:
        unplaced: dict[str, str] = dict(self.unplaced)
        candidates = {p: self.capable(p) for p in set(self.platform.values())}
        for account in sorted(waiting, key=lambda a: (len(candidates[self.platform[a]]), a)):
            capable = candidates[self.platform[account]]
            room = [w for w in capable if self.has_room(w)]
            if not room:
                unplaced[account] = self.full_reason(self.platform[account], capable)
                continue
            self.put(account, min(room, key=lambda w: (self.loads[w], w)), self.why[account])
        return unplaced

    def rebalance(self) -> None:
        for platform in sorted(set(self.platform.values())):
            capable = self.capable(platform)
            takers = [w for w in capable if self.has_room(w)]
            if not takers:
                continue
            if max(self.loads[w] for w in capable) - min(self.loads[w] for w in takers) <= REBALANCE_SPREAD:
                continue
            while True:
                donors = [w for w in capable if self.held(w, platform)]
                takers = [w for w in capable if self.has_room(w)]
                if not donors or not takers:
                    break
                high = max(donors, key=lambda w: (self.loads[w], w))
                low = min(takers, key=lambda w: (self.loads[w], w))
                if self.loads[high] - self.loads[low] <= 1:
                    break
                self.put(self.held(high, platform)[-1], low, "rebalance")


def plan(accounts: Iterable[AccountState], workers: Mapping[str, Presence]) -> Plan:
    ordered = sorted(accounts, key=lambda a: a.account_id)
    planner = _Planner(workers)
    unplaced = planner.assign(planner.settle(ordered))
    planner.rebalance()
    moves = [
        Move(a.account_id, a.worker_id, planner.place[a.account_id], planner.why[a.account_id], a.seq)
        for a in ordered
        if planner.place[a.account_id] != a.worker_id
    ]
    return Plan(moves=moves, unplaced=unplaced, loads=planner.loads)
