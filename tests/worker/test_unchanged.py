"""Passes over a site where nothing changes append nothing but their snapshot_synced."""

from __future__ import annotations

from hiscrm.facts.catalogue import PassCounts, SnapshotSynced
from hiscrm.facts.subjects import aggregate_filter
from tests.worker.conftest import KITCHEN, Cluster, all_facts, wait_for_facts


async def test_twenty_passes_over_an_unchanged_site_append_only_snapshots(  # type: ignore[no-untyped-def]
    nc, store, cluster: Cluster
) -> None:
    cluster.start_worker()
    await cluster.logged_in("kitchen", KITCHEN, interval=0)
    baseline = (await wait_for_facts(nc, SnapshotSynced, timeout=90))[0]
    after_baseline = await store.last_seq("inbox", "kitchen")
    synced = await wait_for_facts(nc, SnapshotSynced, 21, timeout=120)

    later = [r for r in await all_facts(nc, aggregate_filter("inbox", "kitchen")) if r.seq > after_baseline]
    assert {type(r.fact) for r in later} == {SnapshotSynced}
    assert all(s.new_counts == PassCounts() for s in synced[1:])
    assert {s.digest for s in synced} == {baseline.digest}
    assert [s.pass_no for s in synced] == list(range(1, len(synced) + 1))
