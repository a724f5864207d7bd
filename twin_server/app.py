"""The FastAPI application factory: builds the services once (lifespan) and mounts the APIs."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from twin_server import __version__
from twin_server.adapters.metrics import AdapterCollector
from twin_server.adapters.runtime import AdapterRuntime
from twin_server.api.adapters import router as adapters_router
from twin_server.api.commands import router as commands_router
from twin_server.api.graphql.context import names_in_use
from twin_server.api.graphql.hub import Hub
from twin_server.api.graphql.live import LiveSchema
from twin_server.api.graphql.router import graphql_router
from twin_server.api.inference import router as inference_router
from twin_server.api.metrics import Metrics, MetricsMiddleware
from twin_server.api.models.routes import router as models_router
from twin_server.api.ngsild.context import Services
from twin_server.api.ngsild.contexts import hosted_id
from twin_server.api.ngsild.openapi import ngsild_paths
from twin_server.api.ngsild.problem import MethodNotAllowed, problem_response
from twin_server.api.ngsild.render_cache import RenderCache
from twin_server.api.ngsild.routes import BASE as NGSI_LD_BASE
from twin_server.api.ngsild.routes import NgsiLdDispatcher
from twin_server.api.rules import router as rules_router
from twin_server.api.sparql import router as sparql_router
from twin_server.bus import EventBus, open_bus
from twin_server.commands.service import CommandService
from twin_server.config import Settings
from twin_server.core.service import TwinGraph
from twin_server.errors import InvalidRequest, NotFound
from twin_server.inference.metrics import InferenceCollector
from twin_server.inference.wiring import connect_rules, start_inference
from twin_server.jsonld.resolver import ContextResolver
from twin_server.jsonld.termmap import TermMap
from twin_server.modeling.graph import descendants
from twin_server.modeling.model import ModelSet
from twin_server.modeling.repository import ModelRepository
from twin_server.modeling.resolver import RepositoryResolver
from twin_server.modeling.twins import TwinValidator
from twin_server.rules.engine import RuleEngine
from twin_server.semantic.graph import SemanticGraph
from twin_server.semantic.mirror import Mirror
from twin_server.store import Store, open_store
from twin_server.store.base import DEFAULT_TENANT
from twin_server.subscriptions.http import HttpSender
from twin_server.subscriptions.mqtt import MqttSender
from twin_server.subscriptions.notifier import Notifier
from twin_server.subscriptions.senders import Senders
from twin_server.subscriptions.service import SubscriptionService
from twin_server.temporal.retention import Retention
from twin_server.temporal.service import TemporalService

log = logging.getLogger(__name__)
NGSI_LD_PREFIX = NGSI_LD_BASE + "/"


class TwinApp:
    """The server's ASGI application.

    NGSI-LD requests go straight to their dispatcher (wrapped only by the metrics); everything
    else, lifespan included, goes to the FastAPI app. The NGSI-LD API is the hot path, and each
    extra middleware layer costs on every request and every message sent.
    """

    def __init__(self, fastapi: FastAPI, metrics: Metrics) -> None:
        self.fastapi = fastapi
        self.router = fastapi.router
        self.state = fastapi.state
        self._ngsi = MetricsMiddleware(NgsiLdDispatcher(fastapi), metrics)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(NGSI_LD_PREFIX):
            scope["app"] = self.fastapi
            await self._ngsi(scope, receive, send)
        else:
            await self.fastapi(scope, receive, send)


def create_app(settings: Settings | None = None) -> TwinApp:
    settings = settings or Settings()
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = open_store(
            settings.resolved_store_url,
            synchronous=settings.sqlite_synchronous,
            cache_size=settings.entity_cache_size,
        )
        await store.open()
        bus = open_bus("memory://")
        resolver = ContextResolver(
            fetch_timeout=settings.context_fetch_timeout,
            max_bytes=settings.context_max_bytes,
            cache_size=settings.context_cache_size,
            hosted=_hosted_lookup(store),
        )
        renders = RenderCache(settings.entity_cache_size)
        folder = settings.model_repository
        models = ModelRepository(
            store,
            twins_of=_twin_counter(store),
            repository=RepositoryResolver(folder) if folder else None,
        )
        await models.load()
        semantic = SemanticGraph()
        validator = TwinValidator(models, types_of=semantic.types_of)
        graph = TwinGraph(store, bus, validator=validator)
        await asyncio.to_thread(semantic.load_ontologies)
        await asyncio.to_thread(semantic.set_models, models.models)

        async def models_changed(changed: ModelSet) -> None:
            await asyncio.to_thread(semantic.set_models, changed)

        models.listeners.append(models_changed)
        mirror = Mirror(semantic, store, bus)
        mirror_task = asyncio.create_task(mirror.run(), name="semantic-mirror")
        app.state.mirror = mirror
        sender = HttpSender(timeout=settings.notification_timeout)
        mqtt = MqttSender(timeout=settings.notification_timeout)
        senders = Senders({"http": sender, "https": sender, "mqtt": mqtt, "mqtts": mqtt})
        notifier = Notifier(store, bus, senders)
        subscriptions = SubscriptionService(store, notifier, resolver)
        await subscriptions.start()
        app.state.notifier = notifier
        temporal = TemporalService(store)
        retention = Retention(store, settings)
        retention_task = asyncio.create_task(retention.run(), name="history-retention")
        app.state.retention = retention
        app.state.services = Services(
            settings,
            graph,
            resolver,
            renders,
            models,
            semantic,
            subscriptions,
            temporal,
            mirror,
            CommandService(graph, models),
        )
        hub = Hub(bus, limit=settings.graphql_subscriber_queue)
        hub.start()
        app.state.graphql_hub = hub
        services = app.state.services

        async def adapter_terms(context: list[str] | None) -> TermMap:
            if context is None:
                return await names_in_use(services)
            return await resolver.term_map(context)

        def subtypes(interface: str) -> list[str]:
            return descendants(models.models, interface)

        wired = await start_inference(settings, graph, bus, store, adapter_terms, subtypes)
        inference = wired.runtime
        app.state.inference = inference
        app.state.retraining = wired.retraining
        app.state.feedback = wired.feedback
        services = app.state.services = dataclasses.replace(services, feedback=wired.feedback)
        assert services.commands is not None
        rules = RuleEngine(graph, bus, store, services.commands, adapter_terms, subtypes)
        await rules.start()
        connect_rules(wired, rules)
        app.state.rules = rules
        metrics.registry.register(InferenceCollector(inference, rules))
        live = LiveSchema(settings, graphql, models, outputs=inference.outputs)
        inference.hooks_changed = live.refresh
        app.state.graphql_schema = live
        await live.start()

        adapters = AdapterRuntime(
            graph,
            store,
            adapter_terms,
            folder=settings.adapters_dir,
            binding_files=settings.adapter_bindings,
            queue_limit=settings.adapter_queue,
            batch=settings.adapter_batch,
            health_interval=settings.adapter_health_interval,
        )

        async def names_changed(changed: ModelSet) -> None:
            adapters.models_changed()

        models.listeners.append(names_changed)
        await adapters.start()
        app.state.adapters = adapters
        assert services.commands is not None
        services.commands.dispatch = adapters.dispatch
        metrics.registry.register(AdapterCollector(adapters))
        _watch(metrics, bus, notifier, mirror, retention, hub)
        log.info("twin server ready: store %s", store.url)
        try:
            yield
        finally:
            await rules.stop()
            await inference.stop()
            await adapters.stop()
            await subscriptions.stop()
            await hub.stop()
            await sender.aclose()
            await mqtt.aclose()
            for task in (mirror_task, retention_task):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await resolver.aclose()
            await bus.aclose()
            await store.close()

    app = FastAPI(
        title="Twin Server",
        version=__version__,
        lifespan=lifespan,
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_api_route("/metrics", metrics.endpoint, methods=["GET"], include_in_schema=False)
    app.add_api_route("/health", _health, methods=["GET"], tags=["operations"])
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.include_router(models_router)
    app.include_router(adapters_router)
    app.include_router(commands_router)
    app.include_router(inference_router)
    app.include_router(rules_router)
    app.include_router(sparql_router)
    graphql = graphql_router(settings)
    app.include_router(graphql)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
            schema["paths"].update(ngsild_paths())
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return TwinApp(app, metrics)


async def _http_error(request: Request, exc: Exception) -> Response:
    """Routing errors (unknown path, wrong method) as ProblemDetails, like every other error."""
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 405:
        error: Exception = MethodNotAllowed(
            f"{request.method} is not allowed on {request.url.path}"
        )
        return problem_response(error, headers=dict(exc.headers or {}))
    if exc.status_code == 404:
        return problem_response(NotFound(f"there is no resource at {request.url.path}"))
    return problem_response(InvalidRequest(str(exc.detail)))


async def _health(request: Request) -> Response:
    """Readiness: 200 once the store is open and answering."""
    services: Services | None = getattr(request.app.state, "services", None)
    if services is None:
        return JSONResponse({"status": "starting"}, status_code=503)
    try:
        await services.graph.store.tenant_exists("")
    except Exception as exc:  # the store is the one dependency of readiness
        return JSONResponse({"status": "unavailable", "detail": str(exc)}, status_code=503)
    return JSONResponse(
        {"status": "ok", "version": __version__, "store": services.graph.store.url.split(":", 1)[0]}
    )


def _watch(
    metrics: Metrics,
    bus: EventBus,
    notifier: Notifier,
    mirror: Mirror,
    retention: Retention,
    hub: Hub,
) -> None:
    """Gauges of the long-running parts, read at each scrape of /metrics."""
    subs = notifier.subscriptions.values
    for name, documentation, read in (
        ("twin_events_published", "Change events published", lambda: bus.published),
        ("twin_events_dropped", "Events consumers missed (then caught up)", lambda: bus.dropped),
        ("twin_subscriptions", "NGSI-LD subscriptions", lambda: len(notifier.subscriptions)),
        (
            "twin_notifications_sent",
            "Notifications delivered",
            lambda: sum(s.stats.times_sent for s in subs()),
        ),
        (
            "twin_notifications_failed",
            "Notification attempts that failed",
            lambda: sum(s.stats.times_failed for s in subs()),
        ),
        ("twin_history_pruned", "History instances deleted by retention", lambda: retention.pruned),
        (
            "twin_semantic_mirror_events",
            "Events taken by the semantic mirror",
            lambda: mirror.applied,
        ),
        ("twin_graphql_subscribers", "GraphQL subscribers", lambda: hub.subscribers),
    ):
        metrics.watch(name, documentation, read)


def _twin_counter(store: Store) -> Any:
    async def count(type_iri: str) -> int:
        total = 0
        for tenant in [DEFAULT_TENANT, *await store.tenants()]:
            total += (await store.type_counts(tenant)).get(type_iri, 0)
        return total

    return count


def _hosted_lookup(store: Store) -> Any:
    async def lookup(url: str) -> Any:
        context_id = hosted_id(url)
        if context_id is None:
            return None
        found = await store.get_context(context_id)
        return found[1] if found else None

    return lookup
