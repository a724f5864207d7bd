"""The rule engine: change events in, commands and alerts out, with hysteresis, cooldown and
a rate limit per twin, through the same command service operators use (so manual mode holds:
a rule's command to a held twin is recorded as refused, never sent).

It measures the mean time from anomaly to action (MTTA: from the ``observedAt`` of the first
sample of the streak that fired, or its commit, to the action) and the closed-loop automation
rate (the share of firings whose command was accepted for delivery, not refused).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from twin_server.alerts import raise_alert
from twin_server.bus.base import EventBus, concerning, hand_each
from twin_server.bus.base import Subscription as BusSubscription
from twin_server.bus.watched import ByTypes
from twin_server.commands import model as m
from twin_server.commands.service import CommandService
from twin_server.core.events import ChangeEvent
from twin_server.core.service import TwinGraph
from twin_server.core.timeutil import parse_datetime
from twin_server.core.types import default_instance
from twin_server.errors import NotFound, TwinError
from twin_server.inference.health import HealthChange
from twin_server.jsonld.termmap import TermMap
from twin_server.rules.model import KIND, Action, Rule, parse_rule
from twin_server.store.base import Store

log = logging.getLogger(__name__)
Terms = Callable[[list[str] | None], Awaitable[TermMap]]
Subtypes = Callable[[str], list[str]]


@dataclass
class Compiled:
    rule: Rule
    attribute: str  # expanded
    types: frozenset[str]


@dataclass
class TwinState:
    streak: int = 0
    started: float | None = None  # wall-clock time of the streak's first sample
    armed: bool = True
    fired: deque[float] = field(default_factory=deque)  # monotonic times, the last hour


@dataclass
class RuleStats:
    fired: int = 0
    suppressed: int = 0  # past the threshold, but cooling down or over the hourly limit
    unhealthy: int = 0  # samples not acted on: their model was unhealthy
    fail_safes: int = 0
    commands: int = 0
    refused: int = 0
    alerts: int = 0
    mtta: list[float] = field(default_factory=list)  # seconds


class RuleEngine:
    def __init__(
        self,
        graph: TwinGraph,
        bus: EventBus,
        store: Store,
        commands: CommandService,
        terms: Terms,
        subtypes: Subtypes,
    ) -> None:
        self.graph = graph
        self.bus = bus
        self.store = store
        self.commands = commands
        self.terms = terms
        self.subtypes = subtypes
        self.rules: dict[str, Rule] = {}
        self.compiled: ByTypes[Compiled] = ByTypes()
        self.states: dict[tuple[str, str, str], TwinState] = {}
        self.stats: dict[str, RuleStats] = {}
        self.unhealthy: dict[tuple[str, str], dict[str, str]] = {}
        """(tenant, twin) → prediction attribute → the state of the model behind it."""
        self.outputs_of: Callable[[str], tuple[frozenset[str], frozenset[str]]] | None = None
        """For a hook: (the prediction attributes it writes, the types it scores)."""
        self._bus: BusSubscription | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._listener: asyncio.Task[None] | None = None

    async def start(self) -> None:
        for rule_id, document in await self.store.list_documents(KIND):
            try:
                await self._install(parse_rule(document))
            except TwinError as exc:
                log.error("stored rule %s is no longer valid, left out: %s", rule_id, exc)
        self._bus = self.bus.subscribe(
            max_pending=100_000,  # the events no rule could concern are not queued at all
            accept=concerning(self.compiled.types, own="rule"),
        )
        self._listener = asyncio.create_task(hand_each(self._bus, self.offer), name="rules")

    async def stop(self) -> None:
        for task in [*self._tasks, *([self._listener] if self._listener else [])]:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._bus is not None:
            self._bus.close()

    async def put_rule(self, data: Any) -> tuple[Rule, bool]:
        rule = parse_rule(data)
        created = rule.id not in self.rules
        await self._install(rule)
        await self.store.put_document(KIND, rule.id, rule.document())
        self.states = {k: v for k, v in self.states.items() if k[0] != rule.id}
        return rule, created

    async def delete_rule(self, rule_id: str) -> None:
        if rule_id not in self.rules:
            raise NotFound(f"rule {rule_id} does not exist")
        await self.store.delete_document(KIND, rule_id)
        del self.rules[rule_id], self.compiled[rule_id]

    async def _install(self, rule: Rule) -> None:
        terms = await self.terms(rule.context)
        base = terms.expand(rule.type)
        types = frozenset([base, *self.subtypes(base)])
        self.compiled[rule.id] = Compiled(rule, terms.expand(rule.when.attribute), types)
        self.rules[rule.id] = rule
        self.stats.setdefault(rule.id, RuleStats())

    def figures(self) -> dict[str, float | None]:
        """MTTA (seconds) and the automation rate over every rule."""
        times = [t for s in self.stats.values() for t in s.mtta]
        commands = sum(s.commands for s in self.stats.values())
        refused = sum(s.refused for s in self.stats.values())
        return {
            "mttaSeconds": round(sum(times) / len(times), 3) if times else None,
            "automationRate": round((commands - refused) / commands, 3) if commands else None,
        }

    def on_health(self, change: HealthChange) -> None:
        """A model's health changed for some twins: hold back (and take the fail-safe) or
        resume the rules on its predictions, each rule as its ``holdOn`` says."""
        if self.outputs_of is None:
            return
        attributes, types = self.outputs_of(change.hook)
        concerned = [
            c
            for c in self.compiled.values()
            if c.attribute in attributes
            and not c.types.isdisjoint(types)
            and c.rule.tenant == change.tenant
            and c.rule.enabled
        ]
        for twin_id in change.twins:
            key = (change.tenant, twin_id)
            held = self.unhealthy.setdefault(key, {})
            for attribute in attributes:
                before = held.pop(attribute, None)
                if change.healthy:
                    continue
                held[attribute] = change.reason
                for compiled in concerned:
                    hold_on = compiled.rule.hold_on
                    newly = change.reason in hold_on and before not in hold_on
                    if compiled.attribute == attribute and newly and compiled.rule.fail_safe:
                        self._spawn(self._fail_safe(compiled.rule, change, twin_id))
            if not held:
                del self.unhealthy[key]

    async def _fail_safe(self, rule: Rule, change: HealthChange, twin_id: str) -> None:
        stats = self.stats[rule.id]
        stats.fail_safes += 1
        log.warning(
            "rule %s: model %s is %s for %s: fail-safe",
            rule.id,
            change.model,
            change.reason,
            twin_id,
        )
        reason = f"model {change.model} is {change.reason}"
        await self._run_actions(rule, change.tenant, twin_id, rule.fail_safe, None, reason)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def offer(self, event: ChangeEvent) -> None:
        """An event the bus filter let through (the rules' own writes, alerts and
        executions, trigger nothing; nor do twins no rule concerns)."""
        for rule_id, compiled in self.compiled.items():
            rule = compiled.rule
            if not rule.enabled or rule.tenant != event.tenant:
                continue
            if compiled.types.isdisjoint(event.types):
                continue
            for change in event.changes:
                if change.name == compiled.attribute and change.new:
                    held = self.unhealthy.get((event.tenant, event.entity_id))
                    if held is not None and held.get(change.name) in rule.hold_on:
                        self.stats[rule_id].unhealthy += 1
                        continue
                    value, observed = _number(change.new)
                    if value is not None:
                        self._sample(rule_id, rule, event, value, observed)

    def _sample(
        self, rule_id: str, rule: Rule, event: ChangeEvent, value: float, observed: float | None
    ) -> None:
        key = (rule_id, event.tenant, event.entity_id)
        state = self.states.setdefault(key, TwinState())
        if not state.armed:
            if rule.cleared(value):
                state.armed, state.streak, state.started = True, 0, None
            return
        if not rule.when.past(value):
            state.streak, state.started = 0, None
            return
        state.streak += 1
        if state.started is None:
            state.started = observed if observed is not None else _epoch(event.at)
        if state.streak < rule.when.samples:
            return
        now = time.monotonic()
        while state.fired and now - state.fired[0] > 3600:
            state.fired.popleft()
        stats = self.stats[rule_id]
        recent = state.fired[-1] if state.fired else None
        if (recent is not None and now - recent < rule.cooldown) or len(
            state.fired
        ) >= rule.max_per_hour:
            stats.suppressed += 1
            return
        state.fired.append(now)
        state.armed, state.streak = False, 0
        started, state.started = state.started, None
        stats.fired += 1
        self._spawn(self._act(rule, event.tenant, event.entity_id, value, started))

    async def _act(
        self, rule: Rule, tenant: str, twin_id: str, value: float, started: float | None
    ) -> None:
        await self._run_actions(rule, tenant, twin_id, rule.actions, value, None)
        if started is not None:
            stats = self.stats[rule.id]
            stats.mtta.append(max(0.0, time.time() - started))
            if len(stats.mtta) > 10_000:
                del stats.mtta[:5_000]

    async def _run_actions(
        self,
        rule: Rule,
        tenant: str,
        twin_id: str,
        actions: list[Action],
        value: float | None,
        reason: str | None,
    ) -> None:
        stats = self.stats[rule.id]
        for action in actions:
            try:
                if action.command is not None:
                    execution = await self.commands.send(
                        tenant, twin_id, action.command, action.payload, origin="rule"
                    )
                    stats.commands += 1
                    if m.value(execution, m.STATUS) == "refused":
                        stats.refused += 1
                if action.alert is not None:
                    alert = action.alert
                    details: dict[str, Any] = {"rule": rule.id}
                    if value is not None:
                        details["value"] = value
                    if reason is not None:
                        details["cause"] = reason
                    await raise_alert(
                        self.graph,
                        tenant,
                        category=alert.category,
                        severity=alert.severity,
                        description=alert.description or reason or f"rule {rule.id} fired",
                        source=twin_id,
                        details=details,
                        origin="rule",
                    )
                    stats.alerts += 1
            except TwinError as exc:
                log.warning("rule %s on %s: action not taken: %s", rule.id, twin_id, exc)


def _number(instances: Any) -> tuple[float | None, float | None]:
    """The default instance's numeric value, and its observedAt as epoch seconds."""
    instance = default_instance(instances)
    value = instance.get("value")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None, None
    observed = instance.get("observedAt")
    return float(value), _epoch(observed) if isinstance(observed, str) else None


def _epoch(text: str) -> float:
    try:
        return parse_datetime(text).timestamp()
    except ValueError:
        return time.time()
