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
from hiscrm.store.auth import AuthSetup, ensure_auth
from hiscrm.store.broker import EmbeddedBroker
from hiscrm.store.connection import connect
from hiscrm.store.event_store import EventStore
from projections import MODELS
from tests.api.api_client import Api, stand_in_command


@pytest.fixture
def nats_auth(tmp_path: Path) -> AuthSetup:
    """The API runs as the `api` NATS user, as under `hiscrm up`: every route is also a check of that
    user's allow list (a publish or request it lacks fails the route)."""
    return ensure_auth(tmp_path / "nats-users")


@pytest.fixture
async def api(broker: EmbeddedBroker, nc, nats_auth: AuthSetup, tmp_path: Path) -> AsyncIterator[Api]:  # type: ignore[no-untyped-def]
    settings = Settings(data_dir=tmp_path / "var", nats_urls=(broker.url,))
    api_nc = await connect([broker.url], "api", credentials=nats_auth.role("api"))
    projector_nc = await connect([broker.url], "projector", credentials=nats_auth.role("projector"))
    app, services, tokens = build(settings, api_nc)
    services.extras["local_workers"] = LocalWorkers(settings.data_dir / "workers", stand_in_command(), grace_s=2.0)
    stop = asyncio.Event()
    projector = asyncio.create_task(Projector(projector_nc, settings.read_models_dir, MODELS).run(stop))
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hiscrm.test") as client:
            yield Api(client, services, EventStore(nc), tokens.add("admin").secret, tokens.add("im").secret)
    finally:
        await services.extras["local_workers"].close()
        stop.set()
        await asyncio.wait_for(projector, 10)
        services.models.close()
        await api_nc.close()
        await projector_nc.close()
