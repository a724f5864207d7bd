"""Sending a notification to its endpoint: HTTP(S) POST (MQTT comes in its own module)."""

from __future__ import annotations

from typing import Protocol

import httpx

from twin_server.subscriptions.model import Endpoint


class DeliveryError(Exception):
    """The receiver did not take the notification (the reason is for lastFailure)."""


class Sender(Protocol):
    async def send(self, endpoint: Endpoint, body: bytes, headers: dict[str, str]) -> None:
        """Deliver or raise ``DeliveryError``."""


class HttpSender:
    def __init__(self, client: httpx.AsyncClient, *, timeout: float) -> None:
        self.client = client
        self.timeout = timeout

    async def send(self, endpoint: Endpoint, body: bytes, headers: dict[str, str]) -> None:
        try:
            response = await self.client.post(
                endpoint.uri,
                content=body,
                headers=headers,
                timeout=endpoint.timeout or self.timeout,
            )
        except httpx.HTTPError as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code >= 300:
            raise DeliveryError(f"the receiver answered {response.status_code}")


class Senders:
    """The sender for each endpoint scheme."""

    def __init__(self, by_scheme: dict[str, Sender]) -> None:
        self.by_scheme = by_scheme

    async def send(self, endpoint: Endpoint, body: bytes, headers: dict[str, str]) -> None:
        scheme = endpoint.uri.split(":", 1)[0]
        sender = self.by_scheme.get(scheme)
        if sender is None:
            raise DeliveryError(f"no sender for {scheme}:// endpoints")
        await sender.send(endpoint, body, headers)
