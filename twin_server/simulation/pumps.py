"""A centrifugal pump, simulated: what its sensors read at a speed, healthy or with a fault.

The affinity laws give flow (linear in speed) and outlet pressure (square of speed); the
motor warms and draws current with load. Two faults grow over time (``level`` 0 to 1):
- ``cavitation``: the outlet pressure and the flow drop, the vibration rises;
- ``bearing``: the vibration and the motor temperature rise, the current a little.
Readings carry Gaussian sensor noise. The demo drives the station with it, and the anomaly
model of ``inference/pump-anomaly`` is trained on its healthy readings.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

NOMINAL_SPEED = 1450.0  # rpm
FEATURES = ("flowRate", "outletPressure", "speed", "temperature", "current", "vibration")
FAULTS = ("cavitation", "bearing")


@dataclass
class Pump:
    speed: float = NOMINAL_SPEED
    fault: str | None = None
    level: float = 0.0  # how far the fault has gone, 0 to 1

    def read(self, rng: random.Random) -> dict[str, float]:
        """One reading of every sensor (units: l/s, kPa, rpm, °C, A, mm/s)."""
        ratio = self.speed / NOMINAL_SPEED
        cavitation = self.level if self.fault == "cavitation" else 0.0
        bearing = self.level if self.fault == "bearing" else 0.0
        return {
            "flowRate": 12.0 * ratio * (1 - 0.25 * cavitation) + rng.gauss(0, 0.3),
            "outletPressure": 300.0 * ratio**2 * (1 - 0.3 * cavitation) + rng.gauss(0, 6),
            "speed": self.speed + rng.gauss(0, 5),
            "temperature": 45.0 + 12.0 * ratio + 25.0 * bearing + rng.gauss(0, 0.8),
            "current": 10.0 * ratio + 1.5 * bearing + rng.gauss(0, 0.2),
            "vibration": 1.2 + 0.6 * ratio + 4.0 * bearing + 3.0 * cavitation + rng.gauss(0, 0.15),
        }


def healthy_readings(count: int, seed: int = 1) -> list[list[float]]:
    """Readings of healthy pumps at speeds across the operating range (900 to 1800 rpm)."""
    rng = random.Random(seed)
    rows = []
    for _ in range(count):
        pump = Pump(speed=rng.uniform(900, 1800))
        reading = pump.read(rng)
        rows.append([reading[f] for f in FEATURES])
    return rows


def faulty_readings(count: int, seed: int = 2, level: float = 0.6) -> list[list[float]]:
    """Readings of pumps with a developed fault (either kind), at speeds across the range."""
    rng = random.Random(seed)
    rows = []
    for n in range(count):
        pump = Pump(speed=rng.uniform(900, 1800), fault=FAULTS[n % 2], level=level)
        reading = pump.read(rng)
        rows.append([reading[f] for f in FEATURES])
    return rows
