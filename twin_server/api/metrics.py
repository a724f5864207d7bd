"""Prometheus metrics: request counts and latencies per route, served at /metrics."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class Metrics:
    """The server's metric registry (one per app, so tests can run several apps)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "twin_http_requests",
            "HTTP requests by route, method, status",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "twin_http_request_seconds",
            "HTTP request latency by route",
            ["route", "method"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )

    def watch(self, name: str, documentation: str, read: Callable[[], float]) -> None:
        """A gauge read when /metrics is scraped (for the state of long-running parts)."""
        Gauge(name, documentation, registry=self.registry).set_function(read)

    def endpoint(self, request: Request) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


class MetricsMiddleware:
    """Pure ASGI middleware: counts every HTTP request under the name of the route it hit."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

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
            key = (route, scope["method"], status)
            children = self._children.get(key)
            if children is None:
                children = self._children[key] = (
                    self.metrics.requests.labels(route, key[1], str(status)),
                    self.metrics.latency.labels(route, key[1]),
                )
            children[0].inc()
            children[1].observe(time.perf_counter() - start)
