"""The command service: checks a command against the twin's DTDL model and records its
execution through the one writer. Delivery to devices is the adapters' (a later part); until
one takes it, an execution stays ``pending``."""

from __future__ import annotations

from typing import Any

from twin_server.commands.model import new_execution
from twin_server.core import operations
from twin_server.core.events import Origin
from twin_server.core.service import TwinGraph
from twin_server.core.types import Entity
from twin_server.errors import BadRequestData
from twin_server.modeling.commands import commands_of, request_problem
from twin_server.modeling.repository import ModelRepository


class CommandService:
    def __init__(self, graph: TwinGraph, models: ModelRepository) -> None:
        self.graph = graph
        self.models = models

    async def send(
        self, tenant: str, twin_id: str, command: str, payload: Any, *, origin: Origin = "api"
    ) -> Entity:
        """Record a new execution of ``command`` on the twin (``pending``); the entity."""
        twin = await self.graph.retrieve(tenant, twin_id)
        models = self.models.models
        commands = commands_of(models, twin["type"])
        if not commands:
            raise BadRequestData(
                f"twin {twin_id} has no DTDL model with Commands (its types: "
                f"{', '.join(twin['type'])})"
            )
        found = commands.get(command)
        if found is None:
            raise BadRequestData(
                f"twin {twin_id}'s model has no Command {command!r}; its Commands are "
                f"{sorted(commands)}"
            )
        reason = request_problem(models, found, payload)
        if reason is not None:
            raise BadRequestData(f"Command {command!r} of twin {twin_id}: {reason}")
        execution = new_execution(twin_id, command, payload, origin)
        applied = await self.graph.write(
            tenant, execution["id"], operations.create(execution), origin=origin
        )
        assert applied.after is not None
        return applied.after
