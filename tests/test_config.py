"""Configuration: defaults, TWIN_* variables, and invalid values refused."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from twin_server.cli import main
from twin_server.config import Settings


def test_defaults_are_the_embedded_broker_on_1026() -> None:
    settings = Settings()
    assert settings.port == 1026
    assert settings.resolved_store_url.startswith("sqlite:///")
    assert settings.resolved_store_url.endswith("twins.db")


def test_environment_variables_configure_the_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWIN_PORT", "2000")
    monkeypatch.setenv("TWIN_STORE_URL", "memory://")
    settings = Settings()
    assert settings.port == 2000
    assert settings.resolved_store_url == "memory://"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TWIN_PORT", "70000"),
        ("TWIN_STORE_URL", "mongodb://x"),
        ("TWIN_LOG_LEVEL", "loud"),
        ("TWIN_MAX_BODY_BYTES", "-1"),
        ("TWIN_SQLITE_SYNCHRONOUS", "OFF"),
    ],
)
def test_invalid_settings_are_refused(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        Settings()


def test_cli_reports_invalid_configuration_and_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TWIN_PORT", "nope")
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert "TWIN_PORT: Input should be a valid integer" in err
    assert "'nope'" in err
