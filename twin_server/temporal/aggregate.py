"""Aggregated temporal values (NGSI-LD 1.9.1, clause 4.5.19): per period, from raw sums.

Every backend reduces a period's instances to the same ``Sums`` (SQL in the embedded store,
Python in the memory one); ``values`` turns sums into the methods asked for, so the backends
cannot disagree on what an average or a standard deviation is.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from twin_server.temporal.model import Bucket


@dataclass(slots=True)
class Sums:
    count: int = 0  # instances (totalCount)
    numbers: int = 0  # numeric values among them
    total: float = 0.0
    squares: float = 0.0
    low: float | None = None
    high: float | None = None
    distinct: set[Any] = field(default_factory=set)
    distinct_count: int | None = None  # when the backend counted them itself

    def add(self, number: float | None, key: Any) -> None:
        self.count += 1
        self.distinct.add(key)
        if number is None:
            return
        self.numbers += 1
        self.total += number
        self.squares += number * number
        self.low = number if self.low is None else min(self.low, number)
        self.high = number if self.high is None else max(self.high, number)


def values(sums: Sums, methods: Iterable[str]) -> dict[str, Any]:
    """The value of each method over one period (a numeric method over no number: left out)."""
    out: dict[str, Any] = {}
    for method in methods:
        if method == "totalCount":
            out[method] = sums.count
        elif method == "distinctCount":
            out[method] = (
                sums.distinct_count if sums.distinct_count is not None else len(sums.distinct)
            )
        elif sums.numbers == 0:
            continue
        elif method == "sum":
            out[method] = sums.total
        elif method == "sumsq":
            out[method] = sums.squares
        elif method == "avg":
            out[method] = sums.total / sums.numbers
        elif method == "min":
            out[method] = sums.low
        elif method == "max":
            out[method] = sums.high
        elif method == "stddev":
            mean = sums.total / sums.numbers
            out[method] = math.sqrt(max(sums.squares / sums.numbers - mean * mean, 0.0))
    return out


def bucket_index(us: int, start: int, period: int | None) -> int:
    return 0 if period is None else (us - start) // period


def bucket(
    index: int, start: int, period: int | None, end: int, sums: Sums, methods: Any
) -> Bucket:
    """The Bucket of period ``index`` (``end``: where the whole range ends)."""
    if period is None:
        return Bucket(start, end, values(sums, methods))
    return Bucket(start + index * period, start + (index + 1) * period, values(sums, methods))
