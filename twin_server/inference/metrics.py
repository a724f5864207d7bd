"""Inference and rule figures for /metrics, read at each scrape."""

from __future__ import annotations

import statistics
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from twin_server.inference.runtime import InferenceRuntime
    from twin_server.rules.engine import RuleEngine


class InferenceCollector(Collector):
    def __init__(self, inference: InferenceRuntime, rules: RuleEngine) -> None:
        self.inference = inference
        self.rules = rules

    def collect(self) -> Iterator[Metric]:
        stats = sorted(self.inference.stats.items())
        for name, field, documentation in (
            ("twin_inference_scored", "scored", "Twins scored, by hook"),
            ("twin_inference_errors", "errors", "Scoring or commit errors, by hook"),
            ("twin_inference_incomplete", "incomplete", "Twins lacking a feature"),
        ):
            family = CounterMetricFamily(name, documentation, labels=["hook"])
            for hook, hook_stats in stats:
                family.add_metric([hook], getattr(hook_stats, field))
            yield family
        batch = GaugeMetricFamily("twin_inference_batch_mean", "Mean batch size", labels=["hook"])
        latency = GaugeMetricFamily(
            "twin_inference_latency_seconds",
            "Change to committed prediction, median and p99",
            labels=["hook", "quantile"],
        )
        for hook, hook_stats in stats:
            mean = hook_stats.scored / hook_stats.batches if hook_stats.batches else 0.0
            batch.add_metric([hook], mean)
            ordered = sorted(hook_stats.latencies)
            if ordered:
                latency.add_metric([hook, "0.5"], statistics.median(ordered) / 1000)
                latency.add_metric([hook, "0.99"], ordered[int(len(ordered) * 0.99) - 1] / 1000)
        yield batch
        yield latency
        figures = self.rules.figures()
        for name, key, documentation in (
            ("twin_rules_mtta_seconds", "mttaSeconds", "Mean time from anomaly to action"),
            ("twin_rules_automation_rate", "automationRate", "Rule commands not refused"),
        ):
            value = figures[key]
            yield GaugeMetricFamily(name, documentation, value=value if value is not None else 0.0)
        fired = CounterMetricFamily("twin_rules_fired", "Rule firings", labels=["rule"])
        for rule, rule_stats in sorted(self.rules.stats.items()):
            fired.add_metric([rule], rule_stats.fired)
        yield fired
