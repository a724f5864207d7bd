"""The command service: checks a command against the twin's DTDL model, records its execution
through the one writer and hands it to the dispatcher (the adapters' command router), which
delivers it and keeps its status. Manual mode: an operator may hold a twin; an automated
command (origin ``rule``) to it is then recorded as ``refused`` and not delivered, while
operator commands still go through."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twin_server.commands import model as m
from twin_server.commands.model import new_execution
from twin_server.core import operations
from twin_server.core.events import Origin
from twin_server.core.service import TwinGraph
from twin_server.core.types import Entity
from twin_server.errors import BadRequestData
from twin_server.modeling.commands import commands_of, request_problem
from twin_server.modeling.repository import ModelRepository

Dispatch = Callable[[str, Entity], None]


class CommandService:
    def __init__(self, graph: TwinGraph, models: ModelRepository) -> None:
        self.graph = graph
        self.models = models
        self.dispatch: Dispatch | None = None  # set when adapters run

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
        held = origin == "rule" and m.value(twin, m.MANUAL) is True
        refused = f"twin {twin_id} is in manual mode: automated commands are refused"
        execution = new_execution(
            twin_id, command, payload, origin, refused=refused if held else None
        )
        applied = await self.graph.write(
            tenant, execution["id"], operations.create(execution), origin=origin
        )
        assert applied.after is not None
        if not held and self.dispatch is not None:
            self.dispatch(tenant, applied.after)
        return applied.after

    async def set_manual(self, tenant: str, twin_id: str, manual: bool, by: str) -> Entity:
        """Put a twin in manual mode (or take it out); the twin afterwards."""
        attrs = {
            m.MANUAL: [
                {
                    "type": "Property",
                    "value": manual,
                    "sub": {m.ISSUED_BY: [{"type": "Property", "value": by}]},
                }
            ]
        }
        operation = operations.append(twin_id, attrs, no_overwrite=False)
        applied = await self.graph.write(tenant, twin_id, operation, origin="api")
        assert applied.after is not None
        return applied.after
