"""A subscription as stored: its members as given, its @context, times, statistics and
cursor. Loading parses the members again, so stored and new subscriptions follow one path."""

from __future__ import annotations

import logging
from typing import Any

from twin_server.errors import TwinError
from twin_server.jsonld.resolver import ContextResolver
from twin_server.subscriptions.model import Stats, Subscription
from twin_server.subscriptions.parse import parse_subscription

log = logging.getLogger(__name__)


def record(subscription: Subscription) -> dict[str, Any]:
    return {
        "document": subscription.document,
        "context": subscription.context,
        "createdAt": subscription.created_at,
        "modifiedAt": subscription.modified_at,
        "stats": subscription.stats.to_json(),
        "cursor": subscription.cursor,
    }


async def load(
    tenant: str, stored: dict[str, Any], resolver: ContextResolver
) -> Subscription | None:
    """The subscription of a stored record (None, logged, if it cannot be read any more)."""
    context = stored.get("context")
    try:
        terms = await resolver.term_map(context)
    except TwinError as exc:
        log.error(
            "subscription %s: its @context is unavailable (%s); using the core context",
            stored.get("document", {}).get("id"),
            exc.detail,
        )
        terms = await resolver.term_map(None)
    try:
        subscription = parse_subscription(
            stored["document"], terms, tenant=tenant, context=context, creating=False
        )
    except (TwinError, KeyError) as exc:
        log.error("a stored subscription cannot be read any more: %s", exc)
        return None
    subscription.created_at = stored.get("createdAt", subscription.created_at)
    subscription.modified_at = stored.get("modifiedAt", subscription.modified_at)
    subscription.stats = Stats(**stored.get("stats", {}))
    subscription.cursor = int(stored.get("cursor", 0))
    return subscription
