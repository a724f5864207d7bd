"""Adapter figures for /metrics, read from the runtime at each scrape."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from twin_server.adapters.runtime import AdapterRuntime


class AdapterCollector(Collector):
    def __init__(self, runtime: AdapterRuntime) -> None:
        self.runtime = runtime

    def collect(self) -> Iterator[Metric]:
        runtime = self.runtime
        for name, counts, documentation in (
            ("twin_adapter_messages_received", runtime.received, "Device messages by binding"),
            ("twin_adapter_messages_committed", runtime.committed, "Readings committed"),
            ("twin_adapter_messages_rejected", runtime.refused, "Messages rejected"),
        ):
            family = CounterMetricFamily(name, documentation, labels=["binding"])
            for binding, count in sorted(counts.items()):
                family.add_metric([binding], count)
            yield family
        connected = GaugeMetricFamily(
            "twin_adapter_connected",
            "Connections up (1) or down (0)",
            labels=["adapter", "connection"],
        )
        for (adapter, name), health in sorted(runtime.health.connections.items()):
            connected.add_metric([adapter, name], 1.0 if health.connected else 0.0)
        yield connected
        stale = sum(1 for d in runtime.health.devices.values() if d.stale)
        yield GaugeMetricFamily("twin_adapter_devices_stale", "Devices gone silent", value=stale)
        yield GaugeMetricFamily(
            "twin_adapter_devices", "Devices seen", value=len(runtime.health.devices)
        )
        yield GaugeMetricFamily(
            "twin_adapter_queue",
            "Readings waiting to be committed",
            value=runtime.ingest.waiting,
        )
        yield CounterMetricFamily(
            "twin_adapter_readings_dropped",
            "Readings dropped: queue full",
            value=runtime.ingest.dropped,
        )
        yield CounterMetricFamily(
            "twin_commands_delivered",
            "Commands delivered to devices",
            value=runtime.router.delivered,
        )
        yield CounterMetricFamily(
            "twin_commands_failed", "Commands failed", value=runtime.router.failed
        )
