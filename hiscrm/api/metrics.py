"""Counters and latency histograms for /metrics, in the Prometheus text format."""

from __future__ import annotations

import bisect
import time
from collections import defaultdict
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Metrics:
    def __init__(self) -> None:
        self.requests: dict[tuple[str, str, int], int] = defaultdict(int)
        self.latency: dict[str, list[int]] = defaultdict(lambda: [0] * (len(BUCKETS) + 1))
        self.latency_sum: dict[str, float] = defaultdict(float)
        self.gauges: dict[str, Callable[[], float]] = {}
        # Labelled families: name -> (type, help, read), read giving (label name, label value, value) rows.
        self.families: dict[str, tuple[str, str, Callable[[], list[tuple[str, str, float]]]]] = {}

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests[(route, method, status)] += 1
        self.latency[route][bisect.bisect_left(BUCKETS, seconds)] += 1
        self.latency_sum[route] += seconds

    def render(self) -> str:
        lines = [
            "# HELP hiscrm_http_requests_total HTTP requests by route, method and status.",
            "# TYPE hiscrm_http_requests_total counter",
        ]
        for (route, method, status), n in sorted(self.requests.items()):
            lines.append(f'hiscrm_http_requests_total{{route="{route}",method="{method}",status="{status}"}} {n}')
        lines += [
            "# HELP hiscrm_http_request_seconds HTTP request latency by route.",
            "# TYPE hiscrm_http_request_seconds histogram",
        ]
        for route, counts in sorted(self.latency.items()):
            running = 0
            for bound, n in zip((*BUCKETS, float("inf")), counts, strict=True):
                running += n
                le = "+Inf" if bound == float("inf") else repr(bound)
                lines.append(f'hiscrm_http_request_seconds_bucket{{route="{route}",le="{le}"}} {running}')
            lines.append(f'hiscrm_http_request_seconds_sum{{route="{route}"}} {self.latency_sum[route]:.6f}')
            lines.append(f'hiscrm_http_request_seconds_count{{route="{route}"}} {running}')
        for name, read in sorted(self.gauges.items()):
            lines += [f"# TYPE {name} gauge", f"{name} {read()}"]
        for name, (kind, text, rows) in sorted(self.families.items()):
            lines += [f"# HELP {name} {text}", f"# TYPE {name} {kind}"]
            lines += [f'{name}{{{label}="{_escape(value)}"}} {n}' for label, value, n in rows()]
        return "\n".join(lines) + "\n"


def _escape(label_value: str) -> str:
    return label_value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class MetricsMiddleware:
    """Times every request under its route template, so /api/im/messages/123 counts as one route."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()

        async def capture(message: dict) -> None:  # type: ignore[type-arg]
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            route = scope.get("route")
            name = getattr(route, "path", None) or "unmatched"
            self.metrics.observe(name, scope["method"], status, time.perf_counter() - started)
