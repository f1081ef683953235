"""/api/im/health and /api/im/version: what clients check before they start."""

from __future__ import annotations

import msgspec

from hiscrm import __version__
from hiscrm.api.im.common import im_router
from hiscrm.api.routing import Call
from hiscrm.api.v1.common import PLATFORMS

router = im_router("im")


class ImHealth(msgspec.Struct, kw_only=True):
    status: str
    nats: bool
    checkpoint: int


class Version(msgspec.Struct, kw_only=True):
    version: str
    platforms: list[str]


@router.route("GET", "/api/im/health", summary="liveness; needs no token", response=ImHealth, roles=None)
async def health(call: Call) -> ImHealth:
    services = call.services
    return ImHealth(status="ok", nats=services.nc.is_connected, checkpoint=services.models.checkpoint())


@router.route("GET", "/api/im/version", summary="the server's version and the platforms it supports", response=Version)
async def version(call: Call) -> Version:
    return Version(version=__version__, platforms=list(PLATFORMS))
