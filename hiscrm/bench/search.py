"""search and inbox_filtered: a search page and a filtered inbox page (unread comments only) over the
bench's 10,000-item inbox, each against the trivial route on the same server, as api_page measures.

`search` asks for a word most items hold ("comment", in 6,667 of them): the page is the newest 20 of
the postings of that word, which is what an agent typing a common word gets, and asked again (a console
refreshing its results) it is the kept page (the page cache) until the inbox moves. `search_varied`
asks a different query every request, as agents typing do: "fan N", the other party's nickname that
every item has and one item's number, for N through all 10,000 in turn, so no page is ever kept
long enough to be asked again (the cache holds 4,096) and each is found in the index and built. The
inbox page keeps only unread top-level comments, a third of the items, so the walk skips two rows for
each it keeps.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from hiscrm.bench import api_page, stack
from hiscrm.config import REPO_ROOT
from hiscrm.projector.live import LiveModels
from hiscrm.store import streams
from hiscrm.store.broker import EmbeddedBroker, free_port
from hiscrm.store.connection import HiscrmClient, connect
from hiscrm.store.event_store import EventStore
from hiscrm.store.reader import stream_head
from projections import MODELS

SEARCH = "/api/im/search?q=comment&count=20"
SEARCH_VARIED = "/api/im/search?q=fan+{n}&count=20"
FILTERED = f"/api/im/unified-messages?account_id={api_page.ACCOUNT}&is_read=false&types=comment&count=20"


async def _caught_up(nc: HiscrmClient, data_dir: Path) -> None:
    """The stack's projector has applied the whole stream, the inbox api_page seeded included."""
    head = await stream_head(nc)
    models = LiveModels(data_dir / "read-models", MODELS)
    try:
        await api_page.caught_up(models, head, "the search benchmark's inbox")
    finally:
        models.close()


async def measure(nc: HiscrmClient, nats_url: str, data_dir: Path, api_port: int, quick: bool) -> dict[str, Any]:
    """Runs after `stack.measure` on the same broker: its own API and projector read the inbox that seeded."""
    async with stack.running(data_dir, nats_url, api_port) as running:
        await _caught_up(nc, data_dir)
        return {
            "search": await api_page.against_ping(running, SEARCH, quick),
            "search_varied": await api_page.against_ping(running, SEARCH_VARIED, quick, cycle=api_page.ITEMS),
            "inbox_filtered": await api_page.against_ping(running, FILTERED, quick),
        }


async def _alone(quick: bool) -> dict[str, Any]:
    """On a broker of its own, holding only the inbox `stack.measure` would have seeded before."""
    with tempfile.TemporaryDirectory(prefix="hiscrm-bench-search-") as tmp:
        broker = EmbeddedBroker(Path(tmp) / "nats", free_port())
        await broker.start()
        try:
            nc = await connect([broker.url], "hiscrm-bench-search")
            try:
                await streams.apply(nc, REPO_ROOT / "streams")
                await EventStore(nc).append_many(api_page.inbox(api_page.ITEMS))
                return await measure(nc, broker.url, Path(tmp) / "search", free_port(), quick)
            finally:
                await nc.close()
        finally:
            await broker.stop()


if __name__ == "__main__":
    # python -m hiscrm.bench.search [--quick]: this stage of `hiscrm bench` alone, as JSON.
    print(json.dumps(asyncio.run(_alone("--quick" in sys.argv[1:]))))
