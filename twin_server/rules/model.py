"""Rules on twin state and predictions: when an attribute of a twin of a type crosses a
threshold for N consecutive samples, act: send a command, raise an alert, or both.

    {"id": "stop-on-anomaly", "type": "Pump",
     "when": {"attribute": "anomalyScore", "above": 0.8, "samples": 3},
     "clear": 0.6,
     "cooldown": 60, "maxPerHour": 10,
     "actions": [{"command": "setSpeed", "payload": 0},
                 {"alert": {"severity": "critical", "description": "pump anomaly"}}]}

Fail-safe: when the attribute is a prediction and its model turns unhealthy (erroring,
drifting, or the twin's inputs stale), the rule stops acting on it for the twins concerned and
takes its ``failSafe`` actions once for each of them, for example
``[{"command": "setMode", "payload": "local"}]``; it resumes when the model is healthy again.
``holdOn`` narrows the states that count (all three by default): a model trained over a wide
operating range drifts, by PSI, on a site that runs in a narrow part of it.

Hysteresis: once fired, a rule is re-armed for a twin only when the value has gone back past
``clear`` (below it for ``above``, above it for ``below``). ``cooldown`` seconds must pass
between two firings for one twin, and at most ``maxPerHour`` firings per twin an hour.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from twin_server.documents import parse_document

KIND = "rule"
Severity = Literal["informational", "low", "medium", "high", "critical"]
ModelState = Literal["erroring", "drifting", "stale inputs"]
MODEL_STATES: tuple[ModelState, ...] = ("erroring", "drifting", "stale inputs")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Condition(_Strict):
    attribute: str = Field(min_length=1, max_length=256)
    above: float | None = None
    below: float | None = None
    samples: int = Field(1, ge=1, le=1000, description="Consecutive samples past the threshold.")

    @model_validator(mode="after")
    def _one_threshold(self) -> Condition:
        if (self.above is None) == (self.below is None):
            raise ValueError("a condition has exactly one of above and below")
        return self

    def past(self, value: float) -> bool:
        return value > self.above if self.above is not None else value < (self.below or 0.0)


class Alert(_Strict):
    severity: Severity = "medium"
    category: str = "anomaly"
    description: str = ""


class Action(_Strict):
    command: str | None = Field(None, pattern=r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
    payload: Any = None
    alert: Alert | None = None

    @model_validator(mode="after")
    def _something(self) -> Action:
        if self.command is None and self.alert is None:
            raise ValueError("an action sends a command or raises an alert")
        return self


class Rule(_Strict):
    id: str = Field(pattern=r"^[A-Za-z0-9._-]{1,128}$")
    tenant: str = ""
    type: str = Field(min_length=1, max_length=512)
    when: Condition
    clear: float | None = Field(None, description="Re-arm once the value is back past this.")
    cooldown: float = Field(60.0, ge=0, le=86_400)
    max_per_hour: int = Field(10, alias="maxPerHour", ge=1, le=3600)
    actions: list[Action] = Field(min_length=1, max_length=10)
    fail_safe: list[Action] = Field(
        default_factory=list,
        alias="failSafe",
        max_length=10,
        description="Taken once per twin when the model behind the rule's attribute turns "
        "unhealthy (erroring, drifting, or the twin's inputs stale); the rule does not act on "
        "that model's predictions until it is healthy again.",
    )
    hold_on: list[ModelState] = Field(
        default_factory=lambda: list(MODEL_STATES),
        alias="holdOn",
        description="The model states in which the rule holds back and takes its fail-safe.",
    )
    context: list[str] | None = None
    enabled: bool = True

    def document(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True)

    def cleared(self, value: float) -> bool:
        """Back on the healthy side of the clear threshold (of the trigger's, without one)."""
        condition = self.when
        if self.clear is None:
            return not condition.past(value)
        return value < self.clear if condition.above is not None else value > self.clear


def parse_rule(data: Any) -> Rule:
    return parse_document(Rule, data, "rule")
