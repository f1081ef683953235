"""Placement as a pure function: capability, least load, max_accounts, rebalancing, and a fixed point."""

from __future__ import annotations

from collections import Counter

from hiscrm.coordinator.placement import Plan, plan
from hiscrm.coordinator.state import AccountState
from hiscrm.facts.messages import Presence


def account(
    account_id: str, platform: str = "douyin", worker: str | None = None, status: str = "active"
) -> AccountState:
    return AccountState(
        account_id=account_id,
        platform=platform,
        account_name=account_id,
        monitor_interval=30,
        worker_id=worker,
        status=status,  # type: ignore[arg-type]
    )


def worker(worker_id: str, platforms: tuple[str, ...] = ("douyin",), max_accounts: int = 50) -> tuple[str, Presence]:
    return worker_id, Presence(worker_id=worker_id, platforms=list(platforms), max_accounts=max_accounts)


def applied(accounts: list[AccountState], result: Plan) -> list[AccountState]:
    by_id = {a.account_id: a for a in accounts}
    for move in result.moves:
        by_id[move.account_id].worker_id = move.to_worker
    return accounts


def holders(accounts: list[AccountState]) -> Counter[str | None]:
    return Counter(a.worker_id for a in accounts if a.status == "active")


def test_capability_least_load_and_max_accounts() -> None:
    accounts = [account(f"x{i}", "xhs") for i in range(5)] + [account(f"d{i:02d}") for i in range(20)]
    workers = dict([worker("a", ("douyin", "xhs"), 30), worker("b", ("douyin",), 12)])
    result = plan(accounts, workers)
    applied(accounts, result)
    loads = holders(accounts)
    assert all(a.worker_id == "a" for a in accounts if a.platform == "xhs")
    assert loads["b"] <= 12 and abs(loads["a"] - loads["b"]) <= 1 and loads[None] == 0
    assert result.loads == {"a": loads["a"], "b": loads["b"]} and result.unplaced == {}
    assert plan(accounts, workers).moves == []  # executing a plan and planning again moves nothing


def test_accounts_that_fit_nowhere_stay_unassigned_with_the_reason() -> None:
    accounts = [account(f"d{i}") for i in range(5)] + [account("x0", "xhs")]
    result = plan(accounts, dict([worker("a", max_accounts=3)]))
    assert sum(m.to_worker == "a" for m in result.moves) == 3
    assert result.unplaced["x0"] == "no live worker runs platform 'xhs'"
    assert set(result.unplaced) == {"x0", "d3", "d4"}
    assert "at max_accounts (a 3/3)" in result.unplaced["d3"]


def test_a_gone_workers_accounts_move_and_disabled_ones_are_let_go() -> None:
    accounts = [account(f"d{i}", worker="dead") for i in range(4)] + [account("off", worker="dead", status="disabled")]
    result = plan(accounts, dict([worker("a"), worker("b")]))
    moves = {m.account_id: m for m in result.moves}
    assert {m.from_worker for m in moves.values()} == {"dead"}
    assert moves["off"].to_worker is None
    assert Counter(m.to_worker for m in moves.values() if m.account_id != "off") == {"a": 2, "b": 2}
    assert all(m.reason == "worker dead is gone" for m in moves.values())


def test_rebalance_only_beyond_a_spread_of_three_and_then_to_within_one() -> None:
    accounts = [account(f"d{i:02d}", worker="a") for i in range(3)]
    assert plan(accounts, dict([worker("a"), worker("b")])).moves == []  # 3 vs 0: left alone
    accounts = [account(f"d{i:02d}", worker="a") for i in range(10)]
    result = plan(accounts, dict([worker("a"), worker("b")]))
    assert len(result.moves) == 5 and all(m.reason == "rebalance" for m in result.moves)
    assert result.loads == {"a": 5, "b": 5}


def test_deleted_accounts_are_unassigned_and_count_for_nothing() -> None:
    accounts = [account("gone", worker="a", status="deleted"), account("d0", worker="a")]
    result = plan(accounts, dict([worker("a")]))
    assert [(m.account_id, m.to_worker, m.reason) for m in result.moves] == [("gone", None, "account deleted")]
    assert result.loads == {"a": 1}


def test_a_worker_over_its_max_gives_accounts_up() -> None:
    accounts = [account(f"d{i}", worker="a") for i in range(5)]
    result = plan(accounts, dict([worker("a", max_accounts=3), worker("b", max_accounts=1)]))
    applied(accounts, result)
    assert holders(accounts) == {"a": 3, "b": 1, None: 1}
    assert len(result.unplaced) == 1


def test_a_pinned_account_runs_on_its_worker_or_waits_saying_why() -> None:
    pinned = account("p", worker="a")
    pinned.pinned_worker = "b"
    others = [account(f"d{i}", worker="b") for i in range(6)]
    accounts = [pinned, *others]
    workers = dict([worker("a"), worker("b", max_accounts=6)])
    result = plan(accounts, workers)
    applied(accounts, result)
    loads = holders(accounts)
    assert pinned.worker_id == "b" and loads["b"] + loads["a"] == 7 and abs(loads["b"] - loads["a"]) <= 1
    assert plan(accounts, workers).moves == []
    # Its worker gone: it is let go and waits, however idle the other worker is.
    alone = dict([worker("a")])
    result = plan(accounts, alone)
    applied(accounts, result)
    assert pinned.worker_id is None and result.unplaced["p"] == "pinned to worker b, which is offline"
    assert plan(accounts, alone).moves == []


def test_a_rebalance_never_moves_a_pinned_account() -> None:
    accounts = [account(f"d{i:02d}", worker="a") for i in range(10)]
    for a in accounts:
        a.pinned_worker = "a"
    result = plan(accounts, dict([worker("a"), worker("b")]))
    assert result.moves == [] and result.loads == {"a": 10, "b": 0}
