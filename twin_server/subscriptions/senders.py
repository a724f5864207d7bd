"""Sending a notification to its endpoint: the sender contract, and the sender for each URI
scheme (HTTP in ``http.py``, MQTT in ``mqtt.py``)."""

from __future__ import annotations

from typing import Protocol

from twin_server.subscriptions.model import Endpoint


class DeliveryError(Exception):
    """The receiver did not take the notification (the reason is for lastFailure)."""


class Sender(Protocol):
    async def send(self, endpoint: Endpoint, body: bytes, headers: dict[str, str]) -> None:
        """Deliver or raise ``DeliveryError``."""


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
