"""The subscriptions service: the one writer of NGSI-LD subscriptions (create, update,
delete), kept in the store and in the notifier together."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from twin_server.core.timeutil import now_iso
from twin_server.errors import AlreadyExists, BadRequestData, NotFound
from twin_server.jsonld.resolver import ContextResolver
from twin_server.jsonld.termmap import TermMap
from twin_server.store.base import Store
from twin_server.subscriptions.model import Subscription
from twin_server.subscriptions.notifier import Notifier
from twin_server.subscriptions.parse import parse_subscription
from twin_server.subscriptions.records import load, record


class SubscriptionService:
    def __init__(self, store: Store, notifier: Notifier, resolver: ContextResolver) -> None:
        self.store = store
        self.notifier = notifier
        self.resolver = resolver

    async def start(self) -> None:
        loaded = []
        for tenant, _, stored in await self.store.list_subscriptions():
            subscription = await load(tenant, stored, self.resolver)
            if subscription is not None:
                loaded.append(subscription)
        await self.notifier.start(loaded)

    async def stop(self) -> None:
        await self.notifier.stop()

    async def create(self, subscription: Subscription) -> None:
        key = (subscription.tenant, subscription.id)
        if key in self.notifier.subscriptions:
            raise AlreadyExists(f"subscription {subscription.id} already exists")
        subscription.cursor = await self.store.last_seq()  # from now on, not the past
        await self.store.put_subscription(
            subscription.tenant, subscription.id, record(subscription)
        )
        self.notifier.add(subscription)

    def get(self, tenant: str, subscription_id: str) -> Subscription:
        found = self.notifier.subscriptions.get((tenant, subscription_id))
        if found is None:
            raise NotFound(f"subscription {subscription_id} does not exist")
        return found

    def listing(self, tenant: str) -> list[Subscription]:
        return [s for (t, _), s in self.notifier.subscriptions.items() if t == tenant]

    async def update(
        self, tenant: str, subscription_id: str, fragment: Any, terms: TermMap, context: Any
    ) -> None:
        current = self.get(tenant, subscription_id)
        if not isinstance(fragment, dict) or not fragment:
            raise BadRequestData("a subscription update is a non-empty JSON object")
        if fragment.get("id", subscription_id) != subscription_id:
            raise BadRequestData("the id of a subscription cannot change")
        merged = dict(current.document)
        for member, value in fragment.items():
            if member == "notification" and isinstance(value, dict):
                merged["notification"] = {**merged.get("notification", {}), **value}
            elif member != "@context":
                merged[member] = value
        merged["type"] = "Subscription"
        updated = parse_subscription(
            merged,
            terms if context is not None else current.terms,
            tenant=tenant,
            context=context if context is not None else current.context,
            creating="expiresAt" in fragment,
        )
        updated.created_at = current.created_at
        updated.modified_at = now_iso()
        updated.stats = current.stats
        updated.cursor = current.cursor
        await self.store.put_subscription(tenant, subscription_id, record(updated))
        await self.notifier.replace(updated)

    async def delete(self, tenant: str, subscription_id: str) -> None:
        self.get(tenant, subscription_id)
        await self.store.delete_subscription(tenant, subscription_id)
        await self.notifier.remove((tenant, subscription_id))


def render(subscription: Subscription, *, sys_attrs: bool = False) -> dict[str, Any]:
    """The subscription as GET shows it: its members as given, with status and statistics."""
    out = {k: v for k, v in subscription.document.items()}
    stats = subscription.stats
    notification = dict(out.get("notification", {}))
    notification["status"] = stats.status
    notification["timesSent"] = stats.times_sent
    notification["timesFailed"] = stats.times_failed
    for member, value in (
        ("lastNotification", stats.last_notification),
        ("lastSuccess", stats.last_success),
        ("lastFailure", stats.last_failure),
    ):
        if value is not None:
            notification[member] = value
    out["notification"] = notification
    out["isActive"] = subscription.active
    out["status"] = subscription.status(datetime.now(UTC))
    if sys_attrs:
        out["createdAt"] = subscription.created_at
        out["modifiedAt"] = subscription.modified_at
    return out
