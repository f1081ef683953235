"""The sandbox as one Starlette app: pages, Douyin APIs, pictures and the control API on one origin."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware

from hiscrm.parts import cancel_and_wait
from hiscrm.sandbox import control, douyin_api, im, images, pages, passport, variants
from hiscrm.sandbox.metering import RequestMeter
from hiscrm.sandbox.state import World
from hiscrm.sandbox.stir import Stirrer
from hiscrm.sandbox.traffic import Traffic


def create_app(world: World, *, state_path: Path | None = None, traffic: bool = True) -> Starlette:
    """`state_path`: where the world is saved on shutdown and by /__sandbox/save.
    `traffic`: run the generator that adds comments and messages at each account's set rate."""
    stirrer = Stirrer(world)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(Traffic(world).run()) if traffic else None
        try:
            yield
        finally:
            await cancel_and_wait(task)
            stirrer.cancel()
            if state_path is not None:
                world.save(state_path)

    app = Starlette(
        routes=[
            *pages.routes,
            *passport.routes,
            *douyin_api.routes,
            *im.routes,
            *images.routes,
            *control.routes,
            *variants.routes,
        ],
        middleware=[Middleware(RequestMeter, world=world, stirrer=stirrer)],
        lifespan=lifespan,
    )
    app.state.world = world
    app.state.stirrer = stirrer
    app.state.state_path = state_path
    return app
