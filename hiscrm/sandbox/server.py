"""Serving the sandbox with uvicorn until told to stop; shared by `hiscrm sandbox` and `hiscrm up`."""

from __future__ import annotations

import asyncio
import contextlib
import socket

import uvicorn
from starlette.applications import Starlette

from hiscrm import procs


class _Server(uvicorn.Server):
    # The caller owns SIGINT/SIGTERM (and sets `stop`); uvicorn's own handlers would re-raise the
    # signal after shutdown and turn a clean stop into a signal exit.
    def capture_signals(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()


def bind(host: str, port: int) -> socket.socket:
    """Binds before serving so a busy port is a clear error naming its holder, not a uvicorn exit."""
    return procs.bind(host, port, "sandbox", "--port")


async def serve(app: Starlette, sock: socket.socket, stop: asyncio.Event) -> None:
    """Serves on an already bound socket until `stop` is set, then shuts down gracefully."""
    host, port = sock.getsockname()[:2]
    server = _Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on"))

    async def stopper() -> None:
        await stop.wait()
        server.should_exit = True

    watcher = asyncio.create_task(stopper())
    try:
        await server.serve(sockets=[sock])
    finally:
        watcher.cancel()
        sock.close()
