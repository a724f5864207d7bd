"""``twin-server demo``: the server on its embedded default (a fresh data folder), a simulated
pump station (OPC UA, in this process), motor sensors (MQTT where a broker answers), the
example DTDL models, the pump-anomaly model and a rule; a fault injected into one pump makes
its anomaly score rise, the rule sends it a stop (``setSpeed(0)``) through the OPC UA adapter,
the station acknowledges it and the pump stops; a GraphQL subscriber prints it all.

Exit status: 0; with ``--inject-fault`` and ``--duration``, 1 when the faulty pump was not
stopped by then.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import httpx
import uvicorn

from twin_server.config import Settings
from twin_server.demo.sensors import MotorSensors, broker_answers
from twin_server.demo.setup import THRESHOLD, configure, link, twin_id
from twin_server.demo.station import Station
from twin_server.demo.watch import Watcher


@dataclass
class DemoOptions:
    pumps: int = 3
    inject_fault: str | None = None
    fault: str = "bearing"
    fault_after: float = 10.0
    ramp: float = 15.0
    duration: float | None = None
    until_stopped: bool = False  # end once the faulty pump is stopped (its command answered)
    mqtt: str = "127.0.0.1:1883"  # or "off"
    opcua_port: int = 0  # 0: a free port
    data_dir: Path | None = None
    period: float = 0.5


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def run_demo(settings: Settings, options: DemoOptions, out: TextIO = sys.stdout) -> int:
    names = [f"pump-{n}" for n in range(1, options.pumps + 1)]
    if options.inject_fault is not None and options.inject_fault not in names:
        print(f"twin-server demo: --inject-fault names one of {names}", file=sys.stderr)
        return 2
    data_dir = options.data_dir or Path(tempfile.mkdtemp(prefix="twin-demo-"))
    settings = settings.model_copy(update={"data_dir": data_dir, "store_url": ""})
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("asyncua").setLevel(logging.ERROR)  # its notes on the demo's plain setup
    # the station runs each pump at one speed, so by PSI the model's inputs drift from its
    # wide training range within seconds: an Alert entity says so, the log need not
    logging.getLogger("twin_server.inference.watch").setLevel(logging.ERROR)
    from twin_server.app import create_app

    config = uvicorn.Config(
        create_app(settings), host=settings.host, port=settings.port, log_level="warning",
        ws_per_message_deflate=False,
    )  # fmt: skip
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve(), name="demo-server")
    while not server.started:
        if serving.done():
            return 1  # uvicorn said why (the port is taken, say)
        await asyncio.sleep(0.05)
    address = f"{settings.host}:{settings.port}"
    base = f"http://{address}"
    station = Station(names, options.opcua_port or free_port(), period=options.period)
    await station.start()
    broker = _broker(options.mqtt)
    prefix = f"twin-demo/{uuid.uuid4().hex[:8]}"
    watcher = Watcher(address, threshold=THRESHOLD, short=lambda i: i.rsplit(":", 1)[-1], out=out)
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            mqtt_url = f"mqtt://{broker[0]}:{broker[1]}" if broker else None
            await configure(client, station, base=base, mqtt_url=mqtt_url, prefix=prefix)
            await watcher.start()
            sensors = MotorSensors(
                station, period=options.period, twin_of=twin_id, mqtt_broker=broker,
                prefix=prefix, http=client, link=link(base),
            )  # fmt: skip
            await sensors.start()
            watcher.say(f"Twin Server at {base} (GraphQL at {base}/graphql), data in {data_dir}")
            watcher.say(f"station: {', '.join(names)} on OPC UA at {station.url}")
            watcher.say(
                f"motor sensors report over {sensors.over}"
                + (f" ({broker[0]}:{broker[1]})" if broker else " (no MQTT broker)")
            )
            try:
                stopped = await _story(watcher, station, options)
            finally:
                await sensors.stop()
                await _summary(client, watcher)
    finally:
        await watcher.stop()
        server.should_exit = True
        await serving
        await station.stop()
    return 0 if stopped else 1


async def _story(watcher: Watcher, station: Station, options: DemoOptions) -> bool:
    """Run until the duration is over (or Ctrl-C); inject the fault on time. True unless a
    fault was injected and its pump was not stopped."""
    done = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, done.set)
    started = time.monotonic()
    injected = False
    while not done.is_set():
        elapsed = time.monotonic() - started
        if options.inject_fault and not injected and elapsed >= options.fault_after:
            station.inject(options.inject_fault, options.fault, 0.8, options.ramp)
            injected = True
            watcher.say(
                f"{options.inject_fault}: fault injected ({options.fault}, growing "
                f"over {options.ramp:g} s)"
            )
        if options.duration is not None and elapsed >= options.duration:
            break
        if injected and options.until_stopped and _stopped(watcher, options.inject_fault):
            await asyncio.sleep(1.0)  # what follows the stop (its scores) is shown too
            break
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), 0.2)
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.remove_signal_handler(sig)
    return not options.inject_fault or _stopped(watcher, options.inject_fault)


def _stopped(watcher: Watcher, pump: str | None) -> bool:
    acknowledged = any(
        p == pump and c == "setSpeed" and s == "succeeded" for p, c, s in watcher.seen["commands"]
    )
    return acknowledged and pump in watcher.seen["stopped"]


async def _summary(client: httpx.AsyncClient, watcher: Watcher) -> None:
    with contextlib.suppress(httpx.HTTPError, KeyError, ValueError):
        figures: dict[str, Any] = (await client.get("/rules")).json()
        hooks = (await client.get("/inference/hooks")).json()
        scored = sum(h["stats"]["scored"] for h in hooks)
        watcher.say(
            f"summary: {scored} predictions, {len(watcher.seen['anomalies'])} anomalies, "
            f"{len(watcher.seen['commands'])} command updates, MTTA "
            f"{figures.get('mttaSeconds')} s, automation rate {figures.get('automationRate')}"
        )


def _broker(spec: str) -> tuple[str, int] | None:
    if spec == "off":
        return None
    host, _, port = spec.rpartition(":")
    found = (host or "127.0.0.1", int(port or 1883))
    return found if broker_answers(*found) else None
