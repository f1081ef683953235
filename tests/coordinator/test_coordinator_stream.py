"""A coordinator whose HISCRM_EVENTS is replaced (deleted and made again, or a lost store) folds the new
stream from its start (issue 13, finding 5): it used to go on at its old position + 1, skipping every
new fact below it, so accounts created after the replacement were never assigned."""

from __future__ import annotations

from hiscrm.coordinator.service import Coordinator
from hiscrm.facts.subjects import EVENTS_STREAM
from hiscrm.store import streams
from hiscrm.store.event_store import EventStore
from tests.conftest import STREAMS_DIR, eventually
from tests.coordinator.conftest import StartWorker
from tests.coordinator.coordinator_helpers import create_accounts


async def test_accounts_of_a_replaced_stream_are_assigned_and_the_old_ones_let_go(
    nc, store: EventStore, coordinator: Coordinator, start_worker: StartWorker
) -> None:
    worker = await start_worker("w1")
    old = {f"old-{i}" for i in range(8)}
    await create_accounts(store, sorted(old))
    await eventually(lambda: worker.held == old, what="the old stream's accounts assigned")
    position = coordinator.state.position
    assert position > 8

    deleted = await streams.api(nc, f"STREAM.DELETE.{EVENTS_STREAM}")
    assert deleted.get("success"), deleted
    await streams.apply(nc, STREAMS_DIR)
    await create_accounts(store, ["new-0", "new-1"])  # sequences 1 and 2, far below the old position

    await eventually(lambda: worker.held == {"new-0", "new-1"}, timeout=30, what="only the new stream's accounts")
    assert coordinator.state.position < position and set(coordinator.state.accounts) == {"new-0", "new-1"}
