"""Avatar and cover pictures served from the sandbox origin, so pages load fully without the internet."""

from __future__ import annotations

import hashlib
import io
from functools import lru_cache

from PIL import Image, ImageDraw
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

# Paths under these prefixes are pictures; request counters leave them out.
PREFIXES = ("/aweme/100x100/aweme-avatar/", "/obj/")


@lru_cache(maxsize=1024)
def _jpeg(name: str, width: int, height: int) -> bytes:
    digest = hashlib.md5(name.encode()).digest()
    background = (80 + digest[0] % 150, 80 + digest[1] % 150, 80 + digest[2] % 150)
    image = Image.new("RGB", (width, height), background)
    draw = ImageDraw.Draw(image)
    # A lighter disc, placed by the name, so neighbouring pictures are told apart at a glance.
    size = min(width, height) * (40 + digest[3] % 30) // 100
    x, y = digest[4] % max(width - size, 1), digest[5] % max(height - size, 1)
    draw.ellipse((x, y, x + size, y + size), fill=tuple(min(c + 70, 255) for c in background))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=70)
    return buffer.getvalue()


async def avatar(request: Request) -> Response:
    return _picture(_jpeg(request.path_params["name"], 100, 100))


async def cover(request: Request) -> Response:
    return _picture(_jpeg(request.path_params["name"], 270, 360))


def _picture(data: bytes) -> Response:
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "public, max-age=86400"})


routes = [
    Route(PREFIXES[0] + "{name}", avatar),
    Route(PREFIXES[1] + "{name:path}", cover),
]
