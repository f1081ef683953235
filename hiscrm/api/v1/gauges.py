"""Gauges for /metrics: what an operator alerts on (workers gone, accounts logged out or unassigned, dead letters)."""

from __future__ import annotations

from collections.abc import Callable

from hiscrm.api.local_workers import LocalWorkers
from hiscrm.api.metrics import Metrics
from hiscrm.api.services import Services
from hiscrm.api.v1 import census
from hiscrm.api.v1.common import all_accounts


def gauges(services: Services) -> dict[str, Callable[[], float]]:
    # One count per scrape, not one per gauge: the models only change when the checkpoint moves.
    memo: dict[int, census.Census] = {}

    def counted() -> census.Census:
        at = services.models.checkpoint()
        if at not in memo:
            memo.clear()
            with services.models.read() as tx:
                memo[at] = census.take(tx)
        return memo[at]

    def local_running() -> float:
        local: LocalWorkers | None = services.extras.get("local_workers")
        return local.running_count() if local is not None else 0

    return {
        "hiscrm_workers_online": lambda: counted().workers.online,
        "hiscrm_workers_offline": lambda: counted().workers.offline,
        "hiscrm_local_workers_running": local_running,
        "hiscrm_accounts": lambda: counted().accounts.total,
        "hiscrm_accounts_logged_in": lambda: counted().accounts.by_login_status.get("logged_in", 0),
        "hiscrm_accounts_unassigned": lambda: counted().accounts.unassigned,
        "hiscrm_projection_dead_letters": services.models.dead_letter_count,
    }


def account_health(services: Services, metrics: Metrics) -> None:
    """Per-account crawl health, labelled by account: failed passes ever and failed passes in a row."""
    memo: dict[int, list[tuple[str, int, int]]] = {}

    def rows() -> list[tuple[str, int, int]]:
        at = services.models.checkpoint()
        if at not in memo:
            memo.clear()
            with services.models.read() as tx:
                memo[at] = [
                    (r.account_id, r.health.failures_total, r.health.consecutive_failures) for r in all_accounts(tx)
                ]
        return memo[at]

    metrics.families["hiscrm_account_pass_failures_total"] = (
        "counter",
        "Failed crawl passes of each account (repeats a worker only counted included).",
        lambda: [("account_id", a, total) for a, total, _ in rows()],
    )
    metrics.families["hiscrm_account_consecutive_pass_failures"] = (
        "gauge",
        "Failed crawl passes of each account since its last completed one.",
        lambda: [("account_id", a, run) for a, _, run in rows()],
    )
