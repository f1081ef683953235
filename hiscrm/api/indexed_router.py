"""Starlette's router with routes found by path shape instead of one regular expression after another.

Starlette tries its routes in order, one regular expression each; with the IM and admin APIs that is
dozens of matches before a late route such as a conversation's messages is found — measured, the
largest single cost of such a page. So:

- a route without parameters can only match its own path, and a dict finds it at once; an exact
  route is preferred over a parametrised one that would also match (`/unified-messages/stats` is
  never message `stats`), which is what the route table means anyway;
- a route whose parameters are plain segments (no `:path`) can only match a path with as many
  segments as its template, so only the routes of that many segments are tried, in their order.
  Routes of other kinds (mounts, `:path` parameters) are tried too, in their place, so the first
  full match is the one Starlette would have found.

Anything that matches no route fully (405, slash redirects, 404) goes the usual way.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.convertors import PathConvertor
from starlette.routing import BaseRoute, Match, Route, Router, get_route_path
from starlette.types import Receive, Scope, Send


def _segments(route: BaseRoute) -> int | None:
    """How many segments every path this route matches has; None when that is not fixed."""
    if not isinstance(route, Route) or any(isinstance(c, PathConvertor) for c in route.param_convertors.values()):
        return None
    return route.path.count("/")


class IndexedRouter(Router):
    def __init__(self, routes: Sequence[BaseRoute]) -> None:
        super().__init__(routes=list(routes))
        self._exact: dict[tuple[str, str], Route] = {}
        for route in self.routes:
            if isinstance(route, Route) and not route.param_convertors and route.methods:
                for method in route.methods:
                    self._exact.setdefault((route.path, method), route)
        shapes = {_segments(r) for r in self.routes} - {None}
        self._by_segments: dict[int, list[BaseRoute]] = {
            n: [r for r in self.routes if _segments(r) in (n, None)] for n in shapes
        }
        self._unshaped = [r for r in self.routes if _segments(r) is None]

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = get_route_path(scope)
            route = self._exact.get((path, scope["method"]))
            if route is not None:
                scope.setdefault("router", self)
                scope["route"] = route
                scope.update(endpoint=route.endpoint, path_params={})
                await route.handle(scope, receive, send)
                return
            for candidate in self._by_segments.get(path.count("/"), self._unshaped):
                match, child_scope = candidate.matches(scope)
                if match is Match.FULL:
                    scope.setdefault("router", self)
                    scope["route"] = candidate
                    scope.update(child_scope)
                    await candidate.handle(scope, receive, send)
                    return
        await super().app(scope, receive, send)
