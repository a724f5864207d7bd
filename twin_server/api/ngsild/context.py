"""The parts the NGSI-LD handlers share, built once at start-up (see app.py)."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from twin_server.api.ngsild.render_cache import RenderCache
from twin_server.commands.service import CommandService
from twin_server.config import Settings
from twin_server.core.service import TwinGraph
from twin_server.inference.feedback import FeedbackBook
from twin_server.jsonld.resolver import ContextResolver
from twin_server.modeling.repository import ModelRepository
from twin_server.semantic.graph import SemanticGraph
from twin_server.semantic.mirror import Mirror
from twin_server.subscriptions.service import SubscriptionService
from twin_server.temporal.service import TemporalService


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    graph: TwinGraph
    resolver: ContextResolver
    renders: RenderCache
    models: ModelRepository
    semantic: SemanticGraph
    subscriptions: SubscriptionService
    temporal: TemporalService
    mirror: Mirror | None = None
    commands: CommandService | None = None
    feedback: FeedbackBook | None = None


def services(request: Request) -> Services:
    """The services of the app serving this request (looked up once per request)."""
    found: Services | None = request.scope.get("twin.services")
    if found is None:
        found = request.scope["twin.services"] = request.app.state.services
    return found
