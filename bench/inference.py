"""Inference benchmark (issue 7): twins updating once a second each, scored by the pump
anomaly model, change-to-prediction-committed latency.

    .venv/bin/python -m bench.inference [--twins 5000] [--seconds 20] [--factor 1]

Starts the twin server in its own process with the example models and a hook of
``inference/pump-anomaly`` on every pump. This process updates every twin once a second
(``--factor`` times the streams: each twin ``factor`` times a second), spread evenly over the
second in batch updates of 250 twins, sent on schedule whatever is still unanswered (open loop,
up to ``IN_FLIGHT``); every reading carries its ``observedAt``, as a device's (and as the
adapters write them). The server's hook figures give the latency from the change event to the
committed prediction (p50, p99), the mean batch size and the twins scored; the batch updates'
answer times and the twins scored per second show whether the load was carried.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.ngsild_http import Server
from twin_server.simulation.pumps import Pump

ROOT = Path(__file__).resolve().parents[1]
PUMP = "dtmi:twinserver:example:Pump;1"
BATCH = 250
IN_FLIGHT = 8
"""Batch updates outstanding at most: beyond that the server is not keeping up."""


def link(url: str) -> dict[str, str]:
    context = f"{url}/ngsi-ld/v1/jsonldContexts/{PUMP}"
    return {"Link": f'<{context}>; rel="http://www.w3.org/ns/json-ld#context"'}


def pump_state(n: int, rng: random.Random, stamp: str) -> dict[str, object]:
    faulty = n % 50 == 0
    reading = Pump(fault="bearing" if faulty else None, level=0.7 if faulty else 0.0).read(rng)
    return {
        "id": f"urn:ngsi-ld:Pump:b{n}",
        "type": "Pump",
        "flowRate": {"type": "Property", "value": reading["flowRate"], "observedAt": stamp},
        "outletPressure": {
            "type": "Property",
            "value": reading["outletPressure"],
            "observedAt": stamp,
        },
        "speed": {"type": "Property", "value": reading["speed"], "observedAt": stamp},
        "motor": {
            "type": "Property",
            "value": {k: reading[k] for k in ("temperature", "current", "vibration")},
            "observedAt": stamp,
        },
    }


async def _offer(
    url: str,
    headers: dict[str, str],
    twins: int,
    rate: float,
    seconds: float,
    rng: random.Random,
) -> tuple[int, int, float]:
    """Send batch updates on a fixed schedule for ``seconds`` (open loop: twins do not wait for
    each other's answers, so a batch goes out on time whatever the server is still doing, up
    to ``IN_FLIGHT`` at once). Returns (updates sent, batches sent late, elapsed seconds)."""
    interval = BATCH / rate
    slots = asyncio.Semaphore(IN_FLIGHT)
    failures: list[str] = []
    answers: list[float] = []
    sent, late = 0, 0

    async def send(client: httpx.AsyncClient, batch: list[dict[str, object]]) -> None:
        began = time.perf_counter()
        try:
            response = await client.post(
                "/ngsi-ld/v1/entityOperations/update", json=batch, headers=headers
            )
            if response.status_code not in (204, 207):
                failures.append(f"{response.status_code} {response.text[:300]}")
            answers.append(time.perf_counter() - began)
        finally:
            slots.release()

    async with httpx.AsyncClient(base_url=url, timeout=60) as client, asyncio.TaskGroup() as tg:
        started = time.perf_counter()
        next_at = started
        while time.perf_counter() - started < seconds and not failures:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            first = sent % twins
            batch = [pump_state((first + i) % twins, rng, stamp) for i in range(BATCH)]
            await slots.acquire()
            tg.create_task(send(client, batch))
            sent += BATCH
            next_at += interval
            pause = next_at - time.perf_counter()
            if pause > 0:
                await asyncio.sleep(pause)
            else:
                late += 1
        elapsed = time.perf_counter() - started
    if failures:
        raise SystemExit(f"update failed: {failures[0]}")
    answers.sort()
    print(
        f"batch update answered (committed): p50 {answers[len(answers) // 2] * 1000:.1f} ms, "
        f"p99 {answers[int(len(answers) * 0.99)] * 1000:.1f} ms"
    )
    return sent, late, elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--twins", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--factor", type=float, default=1.0, help="updates per twin per second")
    args = parser.parse_args()
    rng = random.Random(3)
    with tempfile.TemporaryDirectory() as tmp, Server(None, tmp) as server:
        client = httpx.Client(base_url=server.url, timeout=60)
        files = sorted((ROOT / "dtdl/dtmi/twinserver/example").glob("*.json"))
        client.post("/models", json=[json.loads(f.read_text()) for f in files]).raise_for_status()
        hook = {
            "id": "pumps",
            "model": "pump-anomaly",
            "type": "Pump",
            "watch": ["flowRate"],
            "features": {
                "temperature": "motor/temperature",
                "current": "motor/current",
                "vibration": "motor/vibration",
            },
        }
        client.post("/inference/hooks", json=hook).raise_for_status()
        headers = link(server.url)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        for start in range(0, args.twins, 1000):
            batch = [pump_state(n, rng, stamp) for n in range(start, min(start + 1000, args.twins))]
            client.post("/ngsi-ld/v1/entityOperations/upsert", json=batch, headers=headers)
        time.sleep(2.0)
        before = client.get("/inference/hooks").json()[0]["stats"]["scored"]
        rate = args.twins * args.factor  # updates per second
        cpu = server.cpu_seconds()
        sent, late, elapsed = asyncio.run(
            _offer(server.url, headers, args.twins, rate, args.seconds, rng)
        )
        time.sleep(2.0)
        cpu = server.cpu_seconds() - cpu
        stats = client.get("/inference/hooks").json()[0]["stats"]
        scored = stats["scored"] - before
        print(
            f"{args.twins} twins x {args.factor:g}/s: offered {rate:,.0f} updates/s, sent "
            f"{sent / elapsed:,.0f}/s ({late} late batches); scored {scored:,} "
            f"({scored / elapsed:,.0f}/s, mean batch {stats['meanBatch']}), errors "
            f"{stats['errors']}, dropped {stats['dropped']}, incomplete {stats['incomplete']}"
        )
        print(
            f"change to prediction committed: p50 {stats['latencyP50Ms']} ms, "
            f"p99 {stats['latencyP99Ms']} ms (goal: p99 < 200 ms)"
        )
        print(
            f"server CPU {cpu / elapsed:.2f} cores, {cpu / sent * 1e6:.0f} us per twin update "
            "and its prediction"
        )
        print(f"server RSS {server.rss_mb():.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
