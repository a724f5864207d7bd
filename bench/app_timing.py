"""Application-side cost of GET and PATCH, without HTTP: the ASGI app called directly.

    .venv/bin/python bench/app_timing.py [--requests 3000] [--runs 7]

Prints the minimum over ``--runs`` of the mean µs per request (the minimum, because this VM's
speed drifts and noise only ever adds time). GET reads 100 entities in turn; PATCH sends a 1 KB
body to them, 50 requests in flight at a time, and includes the writer thread and the commit.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from typing import Any

import orjson

from twin_server.app import TwinApp, create_app
from twin_server.cli import tune_gc
from twin_server.config import Settings

NGSI = "/ngsi-ld/v1"
BODY = orjson.dumps(
    {
        "speed": {
            "type": "Property",
            "value": 1.5,
            "unitCode": "RPM",
            "observedAt": "2026-11-24T10:00:00Z",
        },
        "status": {"type": "Property", "value": "x" * 800},
    }
)


async def call(app: TwinApp, method: str, path: str, body: bytes = b"") -> int:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "client": ("127.0.0.1", 1),
        "server": ("bench", 80),
        "state": {},
        "headers": [(b"host", b"bench"), (b"content-type", b"application/json")],
    }
    await app(scope, receive, send)
    status: int = sent[0]["status"]
    return status


async def measure(requests: int, runs: int) -> None:
    tune_gc()  # as twin-server serve does
    app = create_app(Settings(data_dir=tempfile.mkdtemp()))
    async with app.router.lifespan_context(app):
        for n in range(100):
            entity = {
                "id": f"urn:ngsi-ld:P:{n}",
                "type": "Pump",
                "speed": {"value": 1},
                "status": {"value": "on"},
                "feeds": {"object": "urn:ngsi-ld:T:1"},
            }
            assert await call(app, "POST", f"{NGSI}/entities", orjson.dumps(entity)) == 201

        async def get_all() -> None:
            for i in range(requests):
                await call(app, "GET", f"{NGSI}/entities/urn:ngsi-ld:P:{i % 100}")

        async def patch_all() -> None:
            for start in range(0, requests, 50):
                await asyncio.gather(
                    *(
                        call(app, "PATCH", f"{NGSI}/entities/urn:ngsi-ld:P:{i % 100}/attrs", BODY)
                        for i in range(start, start + 50)
                    )
                )

        for name, run in (
            ("GET /entities/{id}", get_all),
            ("PATCH /entities/{id}/attrs, 50 in flight", patch_all),
        ):
            best = float("inf")
            for _ in range(runs):
                started = time.perf_counter()
                await run()
                best = min(best, (time.perf_counter() - started) / requests * 1e6)
            print(f"{name:42} {best:7.1f} µs per request (min of {runs} runs)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    asyncio.run(measure(args.requests, args.runs))


if __name__ == "__main__":
    main()
