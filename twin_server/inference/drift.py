"""Input drift of a model version: the population stability index (PSI) of each input over
its recent rows against the training distribution its manifest records.

PSI = the sum over the reference's bins of (live - reference) * ln(live / reference). The
common reading: under 0.1 stable, 0.1 to 0.25 a moderate shift, over 0.25 a significant
one; past the threshold (0.2 by default) the version is drifting. A version without bins
in its reference is compared with deciles of a normal law of the reference's mean and std.
"""

from __future__ import annotations

import numpy as np

from twin_server.inference.manifest import Manifest, Reference

NORMAL_DECILES = (-1.2816, -0.8416, -0.5244, -0.2533, 0.0, 0.2533, 0.5244, 0.8416, 1.2816)
FLOOR = 1e-4  # an empty bin counts as this share (ln 0 is not a number)


class DriftTracker:
    def __init__(
        self,
        manifest: Manifest,
        *,
        window: int = 1000,
        threshold: float = 0.2,
        min_rows: int = 200,
        every: int | None = None,
    ) -> None:
        self.features = manifest.features()
        self.threshold = threshold
        self.min_rows = min(min_rows, window)
        self.every = every or max(50, window // 10)  # rows between two computations
        self.bins: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for column, name in enumerate(self.features):
            reference = manifest.reference.get(name)
            found = _bins(reference) if reference is not None else None
            if found is not None:
                self.bins[column] = found
        self.rows = np.zeros((window, len(self.features)), dtype=np.float64)
        self.filled = 0
        self.next = 0
        self.since = 0
        self.psi: dict[str, float] = {}

    def add(self, matrix: np.ndarray) -> None:
        """Rows just scored (columns in the manifest's input order)."""
        size = len(self.rows)
        taken = matrix[-size:]
        self.rows[(self.next + np.arange(len(taken))) % size] = taken
        self.next = int((self.next + len(taken)) % size)
        self.filled = min(size, self.filled + len(matrix))
        self.since += len(matrix)
        if self.since >= self.every and self.filled >= self.min_rows:
            self.since = 0
            self.psi = self._compute()

    @property
    def drifting(self) -> list[str]:
        """The inputs past the threshold, worst first."""
        past = [(v, k) for k, v in self.psi.items() if v > self.threshold]
        return [k for _, k in sorted(past, reverse=True)]

    def _compute(self) -> dict[str, float]:
        live = self.rows[: self.filled]
        found = {}
        for column, (edges, expected) in self.bins.items():
            counts = np.bincount(
                np.searchsorted(edges, live[:, column], side="right"), minlength=len(expected)
            )
            actual = np.maximum(counts / len(live), FLOOR)
            found[self.features[column]] = round(
                float(np.sum((actual - expected) * np.log(actual / expected))), 4
            )
        return found


def _bins(reference: Reference) -> tuple[np.ndarray, np.ndarray] | None:
    if reference.edges:
        edges, fractions = np.array(reference.edges), np.array(reference.fractions)
    elif reference.std > 0:
        edges = reference.mean + reference.std * np.array(NORMAL_DECILES)
        fractions = np.full(len(edges) + 1, 1 / (len(edges) + 1))
    else:
        return None
    return edges, np.maximum(fractions, FLOOR)
