"""Every setting is documented in README.md under its environment variable, and secrets stay masked."""

from __future__ import annotations

from pathlib import Path

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
