"""Notification payloads (NGSI-LD 1.9.1, clause 5.3.1): the entities rendered as the subscriber
asked, with the @context rules of the spec (Link header for JSON, in the body for JSON-LD)."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from twin_server.api.ngsild.render import View, render_entity
from twin_server.core.events import AttributeChange
from twin_server.core.timeutil import now_iso
from twin_server.core.types import VALUE_MEMBER
from twin_server.jsonld.core_context import CORE_CONTEXT_URL
from twin_server.subscriptions.model import Subscription

CONTEXT_REL = "http://www.w3.org/ns/json-ld#context"
SYSTEM = frozenset({"id", "type", "scope"})
# Notification ids: unique per process start and counted within it (uuid4 per notification
# costs a system call for randomness each time).
_PROCESS = uuid.uuid4()
_sequence = itertools.count(1)


def view_of(subscription: Subscription) -> View:
    pick = subscription.notify_attrs | SYSTEM if subscription.notify_attrs is not None else None
    return View(
        subscription.terms,
        format=subscription.format,
        sys_attrs=subscription.sys_attrs,
        pick=pick,
        lang=subscription.lang,
    )


def notification(
    subscription: Subscription,
    items: Sequence[tuple[Mapping[str, Any], Sequence[AttributeChange]]],
    *,
    notified_at: str | None = None,
) -> tuple[bytes, dict[str, str]]:
    """(body, headers) of one notification carrying ``items`` (entity, its changes)."""
    view = view_of(subscription)
    data = []
    for entity, changes in items:
        rendered = render_entity(dict(entity), view)
        if subscription.show_changes and subscription.format == "normalized":
            _previous_values(rendered, changes, subscription)
        data.append(rendered)
    body: dict[str, Any] = {
        "id": f"urn:ngsi-ld:Notification:{_PROCESS}-{next(_sequence)}",
        "type": "Notification",
        "subscriptionId": subscription.id,
        "notifiedAt": notified_at or now_iso(),
        "data": data,
    }
    headers = {"Content-Type": subscription.endpoint.accept}
    context = subscription.context if subscription.context is not None else CORE_CONTEXT_URL
    if subscription.endpoint.accept == "application/ld+json":
        body["@context"] = context
    elif isinstance(context, str):
        headers["Link"] = f'<{context}>; rel="{CONTEXT_REL}"; type="application/ld+json"'
    if subscription.tenant:
        headers["NGSILD-Tenant"] = subscription.tenant
    headers.update(subscription.endpoint.receiver_info)
    return orjson.dumps(body), headers


def _previous_values(
    rendered: dict[str, Any], changes: Sequence[AttributeChange], subscription: Subscription
) -> None:
    """showChanges: each changed attribute (default instance) carries its previousValue."""
    for change in changes:
        if len(change.old) != 1 or not change.new:
            continue
        old = change.old[0]
        member = VALUE_MEMBER.get(str(old.get("type")))
        shown = rendered.get(subscription.terms.compact(change.name))
        if member is None or not isinstance(shown, dict) or member not in old:
            continue
        shown[
            "previousValue" if member == "value" else f"previous{member[0].upper()}{member[1:]}"
        ] = old[member]
