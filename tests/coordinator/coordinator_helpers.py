"""Helpers for the coordinator tests: waiting for a condition, reading facts back, checking assignments."""

from __future__ import annotations

from collections.abc import Iterable

from hiscrm.facts import catalogue as c
from hiscrm.facts.codec import Recorded
from hiscrm.facts.subjects import ALL_EVENTS
from hiscrm.store import reader
from hiscrm.store.event_store import EventStore


async def all_facts(nc, subject: str | list[str] = ALL_EVENTS) -> list[Recorded]:  # type: ignore[no-untyped-def]
    return [r async for r in reader.read(nc, subject=subject) if isinstance(r, Recorded)]


async def facts_of(nc, kind: type[c.Fact]) -> list:  # type: ignore[no-untyped-def]
    return [r.fact for r in await all_facts(nc) if isinstance(r.fact, kind)]


async def create_accounts(store: EventStore, ids: Iterable[str], platform: str = "douyin") -> None:
    await store.append_many(c.AccountCreated(account_id=a, platform=platform, account_name=f"账号 {a}") for a in ids)


def assert_never_assigned_twice(history: list[Recorded]) -> None:
    """Per account: after an assignment, the next assignment fact is always an unassignment of that worker."""
    holder: dict[str, str | None] = {}
    for rec in history:
        f = rec.fact
        if isinstance(f, c.AccountAssigned):
            assert holder.get(f.account_id) is None, (
                f"{f.account_id} assigned to {f.worker_id} while on {holder[f.account_id]}"
            )
            holder[f.account_id] = f.worker_id
        elif isinstance(f, c.AccountUnassigned):
            assert holder.get(f.account_id) == f.worker_id, (
                f"{f.account_id} unassigned from {f.worker_id} it was not on"
            )
            holder[f.account_id] = None
