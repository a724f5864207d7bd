"""Prometheus metrics: request counts and latencies per route, served at /metrics.

The HTTP figures are kept as plain numbers and turned into metric families only when scraped
(``HttpStats``): a prometheus_client counter and histogram took a lock each, about a tenth of a
cached GET's application-side time (``bench/app_timing.py``).
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable, Iterator

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
"""Upper bounds of the latency histogram's buckets, in seconds (and +Inf)."""
_BOUNDS = (*map(floatToGoString, BUCKETS), "+Inf")
"""The bounds as the ``le`` labels spell them (1 as "1.0"), as prometheus_client writes them."""


class HttpStats(Collector):
    """Requests by (route, method, status) and latency histograms by (route, method).

    Only the event loop's thread records; a scrape reads the numbers as they stand."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str, int], int] = {}
        self.latency: dict[tuple[str, str], _Latency] = {}

    def record(self, route: str, method: str, status: int, seconds: float) -> None:
        key = (route, method, status)
        self.counts[key] = self.counts.get(key, 0) + 1
        latency = self.latency.get((route, method))
        if latency is None:
            latency = self.latency[(route, method)] = _Latency()
        latency.add(seconds)

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "twin_http_requests",
            "HTTP requests by route, method, status",
            labels=["route", "method", "status"],
        )
        for (route, method, status), count in list(self.counts.items()):
            requests.add_metric([route, method, str(status)], count)
        yield requests
        seconds = HistogramMetricFamily(
            "twin_http_request_seconds",
            "HTTP request latency by route",
            labels=["route", "method"],
        )
        for (route, method), latency in list(self.latency.items()):
            seconds.add_metric([route, method], latency.cumulative(), latency.total)
        yield seconds


class _Latency:
    __slots__ = ("buckets", "total")

    def __init__(self) -> None:
        self.buckets = [0] * (len(BUCKETS) + 1)  # the last: above every bound
        self.total = 0.0

    def add(self, seconds: float) -> None:
        self.buckets[bisect.bisect_left(BUCKETS, seconds)] += 1
        self.total += seconds

    def cumulative(self) -> list[tuple[str, float]]:
        """(upper bound, observations at or under it), as Prometheus counts buckets."""
        found, running = [], 0
        for bound, count in zip(_BOUNDS, self.buckets, strict=True):
            running += count
            found.append((bound, float(running)))
        return found


class Metrics:
    """The server's metric registry (one per app, so tests can run several apps)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.http = HttpStats()
        self.registry.register(self.http)

    def watch(self, name: str, documentation: str, read: Callable[[], float]) -> None:
        """A gauge read when /metrics is scraped (for the state of long-running parts)."""
        Gauge(name, documentation, registry=self.registry).set_function(read)

    def endpoint(self, request: Request) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


class MetricsMiddleware:
    """Pure ASGI middleware: counts every HTTP request under the name of the route it hit."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.stats = metrics.http

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record)
        finally:
            route = getattr(scope.get("endpoint"), "__name__", "unmatched")
            self.stats.record(route, scope["method"], status, time.perf_counter() - start)
