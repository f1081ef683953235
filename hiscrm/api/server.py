"""Running the app under uvicorn inside our own event loop, so `hiscrm up` can run it beside the rest.

The loop is uvloop and the HTTP parser httptools where they are installed (uvicorn's "auto" picks
httptools by itself); a platform without them runs on asyncio's loop and h11, only slower.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Coroutine
from typing import Any, TypeVar

import uvicorn
from starlette.applications import Starlette

from hiscrm.api.app import create_app
from hiscrm.api.auth import Tokens
from hiscrm.api.local_workers import LocalWorkers
from hiscrm.api.services import Services
from hiscrm.config import Settings
from hiscrm.errors import HiscrmError
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
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off", access_log=False)
    server = uvicorn.Server(config)
    # Signals belong to the command that runs us; uvicorn must not install its own.
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve(sockets=[sock]))
    stopper = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    stopper.cancel()
    if task in done:
        with contextlib.suppress(SystemExit):
            task.result()
        if not server.started:
            raise HiscrmError(f"the API could not start on {host}:{port}")
        return
    app.state.stopping.set()
    server.should_exit = True
    await task
    # Local workers are this API's children: they stop with it, before the broker does.
    local: LocalWorkers | None = app.state.services.extras.get("local_workers")
    if local is not None:
        await local.close()
    logging.getLogger(__name__).info("API stopped")
