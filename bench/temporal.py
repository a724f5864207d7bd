"""Temporal API benchmark (issue 4): a store of 10 million history instances, then over HTTP
``lastN=100`` of one attribute and a one-day hourly average over 86,400 points.

    .venv/bin/python bench/temporal.py [--instances 10000000] [--series 1000]

Fills the embedded SQLite store through its history contract (``history_add``, 50,000
instances per transaction), starts the twin server on it (one uvicorn worker) and measures
with an HTTP client on the same machine: p50/p99 of ``lastN=100`` on series all over the store,
and of ``format=aggregatedValues&aggrMethods=avg&aggrPeriodDuration=PT1H`` over one day of a
series holding one instance per second. Prints fill rate, database size and server memory.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.loadgen import percentiles
from bench.ngsild_http import Server
from twin_server.store.sqlite import SqliteStore
from twin_server.temporal.model import HistoryRow, iso, micros

NGSI = "/ngsi-ld/v1"
TYPE = "https://uri.etsi.org/ngsi-ld/default-context/Sensor"
ATTR = "https://uri.etsi.org/ngsi-ld/default-context/temperature"
DAY = 86_400
START = micros("2026-01-01T00:00:00Z")
BATCH = 50_000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--instances", type=int, default=10_000_000)
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        asyncio.run(fill(Path(tmp) / "data" / "twins.db", args.instances, args.series))
        fill_s = time.perf_counter() - started
        size = sum(f.stat().st_size for f in (Path(tmp) / "data").glob("twins.db*")) / 2**30
        print(
            f"filled {args.instances:,} instances in {args.series} series: {fill_s:.0f} s "
            f"({args.instances / fill_s:,.0f}/s), database {size:.2f} GiB"
        )
        with Server(None, tmp) as server:
            measure(server, args)
    return 0


async def fill(path: Path, instances: int, series: int) -> None:
    """Sensor:0 gets one instance a second for a day; the rest is spread over the others."""
    store = SqliteStore(f"sqlite:///{path}", synchronous="NORMAL")
    await store.open()
    per_other = (instances - DAY) // max(series - 1, 1)
    plan = [(0, DAY, 1_000_000)] + [(n, per_other, 60_000_000) for n in range(1, series)]
    created = micros("2026-06-01T00:00:00Z")
    for n, count, step in plan:
        entity = f"urn:ngsi-ld:Sensor:{n}"
        for first in range(0, count, BATCH):
            rows = []
            for k in range(first, min(first + BATCH, count)):
                observed = START + k * step
                instance = {
                    "type": "Property",
                    "value": 20.0 + (k % 600) / 100,
                    "observedAt": iso(observed),
                    "createdAt": "2026-06-01T00:00:00.000000Z",
                    "modifiedAt": "2026-06-01T00:00:00.000000Z",
                }
                rows.append(HistoryRow(entity, ATTR, instance, observed, created))
            await store.history_add("", entity, [TYPE], rows)
    await store.close()


def measure(server: Server, args: argparse.Namespace) -> None:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        last_n = []
        for i in range(args.queries):
            entity = f"urn:ngsi-ld:Sensor:{1 + (i * 7919) % (args.series - 1)}"
            begun = time.perf_counter()
            r = client.get(f"{NGSI}/temporal/entities/{entity}", params={"lastN": "100"})
            last_n.append((time.perf_counter() - begun) * 1000)
            if r.status_code != 200 or len(r.json()["temperature"]) != 100:
                raise RuntimeError(f"lastN failed: {r.status_code} {r.text[:200]}")
        hourly = []
        params = {
            "format": "aggregatedValues",
            "aggrMethods": "avg",
            "aggrPeriodDuration": "PT1H",
            "timerel": "between",
            "timeAt": iso(START),
            "endTimeAt": iso(START + DAY * 1_000_000),
        }
        for _ in range(max(args.queries // 10, 10)):
            begun = time.perf_counter()
            r = client.get(f"{NGSI}/temporal/entities/urn:ngsi-ld:Sensor:0", params=params)
            hourly.append((time.perf_counter() - begun) * 1000)
            if r.status_code != 200 or len(r.json()["temperature"]["avg"]) != 24:
                raise RuntimeError(f"aggregation failed: {r.status_code} {r.text[:200]}")
    p50, p99 = percentiles(last_n[5:])
    print(f"lastN=100 of one attribute: p50 {p50:.1f} ms  p99 {p99:.1f} ms (goal p50 < 10 ms)")
    p50, p99 = percentiles(hourly[2:])
    print(
        f"one-day hourly average over {DAY:,} points: p50 {p50:.1f} ms  p99 {p99:.1f} ms "
        "(goal < 200 ms)"
    )
    print(f"server RSS {server.rss_mb():.0f} MB")


if __name__ == "__main__":
    sys.exit(main())
