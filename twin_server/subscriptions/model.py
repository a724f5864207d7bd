"""A subscription as the notifier uses it: selectors and filters in expanded form, the
notification parameters, and its delivery statistics."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from twin_server.core.query import EntityQuery
from twin_server.jsonld.termmap import TermMap

TRIGGERS = frozenset(
    {
        "entityCreated",
        "entityUpdated",
        "entityDeleted",
        "attributeCreated",
        "attributeUpdated",
        "attributeDeleted",
    }
)
DEFAULT_TRIGGERS = frozenset({"attributeCreated", "attributeUpdated"})
FORMATS = ("normalized", "keyValues", "concise", "simplified")


@dataclass(frozen=True, slots=True)
class Endpoint:
    uri: str
    accept: str = "application/json"
    receiver_info: tuple[tuple[str, str], ...] = ()
    notifier_info: tuple[tuple[str, str], ...] = ()
    timeout: float | None = None  # seconds to wait for the receiver


@dataclass(slots=True)
class Stats:
    """Delivery statistics, shown in the subscription's ``notification`` member."""

    times_sent: int = 0
    times_failed: int = 0
    last_notification: str | None = None
    last_success: str | None = None
    last_failure: str | None = None
    last_error: str | None = None

    @property
    def status(self) -> str:
        if self.last_failure and (not self.last_success or self.last_failure > self.last_success):
            return "failed"
        return "ok"

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


@dataclass(slots=True)
class Subscription:
    id: str
    tenant: str
    terms: TermMap  # the subscriber's @context, to compact notifications and GET answers
    context: Any  # that @context as given (URL, list or object), None for the core one
    selectors: tuple[EntityQuery, ...]  # from ``entities``: any may match (none: any entity)
    filters: EntityQuery  # q, geoQ, scopeQ: all must match
    watched: frozenset[str] | None
    triggers: frozenset[str]
    time_interval: float | None
    throttling: float | None
    expires_at: datetime | None
    active: bool
    notify_attrs: frozenset[str] | None
    format: str
    sys_attrs: bool
    show_changes: bool
    lang: str | None
    endpoint: Endpoint
    document: dict[str, Any]  # the members as given, for GET (compacted again on the way out)
    created_at: str
    modified_at: str
    stats: Stats = field(default_factory=Stats)
    cursor: int = 0  # the last change-log seq this subscription has been notified of

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now

    def status(self, now: datetime) -> str:
        if self.expired(now):
            return "expired"
        return "active" if self.active else "paused"
