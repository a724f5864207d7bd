"""Subscriptions survive a restart, and a restart in the middle of a stream of notifications
neither loses nor repeats one: the notifier resumes from its cursor on the change log."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.subscriptions.receiver import running_receiver
from tests.subscriptions.test_subscriptions import LD, NGSI, pump, set_speed, subscription
from twin_server.app import create_app
from twin_server.config import Settings

pytestmark = pytest.mark.anyio
UPDATES = 30


async def test_a_restart_mid_stream_loses_and_repeats_nothing(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    async with running_receiver() as receiver:
        # Each notification takes 0.3 s to be answered, and the server stops as soon as the
        # writes are done: the one on its way is let arrive, the rest is still pending. (The
        # stop used to wait for a first arrival; by then, on a fast run, every change could
        # be on its way in the second notification, and on a slow one in the last.)
        receiver.delay = 0.3
        first = create_app(settings)
        async with first.router.lifespan_context(first):
            transport = httpx.ASGITransport(app=first)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                created = await client.post(
                    f"{NGSI}/subscriptions", json=subscription(receiver), headers=LD
                )
                assert created.status_code == 201
                await client.post(f"{NGSI}/entities", json=pump(1, speed=0), headers=LD)
                for speed in range(1, UPDATES + 1):
                    await set_speed(client, 1, speed)
        before_restart = len(receiver.entities())
        assert 1 <= before_restart < UPDATES + 1, "the stream should be going at the stop"
        receiver.delay = 0
        second = create_app(settings)
        async with second.router.lifespan_context(second):
            transport = httpx.ASGITransport(app=second)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                listed = (await client.get(f"{NGSI}/subscriptions")).json()
                assert len(listed) == 1
                while len(receiver.entities()) < UPDATES + 1:
                    await receiver.wait_for(len(receiver.received) + 1)
                notes = await asyncio.wait_for(counted(client, len(receiver.received)), 5)
        entities = receiver.entities()
        assert len(entities) == UPDATES + 1  # one per change: none lost, none twice
        assert entities[-1]["speed"]["value"] == UPDATES
        assert notes["timesSent"] == len(receiver.received)


async def counted(client: httpx.AsyncClient, sent: int) -> dict[str, Any]:
    """The subscription's statistics once they count ``sent`` notifications (they follow each
    receiver's answer)."""
    while True:
        notes: dict[str, Any] = (await client.get(f"{NGSI}/subscriptions")).json()[0][
            "notification"
        ]
        if notes["timesSent"] >= sent:
            return notes
        await asyncio.sleep(0.01)
