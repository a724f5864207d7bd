"""The health of a hook's model: erroring (its recent batches fail), drifting (its inputs left
the training distribution), and twins whose inputs went stale. A change of health is handed
to listeners (the rule engine takes its fail-safe actions; a drift raises an alert)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from twin_server.inference.drift import DriftTracker

RECENT = 20  # batch outcomes kept per version


@dataclass(frozen=True)
class HealthChange:
    hook: str
    model: str
    tenant: str
    twins: tuple[str, ...]
    healthy: bool
    reason: str  # "erroring", "drifting", "stale inputs", or "" when healthy again


@dataclass
class VersionHealth:
    drift: DriftTracker
    outcomes: deque[bool] = field(default_factory=lambda: deque(maxlen=RECENT))
    last_error: str = ""
    alerted: bool = False  # a drift alert was raised for the drift going on

    def record(self, ok: bool, error: str = "") -> None:
        self.outcomes.append(ok)
        if not ok:
            self.last_error = error

    @property
    def erroring(self) -> bool:
        """The last three batches failed, or most of the recent ones did."""
        recent = list(self.outcomes)
        if len(recent) >= 3 and not any(recent[-3:]):
            return True
        return len(recent) >= 4 and recent.count(False) > len(recent) / 2

    def state(self) -> str:
        if self.erroring:
            return "erroring"
        if self.drift.drifting:
            return "drifting"
        return "healthy"

    def describe(self) -> dict[str, object]:
        return {
            "state": self.state(),
            "recentBatches": len(self.outcomes),
            "recentFailures": list(self.outcomes).count(False),
            "lastError": self.last_error or None,
            "psi": self.drift.psi,
            "driftingInputs": self.drift.drifting,
        }
