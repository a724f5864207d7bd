"""The parts the NGSI-LD handlers share, built once at start-up (see app.py)."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from twin_server.config import Settings
from twin_server.core.service import TwinGraph
from twin_server.jsonld.resolver import ContextResolver


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    graph: TwinGraph
    resolver: ContextResolver


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found
