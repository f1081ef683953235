"""The whole stack on real sockets, for what an in-process ASGI call cannot show: streaming responses,
clients in other threads (schemathesis), server shutdown. Broker, projector and API under uvicorn,
on an event loop in a thread of its own."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from hiscrm.api.server import build, serve
from hiscrm.api.services import Services
from hiscrm.config import REPO_ROOT, Settings
from hiscrm.procs import bind
from hiscrm.projector.runner import Projector
from hiscrm.store import streams
from hiscrm.store.auth import ensure_auth
from hiscrm.store.broker import EmbeddedBroker, free_port
from hiscrm.store.connection import connect
from hiscrm.store.event_store import EventStore
from projections import MODELS


@dataclass
class Live:
    url: str
    admin: str
    im: str
    loop: asyncio.AbstractEventLoop
    services: Services
    store: EventStore  # the test's own, as the admin user: what workers would append
    server_done: threading.Event
    stop: asyncio.Event

    def shutdown(self) -> None:
        """What SIGTERM does to `hiscrm api`."""
        self.loop.call_soon_threadsafe(self.stop.set)

    def run(self, work: Awaitable[Any], timeout: float = 30) -> Any:
        """Run a coroutine on the server's loop (appending facts, waiting for the models) from the test's thread."""
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(timeout)  # type: ignore[arg-type]


@contextmanager
def live_stack(tmp: Path, seed: Callable[[Services], Awaitable[None]] | None = None) -> Iterator[Live]:
    ready: dict[str, Any] = {}
    started, done = threading.Event(), threading.Event()

    async def main() -> None:
        # Each part as its own NATS user, as under `hiscrm up`: the routes also check the api user's allow list.
        auth = ensure_auth(tmp / "nats-users")
        broker = EmbeddedBroker(tmp / "nats", free_port(), auth=auth)
        await broker.start()
        nc, api_nc, projector_nc = [
            await connect([broker.url], f"im-tests-{role}", credentials=auth.role(role))
            for role in ("admin", "api", "projector")
        ]
        stop = asyncio.Event()
        try:
            await streams.apply(nc, REPO_ROOT / "streams")
            settings = Settings(data_dir=tmp / "var", nats_urls=(broker.url,))
            app, services, tokens = build(settings, api_nc)
            projector = asyncio.create_task(Projector(projector_nc, settings.read_models_dir, MODELS).run(stop))
            store = EventStore(nc)
            if seed is not None:
                await seed(replace(services, nc=nc, store=store))
            sock = bind("127.0.0.1", 0, "API", "--api-port")
            port = sock.getsockname()[1]
            server = asyncio.create_task(serve(app, "127.0.0.1", port, stop, sock))
            await asyncio.sleep(0.3)
            ready.update(
                live=Live(
                    f"http://127.0.0.1:{port}",
                    tokens.add("admin").secret,
                    tokens.add("im").secret,
                    asyncio.get_running_loop(),
                    services,
                    store,
                    done,
                    stop,
                ),
            )
            started.set()
            await server
            done.set()
            await asyncio.wait_for(projector, 10)
            services.models.close()
        finally:
            stop.set()
            for client in (nc, api_nc, projector_nc):
                await client.close()
            await broker.stop()
            started.set()

    thread = threading.Thread(target=lambda: asyncio.run(main()), daemon=True)
    thread.start()
    assert started.wait(60) and "live" in ready, "the live stack did not start"
    live: Live = ready["live"]
    try:
        yield live
    finally:
        live.shutdown()
        thread.join(30)
