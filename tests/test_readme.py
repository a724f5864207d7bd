"""The README's set-up commands exist and its curl examples work against a live server."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.server import ServerProcess
from twin_server.config import Settings

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_readme_starts_with_the_two_commands_and_ci_runs_the_test_command() -> None:
    setup = README.split("## Configuration")[0]
    assert "scripts/serve" in setup
    assert "scripts/test" in setup
    assert "scripts/test" in (ROOT / ".ci" / "run").read_text()


def test_every_setting_is_documented_in_the_readme() -> None:
    for name in Settings.model_fields:
        assert f"`TWIN_{name.upper()}`" in README, name


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_examples_succeed_against_a_live_server(tmp_path: Path) -> None:
    block = README.split("Examples (the test suite")[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = [c for c in re.split(r"\n(?=curl|#)", block.strip()) if c.startswith("curl")]
    assert len(commands) >= 6
    server = ServerProcess(tmp_path).start()
    try:
        for command in commands:
            done = subprocess.run(
                ["bash", "-c", command],
                capture_output=True,
                text=True,
                env={"BROKER": server.url, "PATH": "/usr/bin:/bin"},
                cwd=ROOT,
                timeout=30,
                check=False,
            )
            assert done.returncode == 0, f"{command}\n{done.stdout}{done.stderr}"
    finally:
        server.stop()
