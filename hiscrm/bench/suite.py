"""Runs every benchmark against a broker of its own and collects one JSON object."""

from __future__ import annotations

import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

from hiscrm.bench import api_routes, backbone, config_propagation, dm_live, search, stack
from hiscrm.config import REPO_ROOT
from hiscrm.store import streams
from hiscrm.store.broker import EmbeddedBroker, free_port
from hiscrm.store.connection import connect


async def run(quick: bool = False) -> dict[str, Any]:
    sizes = {"append": 10_000 if quick else 50_000, "rounds": 2 if quick else 3}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="hiscrm-bench-") as tmp:
        broker = EmbeddedBroker(Path(tmp), free_port())
        await broker.start()
        try:
            nc = await connect([broker.url], "hiscrm-bench")
            try:
                await streams.apply(nc, REPO_ROOT / "streams")
                result: dict[str, Any] = {
                    "append": await backbone.measure_append(nc, sizes["append"], sizes["rounds"]),
                    "projection": await backbone.measure_projection(nc, sizes["rounds"]),
                    "config_propagation_ms": await config_propagation.measure(nc),
                }
                result.update(await _pages(Path(tmp) / "pages", quick))
                result["api_routes"] = await api_routes.measure(Path(tmp) / "routes", quick)
                result["dm_live_ms"] = await dm_live.measure(Path(tmp) / "dm", quick)
            finally:
                await nc.close()
        finally:
            await broker.stop()
    result["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}
    result["quick"] = quick
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result


async def _pages(data_dir: Path, quick: bool) -> dict[str, Any]:
    """api_page, freshness_ms, live_feed_ms, then search over the inbox api_page seeded. On a broker of
    their own: the stages before leave hundreds of thousands of facts in the suite's, which each fresh
    projector here would replay (search's model indexing every Chinese comment) before the first page."""
    async with stack.own_broker(data_dir, "hiscrm-bench-pages") as (nc, url):
        result = await stack.measure(nc, url, data_dir / "api", free_port(), quick)
        result.update(await search.measure(nc, url, data_dir / "search", free_port(), quick))
        return result
