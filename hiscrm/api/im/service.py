"""/api/im/health and /api/im/version: what clients check before they start.

Both carry the fields the predecessor's clients read (`api_version`, `compatibility`,
`supported_platforms`; `data.version` in health) beside our own.
"""

from __future__ import annotations

import time

import msgspec

from hiscrm import __version__
from hiscrm.api.im.common import im_router
from hiscrm.api.routing import Call
from hiscrm.api.v1.common import PLATFORMS

router = im_router("im")

# The IM API generation the predecessor's clients were written against (reference/im-api.md).
API_VERSION = "1.0"
COMPATIBILITY = "hiscrm-im-1.0"


class ImHealth(msgspec.Struct, kw_only=True):
    status: str
    version: str
    timestamp: int
    nats: bool
    checkpoint: int


class Version(msgspec.Struct, kw_only=True):
    """`version` is this server's; `api_version` the IM API's, which `compatibility` names as clients check it."""

    version: str
    api_version: str
    compatibility: str
    platforms: list[str]
    supported_platforms: list[str]


@router.route("GET", "/api/im/health", summary="liveness; needs no token", response=ImHealth, roles=None)
async def health(call: Call) -> ImHealth:
    services = call.services
    return ImHealth(
        status="ok",
        version=__version__,
        timestamp=int(time.time() * 1000),
        nats=services.nc.is_connected,
        checkpoint=services.models.checkpoint(),
    )


@router.route("GET", "/api/im/version", summary="the server's version and the platforms it supports", response=Version)
async def version(call: Call) -> Version:
    return Version(
        version=__version__,
        api_version=API_VERSION,
        compatibility=COMPATIBILITY,
        platforms=list(PLATFORMS),
        supported_platforms=list(PLATFORMS),
    )
