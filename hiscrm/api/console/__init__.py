"""The admin console at /admin/: static HTML, ES modules and CSS shipped in the package, no build step.

The pages sign in with a bearer token and then call /api/v1 and /api/im like any other client, so
this module only serves files; it holds no data and grants nothing.
"""

from __future__ import annotations

from pathlib import Path

from starlette.responses import RedirectResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"


class _Revalidated(StaticFiles):
    """Static files the browser must revalidate, so an upgraded console is never half old, half new."""

    def file_response(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = "no-cache"
        return response


def routes() -> list[BaseRoute]:
    return [
        Route("/admin", lambda request: RedirectResponse("/admin/", 308), methods=["GET"]),
        Mount("/admin", _Revalidated(directory=STATIC, html=True), name="console"),
    ]
