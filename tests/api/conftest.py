"""The admin API against a real broker and a real projector, called in-process through httpx's ASGI transport."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from hiscrm.api.local_workers import LocalWorkers
from hiscrm.api.server import build
from hiscrm.config import Settings
from hiscrm.projector.runner import Projector
from hiscrm.store.broker import EmbeddedBroker
from projections import MODELS
from tests.api.api_client import Api, stand_in_command


@pytest.fixture
async def api(broker: EmbeddedBroker, nc, tmp_path: Path) -> AsyncIterator[Api]:  # type: ignore[no-untyped-def]
    settings = Settings(data_dir=tmp_path / "var", nats_urls=(broker.url,))
    app, services, tokens = build(settings, nc)
    services.extras["local_workers"] = LocalWorkers(settings.data_dir / "workers", stand_in_command(), grace_s=2.0)
    stop = asyncio.Event()
    projector = asyncio.create_task(Projector(nc, settings.read_models_dir, MODELS).run(stop))
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hiscrm.test") as client:
            yield Api(client, services, tokens.first("admin").token, tokens.first("im").token)
    finally:
        await services.extras["local_workers"].close()
        stop.set()
        await asyncio.wait_for(projector, 10)
        services.models.close()
