"""The SQLite writer alone: device updates per second through the store, with the event loop
idle and with another thread running Python (as the event loop does under load).

    .venv/bin/python -m bench.store_writer [--seconds 5] [--twins 1000] [--job 200] [--in-flight 4]

Each job is ``--job`` updates of one property with ``observedAt`` (a change log row, an entity
document and a history row each); ``--in-flight`` writers each send their next job once the last
is answered. The busy figure shows how much the writer loses waiting for the GIL between
statements.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import threading
import time

from twin_server.core import operations
from twin_server.store.sqlite import SqliteStore

T = "https://example.org/"


async def run(args: argparse.Namespace, busy: bool) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteStore(f"sqlite:///{tmp}/t.db")
        await store.open()
        ids = [f"urn:ngsi-ld:Pump:{n}" for n in range(args.twins)]
        for start in range(0, args.twins, 500):
            await store.apply("", [(i, operations.create(_pump(i))) for i in ids[start:][:500]])
        stop = threading.Event()
        spinner = threading.Thread(target=_spin, args=(stop,), daemon=True)
        if busy:
            spinner.start()
        sent, started = 0, time.perf_counter()

        def job() -> list[tuple[str, operations.Operation]]:
            nonlocal sent
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
            ops = []
            for k in range(args.job):
                twin = ids[(sent + k) % args.twins]
                value = {"type": "Property", "value": float(sent + k)}
                value["observedAt"] = f"{stamp}.{k:06d}Z"
                update = operations.append(twin, {T + "speed": [value]}, no_overwrite=False)
                ops.append((twin, update))
            sent += args.job
            return ops

        async def client() -> None:  # one of the writers in flight: the next job once answered
            while time.perf_counter() - started < args.seconds:
                await store.apply("", job())

        await asyncio.gather(*(client() for _ in range(args.in_flight)))
        elapsed = time.perf_counter() - started
        stop.set()
        await store.close()
        return sent / elapsed


def _pump(twin: str) -> dict[str, object]:
    return {
        "id": twin,
        "type": [T + "Pump"],
        "attrs": {
            T + "speed": [{"type": "Property", "value": 0.0}],
            T + "note": [{"type": "Property", "value": "x" * 500}],
        },
    }


def _spin(stop: threading.Event) -> None:
    total = 0
    while not stop.is_set():
        total += sum(range(50))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--twins", type=int, default=1000)
    parser.add_argument("--job", type=int, default=200)
    parser.add_argument("--in-flight", type=int, default=4, help="jobs in flight")
    args = parser.parse_args()
    idle = asyncio.run(run(args, busy=False))
    busy = asyncio.run(run(args, busy=True))
    print(
        f"store writer, {args.job} updates per job, {args.in_flight} jobs in flight, "
        f"{args.twins} twins:"
    )
    print(f"  loop idle:                {idle:9,.0f} updates/s")
    print(f"  another thread on Python: {busy:9,.0f} updates/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
