"""Every setting is documented in README.md under its environment variable, and secrets stay masked."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from homeport.config import Settings

README = (Path(__file__).parents[1] / "README.md").read_text()


def test_every_setting_is_documented() -> None:
    for name, field in Settings.model_fields.items():
        assert f"HOMEPORT_{name.upper()}" in README, name
        assert field.description, name


def test_lists_come_from_comma_separated_variables(monkeypatch: object) -> None:
    settings = Settings(aliases="a, b", api_keys="proj:sk-1,sk-2")  # type: ignore[arg-type]
    assert settings.aliases == ["a", "b"]
    assert [key.get_secret_value() for key in settings.api_keys] == ["proj:sk-1", "sk-2"]
    assert "sk-1" not in repr(settings)
    assert all(isinstance(key, SecretStr) for key in settings.api_keys)


def test_connectors_and_outbound_come_from_variables() -> None:
    settings = Settings(
        mcp_connectors="connector_gmail=http://10.0.0.5/mcp, connector_dropbox=https://d.example/sse",  # type: ignore[arg-type]
        outbound_allow="127.0.0.1/32, localhost",  # type: ignore[arg-type]
    )
    assert settings.mcp_connectors == {
        "connector_gmail": "http://10.0.0.5/mcp",
        "connector_dropbox": "https://d.example/sse",
    }
    assert settings.outbound_allow == ["127.0.0.1/32", "localhost"]
    with pytest.raises(ValueError, match="connector_id=URL"):
        Settings(mcp_connectors="connector_gmail")  # type: ignore[arg-type]
