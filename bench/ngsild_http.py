"""NGSI-LD API benchmark: the figures issue 2 asks for, measured in one run on this machine.

    .venv/bin/python bench/ngsild_http.py [--seconds 10] [--entities 100000] [--repeat 5]

Needs wrk (Debian package ``wrk``). Starts a bare ASGI no-op app and the twin server (one
uvicorn worker each, uvloop + httptools, embedded SQLite store with FULL sync), loads them in
turn, round after round, and prints: no-op throughput; attribute-update (PATCH
/entities/{id}/attrs, 1 KB body, 50 connections) and retrieve-by-id throughput with latency
percentiles and their share of the no-op; batch upsert of N entities (1,000 per request);
query by type with a q filter over N entities (100 results, p50/p99);
server memory per 100,000 entities.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
NGSI = "/ngsi-ld/v1"
HOT_ENTITIES = 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--entities", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5, help="rounds of no-op/PATCH/GET runs")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install wrk", file=sys.stderr)
        return 2
    body = _one_kb_body()
    with tempfile.TemporaryDirectory() as tmp:
        lua = Path(tmp) / "patch.lua"
        lua.write_text(_patch_script(body))
        get_lua = Path(tmp) / "get.lua"
        get_lua.write_text(_get_script())

        with Server(["bench.noop_app:app"], tmp) as noop, Server(None, tmp) as server:
            _seed_hot(server.url)
            rounds = [
                (
                    wrk(noop.url + "/x", args, lua),
                    wrk(server.url, args, lua),
                    wrk(server.url, args, get_lua),
                )
                for _ in range(args.repeat)
            ]
            rss_before = server.rss_mb()
            upsert_s = _batch_upsert(server.url, args.entities)
            rss_after = server.rss_mb()
            p50, p99 = _query(server.url)
            db = sum(f.stat().st_size for f in Path(tmp, "data").glob("twins.db*")) / 2**20

    print(
        f"{args.repeat} rounds, each: no-op, PATCH, GET ({args.seconds} s, "
        f"{args.connections} connections, 1 KB PATCH body); this VM's speed drifts, so each "
        "ratio is taken within its round and the median round is shown"
    )
    for name, index in (
        ("no-op ASGI app (PATCH)", 0),
        ("PATCH /entities/{id}/attrs", 1),
        ("GET /entities/{id}", 2),
    ):
        runs = [(r[index], r[index]["rps"] / r[0]["rps"]) for r in rounds]
        runs.sort(key=lambda x: x[1] if index else x[0]["rps"])
        run, ratio = runs[len(runs) // 2]
        share = f"  ({100 * ratio:.0f}% of the no-op in its round)" if index else ""
        all_ratios = ", ".join(f"{100 * x[1]:.0f}%" for x in runs) if index else ""
        print(
            f"{name:30} {run['rps']:8.0f} req/s  p50 {run['p50']:.1f} ms  "
            f"p99 {run['p99']:.1f} ms  errors {run['errors']:.0f}{share}"
            + (f"  [all rounds: {all_ratios}]" if index else "")
        )
    print(
        f"batch upsert {args.entities} entities (1,000/request): {upsert_s:.1f} s "
        f"({args.entities / upsert_s:.0f} entities/s)"
    )
    print(
        f"query type+q over {args.entities} entities, 100 results: p50 {p50:.1f} ms  "
        f"p99 {p99:.1f} ms"
    )
    per_100k = (rss_after - rss_before) * 100_000 / args.entities
    print(
        f"server RSS: {rss_before:.0f} MB -> {rss_after:.0f} MB "
        f"(+{per_100k:.0f} MB per 100,000 entities); SQLite files {db:.0f} MB"
    )
    return 0


class Server:
    """One uvicorn process (the twin server when ``app`` is None), stopped on exit."""

    def __init__(self, app: list[str] | None, tmp: str) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "TWIN_PORT": str(self.port),
            "TWIN_DATA_DIR": f"{tmp}/data",
            "TWIN_LOG_LEVEL": "warning",
            "PYTHONPATH": str(ROOT),
        }
        if app is None:
            command = [sys.executable, "-m", "twin_server", "serve"]
        else:
            command = [
                sys.executable,
                "-m",
                "uvicorn",
                *app,
                "--port",
                str(self.port),
                "--loop",
                "uvloop",
                "--http",
                "httptools",
                "--no-access-log",
                "--log-level",
                "warning",
            ]
        self.process = subprocess.Popen(command, env=env, cwd=ROOT)

    def __enter__(self) -> Server:
        for _ in range(200):
            try:
                httpx.get(self.url + "/health", timeout=0.5)
                return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("server did not start")

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)

    def cpu_seconds(self) -> float:
        """User + system CPU time the server process has used so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mb(self) -> float:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        match = re.search(r"VmRSS:\s+(\d+) kB", status)
        return int(match.group(1)) / 1024 if match else 0.0


def wrk(url: str, args: argparse.Namespace, script: Path) -> dict[str, float]:
    """One wrk run: throughput, p50 / p99 latency (ms) and non-2xx responses."""
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{args.connections}",
            f"-d{args.seconds}s",
            "--latency",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": rps,
        "p50": _latency(out, "50%"),
        "p99": _latency(out, "99%"),
        "errors": float(errors.group(1)) if errors else 0.0,
    }


def _latency(out: str, label: str) -> float:
    match = re.search(rf"{label}\s+([\d.]+)(us|ms|s)", out)
    if not match:
        return float("nan")
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def _one_kb_body() -> str:
    body = {
        "speed": {
            "type": "Property",
            "value": 1450.5,
            "unitCode": "RPM",
            "observedAt": "2026-11-24T10:00:00Z",
        },
        "status": {"type": "Property", "value": "running"},
        "note": {"type": "Property", "value": ""},
    }
    pad = 1024 - len(json.dumps(body, separators=(",", ":")))
    body["note"]["value"] = "x" * max(pad, 0)
    return json.dumps(body, separators=(",", ":"))


def _patch_script(body: str) -> str:
    return f"""
counter = 0
wrk.method = "PATCH"
wrk.body = {json.dumps(body)}
wrk.headers["Content-Type"] = "application/json"
request = function()
  counter = counter + 1
  local path = "{NGSI}/entities/urn:ngsi-ld:Pump:" .. (counter % {HOT_ENTITIES}) .. "/attrs"
  return wrk.format(nil, path)
end
"""


def _get_script() -> str:
    return f"""
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", "{NGSI}/entities/urn:ngsi-ld:Pump:" .. (counter % {HOT_ENTITIES}))
end
"""


def _seed_hot(url: str) -> None:
    entities = [
        {
            "id": f"urn:ngsi-ld:Pump:{n}",
            "type": "Pump",
            "speed": {"type": "Property", "value": n},
            "status": {"type": "Property", "value": "idle"},
            "note": {"type": "Property", "value": ""},
        }
        for n in range(HOT_ENTITIES)
    ]
    r = httpx.post(url + NGSI + "/entityOperations/upsert", json=entities, timeout=60)
    r.raise_for_status()


def _batch_upsert(url: str, total: int) -> float:
    started = time.perf_counter()
    with httpx.Client(base_url=url, timeout=120) as client:
        for start in range(0, total, 1000):
            batch = [
                {
                    "id": f"urn:ngsi-ld:Sensor:{n}",
                    "type": "Sensor",
                    "temperature": {"type": "Property", "value": n % 500, "unitCode": "CEL"},
                    "zone": {"type": "Relationship", "object": f"urn:ngsi-ld:Zone:{n % 100}"},
                }
                for n in range(start, min(start + 1000, total))
            ]
            r = client.post(NGSI + "/entityOperations/upsert", json=batch)
            r.raise_for_status()
    return time.perf_counter() - started


def _query(url: str) -> tuple[float, float]:
    times = []
    with httpx.Client(base_url=url, timeout=60) as client:
        for i in range(60):
            started = time.perf_counter()
            r = client.get(
                NGSI + "/entities",
                params={"type": "Sensor", "q": f"temperature>={(i * 7) % 400}", "limit": "100"},
            )
            times.append((time.perf_counter() - started) * 1000)
            if r.status_code != 200 or len(r.json()) != 100:
                raise RuntimeError(f"query failed: {r.status_code} {r.text[:200]}")
    times = times[5:]
    return statistics.median(times), sorted(times)[int(len(times) * 0.99) - 1]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


if __name__ == "__main__":
    raise SystemExit(main())
