"""Running the app on our own HTTP server (hiscrm/api/http_server.py) inside our own event loop, so
`hiscrm up` can run it beside the rest.

The loop is uvloop where it is installed; a platform without it runs on asyncio's loop, one without
httptools on uvicorn and h11, only slower.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Coroutine
from typing import Any, TypeVar

from starlette.applications import Starlette

from hiscrm.api import http_server
from hiscrm.api.app import create_app
from hiscrm.api.auth import Tokens
from hiscrm.api.local_workers import LocalWorkers
from hiscrm.api.services import Services
from hiscrm.config import Settings
from hiscrm.projector.live import LiveModels
from hiscrm.secrets.keystore import KeyStore
from hiscrm.secrets.sealing import load_master_key
from hiscrm.store.connection import HiscrmClient
from hiscrm.store.event_store import EventStore
from projections import MODELS

try:
    import uvloop
except ImportError:  # pragma: no cover - platforms without uvloop (Windows)
    uvloop = None  # type: ignore[assignment]

T = TypeVar("T")


def run_fast(main: Coroutine[Any, Any, T]) -> T:
    """Run a serving command to the end on uvloop, or on asyncio's own loop where uvloop is missing."""
    if uvloop is not None:
        return uvloop.run(main)
    return asyncio.run(main)


def build(settings: Settings, nc: HiscrmClient, local_workers: bool = True) -> tuple[Starlette, Services, Tokens]:
    """The app and what it serves from; `local_workers=False` for an API that may not start browser workers."""
    master = load_master_key(settings.data_dir)
    services = Services(
        settings=settings,
        nc=nc,
        store=EventStore(nc),
        models=LiveModels(settings.read_models_dir, MODELS, nc),
        keys=KeyStore(nc, master),
        master_key=master,
    )
    if local_workers:
        services.extras["local_workers"] = LocalWorkers.from_settings(settings)
    tokens = Tokens.load_or_create(settings.data_dir)
    return create_app(services, tokens), services, tokens


async def serve(app: Starlette, host: str, port: int, stop: asyncio.Event, sock: socket.socket) -> None:
    """Serve on `sock` (bound beforehand, so a busy port was already refused by name) until `stop`."""
    # Endless responses (the IM event feed) end when the server begins to stop, so it can.
    await http_server.serve(app, sock, stop, on_stop=app.state.stopping.set)
    # Local workers are this API's children: they stop with it, before the broker does.
    local: LocalWorkers | None = app.state.services.extras.get("local_workers")
    if local is not None:
        await local.close()
    logging.getLogger(__name__).info("API on %s:%d stopped", host, port)
