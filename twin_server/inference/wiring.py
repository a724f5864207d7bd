"""The inference side of the server put together: the model registry, the runtime, the
retraining trigger and the feedback book, wired to each other and to the rule engine."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twin_server.bus.base import EventBus
from twin_server.config import Settings
from twin_server.core.service import TwinGraph
from twin_server.inference.feedback import FeedbackBook
from twin_server.inference.registry import ModelRegistry
from twin_server.inference.retraining import Retraining
from twin_server.inference.runtime import InferenceRuntime, Subtypes, Terms
from twin_server.rules.engine import RuleEngine
from twin_server.store.base import Store

log = logging.getLogger(__name__)


@dataclass
class Inference:
    runtime: InferenceRuntime
    retraining: Retraining
    feedback: FeedbackBook

    async def stop(self) -> None:
        await self.runtime.stop()


async def start_inference(
    settings: Settings,
    graph: TwinGraph,
    bus: EventBus,
    store: Store,
    terms: Terms,
    subtypes: Subtypes,
) -> Inference:
    registry = ModelRegistry(store, settings.inference_dir, settings.data_dir / "models")
    await registry.load()
    retraining = Retraining(store, graph)
    await retraining.load()
    runtime = InferenceRuntime(
        graph,
        bus,
        store,
        terms,
        subtypes,
        registry=registry,
        batch=settings.inference_batch,
        drift_threshold=settings.inference_drift_threshold,
        drift_window=settings.inference_drift_window,
    )
    runtime.watch.drifted = retraining.drift
    await runtime.start(bundled_hooks(settings.inference_dir))
    return Inference(runtime, retraining, FeedbackBook(store, terms, retraining.feedback))


def connect_rules(inference: Inference, rules: RuleEngine) -> None:
    """Rules hold back, and take their fail-safe, while the model behind them is unhealthy."""
    rules.outputs_of = inference.runtime.written_by
    inference.runtime.watch.listeners.append(rules.on_health)


def bundled_hooks(folder: Path) -> list[dict[str, Any]]:
    """The hooks that model folders bring (``<folder>/<model>/hooks.json``, a list)."""
    found: list[dict[str, Any]] = []
    for path in sorted(folder.glob("*/hooks.json")) if folder.is_dir() else []:
        try:
            hooks = json.loads(path.read_text())
            if not isinstance(hooks, list) or not all(isinstance(h, dict) for h in hooks):
                raise ValueError("it is a list of hooks")
            found.extend(hooks)
        except ValueError as exc:
            log.error("%s not read: %s", path, exc)
    return found
