"""`/__sandbox/variants`: which generation of a page, or which side of a public disagreement, the
world serves (model.Variants). Guarded like every control endpoint (control.endpoint)."""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.requests import Request
from starlette.routing import Route

from hiscrm.sandbox.auth import world_of
from hiscrm.sandbox.control import PREFIX, endpoint
from hiscrm.sandbox.model import Variants


@endpoint
async def variants(request: Request) -> Any:
    """GET: the variants served. POST: the fields given change, the others stay."""
    world = world_of(request)
    if request.method == "POST":
        current = msgspec.to_builtins(world.variants)
        changes = msgspec.json.decode(await request.body() or b"{}", type=dict[str, Any])
        world.variants = msgspec.convert({**current, **changes}, Variants)
    return msgspec.to_builtins(world.variants)


routes = [Route(f"{PREFIX}/variants", variants, methods=["GET", "POST"])]
