"""NGSI-LD notification benchmark (issue 4): many subscriptions on one type, a sustained rate of
entity updates, update-to-notification latency at a local HTTP receiver.

    .venv/bin/python bench/notifications.py [--subscriptions 1000] [--rate 1000] [--seconds 20]

Starts the twin server (one uvicorn worker, embedded SQLite store, FULL sync) in its own
process. This process runs the paced load (PATCH /entities/{id}/attrs over keep-alive
connections) and the receiver. Each of the N subscriptions selects type Pump and one of N pump
entities; updates go round-robin over the pumps, so each update concerns one subscription and
the notifier must find it among N. Prints the achieved update rate, notifications received
(none may be missing), p50/p99 latency from the PATCH leaving to the notification arriving,
and the server's memory per subscription.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time

import httpx

from bench.loadgen import Receiver, drain, paced_load, paced_summary, percentiles, speed_update
from bench.ngsild_http import Server

NGSI = "/ngsi-ld/v1"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subscriptions", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=1000.0, help="updates per second")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--static",
        action="store_true",
        help="updates without observedAt (static properties: mirrored into the semantic graph)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, Server(None, tmp) as server:
        return asyncio.run(run(server, args))


async def run(server: Server, args: argparse.Namespace) -> int:
    receiver = Receiver()
    listener = await asyncio.start_server(receiver.handle, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    n = args.subscriptions
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
        pumps = [
            {
                "id": pump(i),
                "type": "Pump",
                "speed": {"type": "Property", "value": 0},
                "sentAt": {"type": "Property", "value": 0},
            }
            for i in range(n)
        ]
        (await client.post(f"{NGSI}/entityOperations/upsert", json=pumps)).raise_for_status()
        rss_before = server.rss_mb()
        for i in range(n):
            body = {
                "type": "Subscription",
                "entities": [{"id": pump(i), "type": "Pump"}],
                "notification": {"endpoint": {"uri": f"http://127.0.0.1:{port}/notify"}},
            }
            (await client.post(f"{NGSI}/subscriptions", json=body)).raise_for_status()
        rss_after = server.rss_mb()

    def request(i: int) -> bytes:
        return speed_update(pump(i % n), i, observed=not args.static)

    host, port_s = server.url.removeprefix("http://").split(":")
    load = {"rate": args.rate, "connections": args.connections, "request": request}
    await paced_load(host, int(port_s), seconds=3, **load)  # warm-up
    await drain(lambda: receiver.entities)
    receiver.measuring = True
    entities_before = receiver.entities
    cpu_before, own_before = server.cpu_seconds(), time.process_time()
    paced = await paced_load(host, int(port_s), seconds=args.seconds, **load)
    server_cpu = (server.cpu_seconds() - cpu_before) / paced.seconds
    own_cpu = (time.process_time() - own_before) / paced.seconds
    await drain(lambda: receiver.entities)
    receiver.measuring = False
    notified = receiver.entities - entities_before
    p50, p99 = percentiles(receiver.latencies_ms)
    listener.close()
    await listener.wait_closed()
    kind = "static properties, no observedAt" if args.static else "measurements with observedAt"
    print(
        f"{n} subscriptions on type Pump (one pump each), {args.connections} connections, "
        f"{args.seconds:g} s measured after a 3 s warm-up; updates: {kind}"
    )
    print(paced_summary(paced, args.rate))
    missing = paced.sent - notified
    print(f"notified entities: {notified} of {paced.sent} updates (missing {missing})")
    print(f"update-to-notification latency: p50 {p50:.1f} ms  p99 {p99:.1f} ms")
    w50, w99 = percentiles(paced.latencies_ms)
    print(f"  of which the PATCH itself (request to answer): p50 {w50:.1f} ms  p99 {w99:.1f} ms")
    print(
        f"CPU: server {100 * server_cpu:.0f}% of a core, load generator + receiver "
        f"{100 * own_cpu:.0f}%"
    )
    print(
        f"server RSS {rss_before:.0f} MB -> {rss_after:.0f} MB with the subscriptions "
        f"({(rss_after - rss_before) * 1024 / n:.1f} KB per subscription)"
    )
    return 0 if notified == paced.sent else 1


def pump(i: int) -> str:
    return f"urn:ngsi-ld:Pump:{i}"


if __name__ == "__main__":
    sys.exit(main())
