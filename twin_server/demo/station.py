"""The demo's pump station: an OPC UA server (asyncua, in this process) whose variables are the
PLC's view of each pump, driven by the pump simulator (``twin_server.simulation.pumps``).

Each pump ``<name>`` is an object ``ns=2;s=<name>`` with variables ``<name>.FlowRate``,
``.OutletPressure``, ``.Speed`` and the motor's ``.Temperature``, ``.Current``,
``.Vibration``, and a writable ``.Setpoint`` (rpm): a value written there becomes the pump's
speed (0 stops it). A fault injected into a pump grows from nothing to ``level`` over
``ramp`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from dataclasses import dataclass, field

from asyncua import ua
from asyncua.common.node import Node
from asyncua.server.server import Server

from twin_server.simulation.pumps import Pump

NS_URI = "urn:twin-server:demo:station"
VARIABLES = {
    "FlowRate": "flowRate",
    "OutletPressure": "outletPressure",
    "Speed": "speed",
    "Temperature": "temperature",
    "Current": "current",
    "Vibration": "vibration",
}
MOTOR = ("temperature", "current", "vibration")


@dataclass
class Fault:
    kind: str
    level: float
    ramp: float
    started: float = field(default_factory=time.monotonic)

    def now(self) -> float:
        return self.level * min(1.0, (time.monotonic() - self.started) / self.ramp)


@dataclass
class SimulatedPump:
    name: str
    pump: Pump
    nodes: dict[str, Node]
    setpoint: Node
    applied: float
    fault: Fault | None = None
    reading: dict[str, float] = field(default_factory=dict)


class Station:
    def __init__(self, names: list[str], port: int, *, period: float = 0.5, seed: int = 7):
        self.url = f"opc.tcp://127.0.0.1:{port}/station/"
        self.names = names
        self.period = period
        self.rng = random.Random(seed)
        self.pumps: dict[str, SimulatedPump] = {}
        self.server = Server()
        self.ns = 2
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.server.init()
        self.server.set_endpoint(self.url)
        self.server.set_server_name("Twin Server demo station")
        self.server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
        ns = self.ns = await self.server.register_namespace(NS_URI)
        for name in self.names:
            obj = await self.server.nodes.objects.add_object(f"ns={ns};s={name}", f"{ns}:{name}")
            nodes = {}
            for variable, feature in VARIABLES.items():
                nodes[feature] = await obj.add_variable(
                    f"ns={ns};s={name}.{variable}", f"{ns}:{variable}", 0.0
                )
            pump = Pump(speed=1300.0 + 50.0 * len(self.pumps))
            setpoint = await obj.add_variable(
                f"ns={ns};s={name}.Setpoint", f"{ns}:Setpoint", pump.speed
            )
            await setpoint.set_writable()
            self.pumps[name] = SimulatedPump(name, pump, nodes, setpoint, pump.speed)
        await self.server.start()
        await self.step()
        self._task = asyncio.create_task(self._run(), name="demo-station")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.server.stop()

    def inject(self, name: str, kind: str, level: float, ramp: float) -> None:
        self.pumps[name].fault = Fault(kind, level, ramp)

    def node(self, name: str, feature: str) -> str:
        """The NodeId of one of a pump's variables (``setpoint`` included)."""
        if feature == "setpoint":
            return f"ns={self.ns};s={name}.Setpoint"
        variable = next(v for v, f in VARIABLES.items() if f == feature)
        return f"ns={self.ns};s={name}.{variable}"

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.period)
            await self.step()

    async def step(self) -> None:
        """One PLC scan: take new setpoints, read every sensor, publish the values."""
        for sim in self.pumps.values():
            wanted = float(await sim.setpoint.read_value())
            if wanted != sim.applied:
                sim.applied = sim.pump.speed = max(0.0, wanted)
            if sim.fault is not None:
                sim.pump.fault, sim.pump.level = sim.fault.kind, sim.fault.now()
            if sim.pump.speed == 0:
                reading = {f: 0.0 for f in VARIABLES.values()}
                reading["temperature"] = 30.0 + self.rng.gauss(0, 0.5)
            else:
                reading = sim.pump.read(self.rng)
            sim.reading = reading
            for feature, node in sim.nodes.items():
                await node.write_value(round(reading[feature], 3))

    def motor(self, name: str) -> dict[str, float]:
        """The motor's latest readings (what its own sensors report)."""
        reading = self.pumps[name].reading
        return {k: round(reading[k], 3) for k in MOTOR if k in reading}
