"""Alerts as entities (NGSI-LD ``Alert``-like, the Smart Data Models shape): raised by rules and
by model health, visible through every API and subscribable like any entity."""

from __future__ import annotations

import uuid
from typing import Any

from twin_server.core import operations
from twin_server.core.events import Origin
from twin_server.core.service import TwinGraph
from twin_server.core.timeutil import now_iso
from twin_server.core.types import prop

VOCAB = "https://uri.etsi.org/ngsi-ld/default-context/"
ALERT = VOCAB + "Alert"


async def raise_alert(
    graph: TwinGraph,
    tenant: str,
    *,
    category: str,
    severity: str,
    description: str,
    source: str | None,
    details: dict[str, Any],
    origin: Origin,
) -> str:
    """Create an Alert entity; ``details`` become properties of the default vocabulary."""
    alert_id = f"urn:ngsi-ld:Alert:{uuid.uuid4()}"
    attrs = {
        VOCAB + "category": prop(category),
        VOCAB + "severity": prop(severity),
        VOCAB + "description": prop(description),
        VOCAB + "dateIssued": prop(now_iso()),
        **{VOCAB + name: prop(value) for name, value in details.items()},
    }
    if source is not None:
        attrs[VOCAB + "alertSource"] = [{"type": "Relationship", "object": source}]
    entity = {"id": alert_id, "type": [ALERT], "attrs": attrs}
    await graph.write(tenant, alert_id, operations.create(entity), origin=origin)
    return alert_id
