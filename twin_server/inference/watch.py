"""Watching the models' health for the runtime: each version's health (batch outcomes, input
drift), when each hooked twin's inputs last changed and which went stale; every change of
health is handed to the listeners (the rule engine), and a version that begins to drift
raises one Alert (and tells the retraining trigger)."""

from __future__ import annotations

import itertools
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable

from twin_server.alerts import raise_alert
from twin_server.core.service import TwinGraph
from twin_server.inference.drift import DriftTracker
from twin_server.inference.health import HealthChange, VersionHealth
from twin_server.inference.registry import ModelRegistry
from twin_server.inference.session import ModelSession

log = logging.getLogger(__name__)
Key = tuple[str, str, str]  # (hook, tenant, twin)


class HealthWatch:
    def __init__(
        self,
        graph: TwinGraph,
        registry: ModelRegistry,
        *,
        drift_threshold: float = 0.2,
        drift_window: int = 1000,
    ) -> None:
        self.graph = graph
        self.registry = registry
        self.drift_threshold = drift_threshold
        self.drift_window = drift_window
        self.versions: dict[tuple[str, str], VersionHealth] = {}  # (model, version)
        self.last_input: dict[Key, float] = {}  # monotonic time of each twin's last input
        self.stale: set[Key] = set()
        self.unhealthy: dict[str, str] = {}  # hook → its model's state, while not healthy
        self.listeners: list[Callable[[HealthChange], None]] = []
        self.drifted: Callable[[str, str, list[str]], Awaitable[None]] | None = None

    def version(self, session: ModelSession) -> VersionHealth:
        key = (session.manifest.id, session.manifest.version)
        found = self.versions.get(key)
        if found is None:
            drift = DriftTracker(
                session.manifest, window=self.drift_window, threshold=self.drift_threshold
            )
            found = self.versions[key] = VersionHealth(drift)
        return found

    def model_state(self, model_id: str) -> str:
        """The state of the versions that act (a hook's model is as healthy as they are)."""
        model = self.registry.models.get(model_id)
        if model is None:
            return "no model"
        acting = [
            self.version(model.versions[v]).state()
            for v in sorted({model.deployment.active, *model.deployment.split})
        ]
        return next((s for s in acting if s != "healthy"), "healthy")

    def stale_twins(self, hook_id: str) -> int:
        return sum(1 for k in self.stale if k[0] == hook_id)

    def forget(self, hook_id: str) -> None:
        for key in [k for k in self.last_input if k[0] == hook_id]:
            del self.last_input[key]
        self.stale = {k for k in self.stale if k[0] != hook_id}
        self.unhealthy.pop(hook_id, None)

    def input_seen(self, key: Key, model_id: str, now: float) -> None:
        self.last_input[key] = now
        if key in self.stale:
            self.stale.discard(key)
            self._tell(key[0], model_id, key[1], (key[2],), healthy=True, reason="")

    def check_stale(self, hook_id: str, model_id: str, stale_after: float, now: float) -> None:
        went = [
            k
            for k, seen in self.last_input.items()
            if k[0] == hook_id and k not in self.stale and now - seen > stale_after
        ]
        if not went:
            return
        self.stale.update(went)
        for tenant, keys in itertools.groupby(sorted(went), key=lambda k: k[1]):
            twins = tuple(k[2] for k in keys)
            self._tell(hook_id, model_id, tenant, twins, healthy=False, reason="stale inputs")

    async def after_batch(self, hook_id: str, model_id: str, sessions: list[ModelSession]) -> None:
        """Tell the listeners when the hook's model turned (un)healthy, and raise an alert for
        a version that began to drift."""
        for session in sessions:
            health = self.version(session)
            drifting = health.drift.drifting
            if drifting and not health.alerted:
                health.alerted = True
                await self._drift_alert(session, drifting, health)
            elif not drifting:
                health.alerted = False
        state = self.model_state(model_id)
        if state == self.unhealthy.get(hook_id, "healthy"):
            return
        if state == "healthy":
            self.unhealthy.pop(hook_id, None)
        else:
            self.unhealthy[hook_id] = state
        by_tenant: defaultdict[str, list[str]] = defaultdict(list)
        for hook, tenant, twin in self.last_input:
            if hook == hook_id:
                by_tenant[tenant].append(twin)
        for tenant, twins in by_tenant.items():
            self._tell(
                hook_id, model_id, tenant, tuple(twins), healthy=state == "healthy", reason=state
            )

    def _tell(
        self,
        hook_id: str,
        model_id: str,
        tenant: str,
        twins: tuple[str, ...],
        *,
        healthy: bool,
        reason: str,
    ) -> None:
        if not twins:
            return
        change = HealthChange(hook_id, model_id, tenant, twins, healthy, reason)
        for listener in self.listeners:
            try:
                listener(change)
            except Exception:
                log.exception("a model health listener failed")

    async def _drift_alert(
        self, session: ModelSession, inputs: list[str], health: VersionHealth
    ) -> None:
        manifest = session.manifest
        psi = health.drift.psi
        log.warning("model %s %s drifts on %s (PSI %s)", manifest.id, manifest.version, inputs, psi)
        await raise_alert(
            self.graph,
            "",
            category="modelDrift",
            severity="high",
            description=f"model {manifest.id} {manifest.version}: its inputs {inputs} drifted "
            f"from the training data (PSI over {health.drift.threshold})",
            source=None,
            details={
                "model": manifest.id,
                "modelVersion": manifest.version,
                "driftingInputs": inputs,
                "psi": psi,
            },
            origin="inference",
        )
        if self.drifted is not None:
            await self.drifted(manifest.id, manifest.version, inputs)
