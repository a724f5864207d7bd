"""A command execution is an entity of the twin graph, so every API and subscriber sees its
lifecycle: ``pending`` (recorded; waiting for the adapter that delivers it), ``delivered``,
then ``succeeded``, ``failed`` or ``timed-out``, with the device's response; or ``refused``
(an automated command to a twin an operator holds in manual mode)."""

from __future__ import annotations

import uuid
from typing import Any, Final

from twin_server.core.types import Entity, json_prop, prop

NS: Final = "https://twinserver.dev/ns/"
EXECUTION_TYPE: Final = NS + "CommandExecution"
COMMAND: Final = NS + "command"
TWIN: Final = NS + "twin"
PAYLOAD: Final = NS + "payload"
STATUS: Final = NS + "status"
RESPONSE: Final = NS + "response"
ISSUED_BY: Final = NS + "issuedBy"
MANUAL: Final = NS + "manualMode"  # an operator holds the twin: rules may not command it
STATUSES: Final = ("pending", "delivered", "succeeded", "failed", "timed-out", "refused")


def new_execution(
    twin_id: str, command: str, payload: Any, issued_by: str, *, refused: str | None = None
) -> Entity:
    """A new execution: ``pending``, or ``refused`` (with the reason) when it may not run."""
    execution: Entity = {
        "id": f"urn:ngsi-ld:CommandExecution:{uuid.uuid4()}",
        "type": [EXECUTION_TYPE],
        "attrs": {
            COMMAND: prop(command),
            TWIN: [{"type": "Relationship", "object": twin_id}],
            PAYLOAD: json_prop(payload),
            STATUS: prop("pending"),
            ISSUED_BY: prop(issued_by),
        },
    }
    if refused is not None:
        execution["attrs"][STATUS] = prop("refused")
        execution["attrs"][RESPONSE] = json_prop({"error": refused})
    return execution


def value(entity: Entity | None, name: str) -> Any:
    """The value of an attribute's first instance (value, json or object; None: absent)."""
    if entity is None:
        return None
    instances = entity["attrs"].get(name) or [{}]
    inst = instances[0]
    return inst.get("value", inst.get("json", inst.get("object")))
