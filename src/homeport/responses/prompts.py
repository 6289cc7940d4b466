"""Reusable prompts: operator-defined instructions that a request names with `prompt={"id", "version", "variables"}`.

Each prompt is a JSON file in the prompts directory (read at every request, so an edit takes effect at once):

    {"id": "pmpt_support",
     "versions": {"1": {"instructions": "You help customers of {{company}}.", "model": "gpt-4o",
                        "variables": {"company": "Acme"}}}}

`variables` holds defaults; a `{{name}}` with no default and no value in the request is a 400. The newest version is
the one with the highest number (or the last listed, when versions are not numbers).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from homeport.errors import InvalidRequest, NotFound

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_STRICT = ConfigDict(extra="forbid", strict=True)


class PromptVersion(BaseModel):
    model_config = _STRICT
    instructions: str
    model: str | None = None
    variables: dict[str, str] = Field(default_factory=dict)


class PromptFile(BaseModel):
    model_config = _STRICT
    id: str = Field(pattern=r"^[A-Za-z0-9_\-.]+$")
    versions: dict[str, PromptVersion] = Field(min_length=1)

    @property
    def latest(self) -> str:
        keys = list(self.versions)
        return max(keys, key=int) if all(key.isdigit() for key in keys) else keys[-1]


@dataclass(frozen=True)
class ResolvedPrompt:
    """A prompt with its variables substituted: what the response echoes and what the model reads."""

    id: str
    version: str
    instructions: str
    model: str | None
    variables: dict[str, Any] = field(default_factory=dict)


class PromptLibrary:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def load(self) -> tuple[dict[str, PromptFile], list[str]]:
        """Every valid prompt by id, and a line per file that could not be read (for `homeport prompts list`)."""
        prompts: dict[str, PromptFile] = {}
        problems: list[str] = []
        for path in sorted(self.directory.glob("*.json")) if self.directory.is_dir() else []:
            try:
                prompt = PromptFile.model_validate(json.loads(path.read_text()))
            except (OSError, json.JSONDecodeError, ValidationError) as exc:
                problems.append(f"{path.name}: {exc}".splitlines()[0])
                continue
            prompts[prompt.id] = prompt
        return prompts, problems

    def resolve(self, request: dict[str, Any]) -> ResolvedPrompt:
        """The request's `prompt` object resolved: 404 for an unknown id or version, 400 for a bad variable."""
        prompt = self.load()[0].get(request["id"])
        if prompt is None:
            raise NotFound(f"Prompt with id '{request['id']}' not found.", param="prompt.id")
        version_name = request.get("version") or prompt.latest
        version = prompt.versions.get(version_name)
        if version is None:
            raise NotFound(f"Prompt '{prompt.id}' has no version '{version_name}'.", param="prompt.version")
        given = request.get("variables") or {}
        values = {**version.variables, **{name: _variable_text(name, value) for name, value in given.items()}}
        wanted = placeholders(version.instructions)
        unknown = sorted(set(given) - wanted)
        if unknown:
            raise InvalidRequest(
                f"Prompt '{prompt.id}' has no variable '{unknown[0]}'.", param=f"prompt.variables.{unknown[0]}"
            )
        missing = sorted(wanted - set(values))
        if missing:
            raise InvalidRequest(
                f"Missing value for prompt variable '{missing[0]}'.", param=f"prompt.variables.{missing[0]}"
            )
        instructions = _PLACEHOLDER.sub(lambda match: values[match.group(1)], version.instructions)
        return ResolvedPrompt(prompt.id, version_name, instructions, version.model, dict(given))


def placeholders(instructions: str) -> set[str]:
    """The `{{name}}` variables an instructions template uses."""
    return set(_PLACEHOLDER.findall(instructions))


def _variable_text(name: str, value: Any) -> str:
    """A variable's value as text: a string, or an `input_text` part. Images and files cannot go into text."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and value.get("type") == "input_text" and isinstance(value.get("text"), str):
        return str(value["text"])
    kind = value.get("type") if isinstance(value, dict) else type(value).__name__
    raise InvalidRequest(
        f"Prompt variable '{name}' of type '{kind}' is not supported: the served model reads text only.",
        param=f"prompt.variables.{name}",
    )
