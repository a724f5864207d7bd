"""Where a model input comes from, and how its value is read.

An input is one of:

- an attribute of the twin, with an optional path into its value: ``"motor/temperature"``
  (the string form), or ``{"attribute": "motor/temperature"}``;
- an attribute of a related twin: ``{"via": "feedsFrom", "attribute": "outletPressure"}``
  reads ``outletPressure`` of the twin that the twin's ``feedsFrom`` relationship names;
- an aggregate over the twin's recent values of an attribute:
  ``{"attribute": "vibration", "window": 60, "aggregate": "mean"}`` (``mean``, ``std``,
  ``min``, ``max``, ``slope`` per second, ``count``), over the samples of the last ``window``
  seconds before the newest (by ``observedAt``, else the commit time). Windows fill from the
  changes the server sees after it starts.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from twin_server.core.timeutil import parse_datetime
from twin_server.core.types import Entity, Instance, default_instance, instance_value

Aggregate = Literal["mean", "std", "min", "max", "slope", "count"]
MAX_SAMPLES = 10_000  # per window series


class FeatureSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    attribute: str = Field(min_length=1, max_length=512)
    via: str | None = Field(None, min_length=1, max_length=512)
    window: float | None = Field(None, gt=0, le=86_400)
    aggregate: Aggregate | None = None

    @model_validator(mode="after")
    def _coherent(self) -> FeatureSpec:
        if (self.window is None) != (self.aggregate is None):
            raise ValueError("a window and its aggregate go together")
        if self.via is not None and self.window is not None:
            raise ValueError("a window is over the twin's own attribute, not a related twin's")
        return self


@dataclass(frozen=True)
class Source:
    """A FeatureSpec with its names expanded."""

    attribute: str
    path: tuple[str, ...]
    via: str | None = None
    window: float | None = None
    aggregate: Aggregate | None = None


def number(entity: Entity | Any, attribute: str, path: tuple[str, ...]) -> float | None:
    """A numeric value of a twin (None when it has none, or it is not a number)."""
    instances = entity["attrs"].get(attribute)
    if not instances:
        return None
    value = instance_value(default_instance(instances))
    for step in path:
        value = value.get(step) if isinstance(value, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def related_id(entity: Entity | Any, relationship: str) -> str | None:
    instances = entity["attrs"].get(relationship)
    if not instances:
        return None
    target = default_instance(instances).get("object")
    return target if isinstance(target, str) else None


def sample_time(instance: Instance, fallback: str) -> float:
    stamp = instance.get("observedAt")
    try:
        return parse_datetime(stamp if isinstance(stamp, str) else fallback).timestamp()
    except ValueError:
        return parse_datetime(fallback).timestamp()


class Windows:
    """Recent (time, value) samples per (tenant, twin, attribute, path), each series kept as
    long as the longest window over it."""

    def __init__(self) -> None:
        self.spans: dict[tuple[str, tuple[str, ...]], float] = {}
        self.series: dict[tuple[str, str, str, tuple[str, ...]], deque[tuple[float, float]]] = {}

    def want(self, sources: list[Source]) -> None:
        """The windows the hooks use now (older series are dropped)."""
        spans: dict[tuple[str, tuple[str, ...]], float] = {}
        for s in sources:
            if s.window is not None:
                key = (s.attribute, s.path)
                spans[key] = max(spans.get(key, 0.0), s.window)
        self.spans = spans
        self.series = {k: v for k, v in self.series.items() if (k[2], k[3]) in spans}

    def record(self, tenant: str, twin_id: str, attribute: str, instances: Any, at: str) -> None:
        for (name, path), span in self.spans.items():
            if name != attribute or not instances:
                continue
            instance = default_instance(instances)
            value: Any = instance_value(instance)
            for step in path:
                value = value.get(step) if isinstance(value, dict) else None
            if isinstance(value, bool) or not isinstance(value, int | float):
                continue
            if not math.isfinite(value):
                continue
            series = self.series.setdefault((tenant, twin_id, name, path), deque())
            t = sample_time(instance, at)
            if series and t < series[-1][0]:
                continue  # an older sample, arrived late: windows look forward
            series.append((t, float(value)))
            while series and (t - series[0][0] > span or len(series) > MAX_SAMPLES):
                series.popleft()

    def forget(self, tenant: str, twin_id: str) -> None:
        for key in [k for k in self.series if k[0] == tenant and k[1] == twin_id]:
            del self.series[key]

    def aggregate(self, tenant: str, twin_id: str, source: Source) -> float | None:
        series = self.series.get((tenant, twin_id, source.attribute, source.path))
        if not series or source.window is None:
            return None
        newest = series[-1][0]
        points = [(t, v) for t, v in series if newest - t <= source.window]
        return _aggregate(source.aggregate, points)


def _aggregate(kind: Aggregate | None, points: list[tuple[float, float]]) -> float | None:
    values = [v for _, v in points]
    n = len(values)
    if kind == "count":
        return float(n)
    if n == 0:
        return None
    if kind == "mean":
        return sum(values) / n
    if kind == "min":
        return min(values)
    if kind == "max":
        return max(values)
    mean = sum(values) / n
    if kind == "std":
        return math.sqrt(sum((v - mean) ** 2 for v in values) / n)
    if kind == "slope":
        if n < 2:
            return None
        t_mean = sum(t for t, _ in points) / n
        spread = sum((t - t_mean) ** 2 for t, _ in points)
        if spread == 0:
            return None
        return sum((t - t_mean) * (v - mean) for t, v in points) / spread
    return None
