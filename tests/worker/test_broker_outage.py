"""A broker outage is not the account's trouble: passes it cut short are retried within seconds, and
nothing is reported against the account."""

from __future__ import annotations

import asyncio
import time

from hiscrm.facts.catalogue import AccountBlocked, AccountSessionExpired, SnapshotSynced
from hiscrm.store.broker import EmbeddedBroker
from hiscrm.worker.account_runner import Timing
from tests.worker.conftest import KITCHEN, Cluster, all_facts, wait_for_facts

# Longer than a publish waits for its acknowledgement, so passes during the outage do fail.
OUTAGE_S = 8.0
# An account in trouble waits a minute: a pass failed by the broker must not.
PATIENT = Timing(backoff_base_s=60.0, backoff_cap_s=60.0)


async def test_passes_cut_short_by_a_broker_outage_resume_soon(  # type: ignore[no-untyped-def]
    nc, broker: EmbeddedBroker, cluster: Cluster
) -> None:
    cluster.start_worker(timing=PATIENT)
    await cluster.logged_in("kitchen", KITCHEN, interval=1)
    before = len(await wait_for_facts(nc, SnapshotSynced, 2, timeout=90))

    await broker.stop()
    await asyncio.sleep(OUTAGE_S)
    await broker.start()
    back = time.monotonic()

    # Within the broker retry (2 s, 4 s, 8 s …), far inside the account's 60 s backoff.
    await wait_for_facts(nc, SnapshotSynced, before + 2, timeout=40)
    assert time.monotonic() - back < 40
    kinds = {type(r.fact) for r in await all_facts(nc)}
    assert AccountBlocked not in kinds and AccountSessionExpired not in kinds
