"""GraphQL subscription benchmark (issue 5): many websocket subscribers each watching one
twin, a sustained rate of updates across those twins, update-to-delivery latency.

    .venv/bin/python -m bench.graphql_subscriptions [--subscribers 1000] [--rate 1000]

Starts the twin server (one uvicorn worker, embedded SQLite store, FULL sync) in its own
process. This process opens the websockets (graphql-transport-ws, one subscription
``twinChanged(id: …)`` each) and sends the paced updates (PATCH over keep-alive
connections; each carries its send time, read back from the delivered change). Prints the
achieved rate, deliveries (none may be missing), p50/p99 latency, server memory per subscriber.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time

import httpx
import orjson
import websockets

from bench.loadgen import drain, paced_load, paced_summary, percentiles, speed_update
from bench.ngsild_http import Server

NGSI = "/ngsi-ld/v1"
QUERY = 'subscription { twinChanged(id: "%s") { seq twin { sent: property(name: "sentAt") } } }'


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=1000.0, help="updates per second")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, Server(None, tmp) as server:
        return asyncio.run(run(server, args))


class Deliveries:
    def __init__(self, target: int) -> None:
        self.target = target  # subscribers to open
        self.count = 0
        self.latencies_ms: list[float] = []
        self.measuring = False
        self.live = 0
        self.errors = 0


async def subscriber(address: str, twin: str, out: Deliveries, ready: asyncio.Event) -> None:
    async with websockets.connect(
        f"ws://{address}/graphql", subprotocols=["graphql-transport-ws"], max_queue=None
    ) as ws:
        await ws.send(json.dumps({"type": "connection_init"}))
        await ws.recv()
        payload = {"query": QUERY % twin}
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        out.live += 1
        if out.live == out.target:
            ready.set()
        async for raw in ws:
            now = time.time()
            message = orjson.loads(raw)
            if message.get("type") != "next":
                out.errors += 1
                continue
            out.count += 1
            sent = message["payload"]["data"]["twinChanged"]["twin"]["sent"]
            if out.measuring and isinstance(sent, float):
                out.latencies_ms.append((now - sent) * 1000)


async def run(server: Server, args: argparse.Namespace) -> int:
    n = args.subscribers
    address = server.url.removeprefix("http://")
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
        twins = [
            {
                "id": twin(i),
                "type": "Pump",
                "speed": {"type": "Property", "value": 0},
                "sentAt": {"type": "Property", "value": 0.0},
            }
            for i in range(n)
        ]
        (await client.post(f"{NGSI}/entityOperations/upsert", json=twins)).raise_for_status()
    rss_before = server.rss_mb()
    out = Deliveries(n)
    ready = asyncio.Event()
    tasks = [asyncio.create_task(subscriber(address, twin(i), out, ready)) for i in range(n)]
    await asyncio.wait_for(ready.wait(), 120)
    await asyncio.sleep(2)  # every subscription started on the server
    rss_after = server.rss_mb()

    def request(i: int) -> bytes:
        return speed_update(twin(i % n), i)

    host, port = address.split(":")
    load = {"rate": args.rate, "connections": args.connections, "request": request}
    await paced_load(host, int(port), seconds=3, **load)  # warm-up
    await drain(lambda: out.count)
    out.measuring = True
    before = out.count
    cpu_before = server.cpu_seconds()
    paced = await paced_load(host, int(port), seconds=args.seconds, **load)
    cpu = (server.cpu_seconds() - cpu_before) / paced.seconds
    await drain(lambda: out.count)
    delivered = out.count - before
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    p50, p99 = percentiles(out.latencies_ms)
    print(
        f"{n} websocket subscribers, each on twinChanged of one twin; {args.connections} "
        f"connections for the updates; {args.seconds:g} s measured after a 3 s warm-up"
    )
    print(paced_summary(paced, args.rate))
    missing = paced.sent - delivered
    print(f"delivered: {delivered} of {paced.sent} (missing {missing}); errors {out.errors}")
    print(f"update-to-delivery latency: p50 {p50:.1f} ms  p99 {p99:.1f} ms")
    print(f"server CPU {100 * cpu:.0f}% of a core")
    print(
        f"server RSS {rss_before:.0f} MB -> {rss_after:.0f} MB with the subscribers "
        f"({(rss_after - rss_before) * 1024 / n:.1f} KB per subscriber)"
    )
    return 0 if delivered == paced.sent else 1


def twin(i: int) -> str:
    return f"urn:ngsi-ld:Pump:{i}"


if __name__ == "__main__":
    sys.exit(main())
