"""search and inbox_filtered: a search page and a filtered inbox page (unread comments only) over the
bench's 10,000-item inbox, each against the trivial route on the same server, as api_page measures.

The search asks for a word most items hold ("comment", in 6,667 of them): the page is the newest 20 of
the postings of that word, which is what an agent typing a common word gets. The inbox page keeps only
unread top-level comments, a third of the items, so the walk skips two rows for each it keeps.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hiscrm.bench import api_page, stack
from hiscrm.projector.live import LiveModels
from hiscrm.store.connection import HiscrmClient
from hiscrm.store.reader import stream_head
from projections import MODELS

SEARCH = "/api/im/search?q=comment&count=20"
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
            "inbox_filtered": await api_page.against_ping(running, FILTERED, quick),
        }
