"""``twin-server models validate``: a modeler's CI gets lines to read and an exit code."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.modeling.test_parser import ASSET, MOTOR, PUMP
from twin_server.cli import main


def write(path: Path, doc: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2))
    return path


def test_valid_files_exit_0(tmp_path: Path, capsys: object) -> None:
    write(tmp_path / "models" / "pump.json", PUMP)
    write(tmp_path / "models" / "asset.json", ASSET)
    write(tmp_path / "models" / "nested" / "motor.json", MOTOR)
    assert main(["models", "validate", str(tmp_path / "models")]) == 0


def test_invalid_files_print_file_line_id_message_and_exit_1(tmp_path: Path) -> None:
    bad = dict(MOTOR, contents=[{"@type": "Telemetry", "name": "temperature", "schema": "doubel"}])
    path = write(tmp_path / "motor.json", bad)
    run = subprocess.run(
        [sys.executable, "-m", "twin_server", "models", "validate", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 1
    assert run.stdout.startswith(f"{path}:9: dtmi:dtdl:parsingError:badDtmiOrTerm: ")
    assert "1 error in 1 file(s)" in run.stderr


def test_a_repository_folder_resolves_missing_dtmis(tmp_path: Path) -> None:
    write(tmp_path / "repo" / "dtmi" / "com" / "example" / "asset-1.json", ASSET)
    write(tmp_path / "repo" / "dtmi" / "com" / "example" / "motor-1.json", MOTOR)
    pump = write(tmp_path / "pump.json", PUMP)
    assert main(["models", "validate", str(pump)]) == 1
    assert main(["models", "validate", str(pump), "--repository", str(tmp_path / "repo")]) == 0


def test_a_missing_path_exits_2(tmp_path: Path) -> None:
    assert main(["models", "validate", str(tmp_path / "nope.json")]) == 2
