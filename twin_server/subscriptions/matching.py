"""Which changes a subscription is notified of: its triggers, watched attributes, entity
selectors and filters (q, geoQ, scopeQ), applied to a change event."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from twin_server.core.events import ChangeEvent, EntityCreated, EntityDeleted
from twin_server.subscriptions.model import Subscription


def fires(subscription: Subscription, event: ChangeEvent) -> bool:
    """Whether ``event`` triggers a notification of ``subscription`` (ignoring timeInterval,
    isActive and expiry, which the notifier decides)."""
    entity: Mapping[str, Any] | None = (
        event.before if isinstance(event, EntityDeleted) else event.after
    )
    if entity is None or not _selected(subscription, entity):
        return False
    return _triggered(subscription, event)


def _selected(subscription: Subscription, entity: Mapping[str, Any]) -> bool:
    as_dict = entity if isinstance(entity, dict) else dict(entity)
    if subscription.selectors and not any(s.matches(as_dict) for s in subscription.selectors):
        return False
    return subscription.filters.matches(as_dict)


def _triggered(subscription: Subscription, event: ChangeEvent) -> bool:
    triggers = subscription.triggers
    watched = subscription.watched
    if isinstance(event, EntityDeleted):
        return "entityDeleted" in triggers
    changes = [c for c in event.changes if watched is None or c.name in watched]
    if isinstance(event, EntityCreated):
        if "entityCreated" in triggers:
            return True
        return "attributeCreated" in triggers and bool(changes)
    if not changes:
        return False
    if "entityUpdated" in triggers:
        return True
    for change in changes:
        if not change.old and change.new and "attributeCreated" in triggers:
            return True
        if change.old and change.new and "attributeUpdated" in triggers:
            return True
        if change.old and not change.new and "attributeDeleted" in triggers:
            return True
    return False


def selected(subscription: Subscription, entity: Mapping[str, Any]) -> bool:
    """Whether an entity is one the subscription is about (for periodic notifications)."""
    return _selected(subscription, entity)
