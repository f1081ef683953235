"""Starlette's router with the routes that have no path parameters looked up by path and method.

Starlette tries its routes in order, one regular expression each; with the IM and admin APIs that
is dozens of matches before a late route such as the unified inbox is found, a measurable share of
a page's cost. A route without parameters can only match its own path, so a dict finds it at once;
everything else (parameters, 404, 405, slash redirects) goes the usual way. An exact route is
preferred over a parametrised one that would also match (`/unified-messages/stats` is never
message `stats`), which is what the route table means anyway.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.routing import BaseRoute, Route, Router, get_route_path
from starlette.types import Receive, Scope, Send


class IndexedRouter(Router):
    def __init__(self, routes: Sequence[BaseRoute]) -> None:
        super().__init__(routes=list(routes))
        self._exact: dict[tuple[str, str], Route] = {}
        for route in self.routes:
            if isinstance(route, Route) and not route.param_convertors and route.methods:
                for method in route.methods:
                    self._exact.setdefault((route.path, method), route)

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            route = self._exact.get((get_route_path(scope), scope["method"]))
            if route is not None:
                scope.setdefault("router", self)
                scope["route"] = route
                scope.update(endpoint=route.endpoint, path_params={})
                await route.handle(scope, receive, send)
                return
        await super().app(scope, receive, send)
