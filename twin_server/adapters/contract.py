"""What a protocol adapter implements, and what the server offers it.

An adapter (one folder under the top-level ``adapters/``) translates a protocol both ways:
device messages become readings that the runtime commits through the one writer, and
commands become protocol actions (an MQTT publish, an OPC UA write or method call) whose
results come back as command status. Adapters run on the server's event loop; a client
library's own threads hand their callbacks to it (``loop.call_soon_threadsafe``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from twin_server.adapters.bindings import Binding


class DeliveryError(Exception):
    """The command cannot reach its device now (not connected…): it waits and is tried again
    until its time to live runs out."""


@dataclass(frozen=True)
class Delivery:
    """A command to deliver: its execution, and the binding that routes it."""

    execution_id: str
    tenant: str
    twin_id: str
    command: str
    payload: Any
    binding: Binding
    names: dict[str, str] = field(default_factory=dict)  # the twin id's template segments


class Host(Protocol):
    """The runtime, as an adapter sees it. Every method returns at once (it queues)."""

    def reading(
        self,
        binding: Binding,
        twin_id: str,
        attributes: dict[str, dict[str, Any]],
        *,
        flagged: dict[str, str] | None = None,
    ) -> None:
        """New values of the twin's attributes (NGSI-LD attributes by mapped name).
        ``flagged`` names attributes whose source reported bad quality, with the reason: they
        are marked as such on the twin, their value is left as it was."""

    def rejected(self, binding: Binding | None, where: str, reason: str) -> None:
        """A message that could not update a twin (where: the topic or node), and why."""

    def connection(self, adapter: str, name: str, connected: bool, error: str | None) -> None:
        """The state of one connection of the adapter (a broker, a server)."""

    def command_result(self, execution_id: str, status: str, response: Any = None) -> None:
        """A device's answer to a delivered command: ``succeeded`` or ``failed``."""

    def pressure(self) -> bool:
        """More readings wait than the runtime can commit now: an adapter that can should
        stop reading its source for a moment (back-pressure, so a flood cannot starve the
        commits). Safe to ask from any thread."""
        ...


class Adapter(Protocol):
    name: str

    def check(self, binding: Binding) -> list[str]:
        """The problems of the adapter's own parts of a binding (connection, source, command
        targets); empty when it can be used."""
        ...

    def names(self, binding: Binding) -> set[str]:
        """The template names the binding's source provides (for the twin id template)."""
        ...

    async def start(self, host: Host) -> None: ...

    async def stop(self) -> None: ...

    async def apply(self, bindings: list[Binding]) -> None:
        """These are now all of this adapter's bindings: subscribe, unsubscribe, connect."""

    async def deliver(self, delivery: Delivery) -> None:
        """Send a command to its device; ``DeliveryError`` when it cannot go now."""

    def health(self) -> dict[str, Any]:
        """Connections and counters, for the adapters API."""
        ...
