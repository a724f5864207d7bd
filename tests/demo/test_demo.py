"""``twin-server demo`` end to end, in this process: the OPC UA station, the motor sensors
(over the real Mosquitto, and over HTTP when no broker is used), the anomaly model and the
rule; the injected fault stops that pump (its command acknowledged) and no other."""

from __future__ import annotations

import io
import socket
from pathlib import Path

import pytest

from twin_server.config import Settings
from twin_server.demo.run import DemoOptions, run_demo

pytestmark = pytest.mark.anyio


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("mqtt", ["127.0.0.1:1883", "off"])
async def test_the_injected_fault_stops_that_pump_and_no_other(tmp_path: Path, mqtt: str) -> None:
    out = io.StringIO()
    options = DemoOptions(
        pumps=3,
        inject_fault="pump-2",
        fault_after=1.0,
        ramp=4.0,
        duration=40.0,
        until_stopped=True,
        mqtt=mqtt,
        data_dir=tmp_path / "demo",
        period=0.25,
    )
    status = await run_demo(Settings(port=free_port()), options, out)
    story = out.getvalue()
    assert status == 0, story
    assert f"motor sensors report over {'MQTT' if mqtt != 'off' else 'HTTP'}" in story
    assert "pump-2: fault injected (bearing" in story
    assert "ANOMALY (over 0.5)" in story
    assert "pump-2: command setSpeed(0.0) from rule: succeeded" in story
    assert "pump-2: speed 0 rpm: the pump has stopped" in story
    for other in ("pump-1", "pump-3"):
        assert f"{other}: command" not in story, story
        assert f"{other}: speed 0" not in story, story
    assert "automation rate 1.0" in story
