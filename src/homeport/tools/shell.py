"""The shell tools the client runs: `local_shell` (one command as argv, Codex's original tool) and `shell` (a list of
command lines, with the outcome of each sent back)."""

from __future__ import annotations

import json
from typing import Any, Literal

from openai.types.responses import ResponseFunctionShellToolCall, ResponseOutputItem
from openai.types.responses.response_output_item import LocalShellCall
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from homeport.engines.base import ToolCall
from homeport.engines.constraints import FunctionTool
from homeport.tools.base import ClientItems, ClientTool, strict_object

_STRICT = ConfigDict(extra="forbid", strict=True)
_ARGUMENT = {"type": "string", "minLength": 1, "maxLength": 400}
"""Bounded, as are the lists of them: a small model otherwise writes one until its tokens run out."""
_NULLABLE_INT = {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "null"}]}
_ItemStatus = Literal["in_progress", "completed", "incomplete"]


class Direct(BaseModel):
    """The only caller this server has: the model itself (no programmatic tool calling)."""

    model_config = _STRICT
    type: Literal["direct"]


class Local(BaseModel):
    """Where a shell call ran: the client's machine."""

    model_config = _STRICT
    type: Literal["local"]


class LocalShellParam(BaseModel):
    model_config = _STRICT
    type: Literal["local_shell"]


class LocalShellAction(BaseModel):
    model_config = _STRICT
    type: Literal["exec"]
    command: list[str] = Field(min_length=1)
    env: dict[str, str]
    timeout_ms: int | None = None
    user: str | None = None
    working_directory: str | None = None


class LocalShellCallItem(BaseModel):
    model_config = _STRICT
    type: Literal["local_shell_call"]
    id: str
    call_id: str = Field(min_length=1)
    status: _ItemStatus
    action: LocalShellAction


class LocalShellCallOutputItem(BaseModel):
    """What the command printed. The docs name the call by `call_id`, the SDK by `id`: either is the call's id, and
    the item gets one of its own."""

    model_config = _STRICT
    type: Literal["local_shell_call_output"]
    output: str
    call_id: str | None = Field(None, min_length=1)
    id: str | None = None
    status: _ItemStatus | None = None

    @model_validator(mode="after")
    def _names_its_call(self) -> LocalShellCallOutputItem:
        if self.call_id is None:
            if self.id is None:
                raise ValueError("'call_id' names the local shell call this output answers")
            self.call_id, self.id = self.id, None
        return self


def read_local_call(item: dict[str, Any]) -> ToolCall:
    action = item["action"]
    arguments = {key: action[key] for key in ("command", "working_directory", "env", "timeout_ms") if action.get(key)}
    return ToolCall("local_shell", arguments=json.dumps(arguments))


LOCAL_ITEMS = ClientItems(
    call_type="local_shell_call",
    output_type="local_shell_call_output",
    call=LocalShellCallItem,
    output=LocalShellCallOutputItem,
    call_prefix="lsh",
    output_prefix="lsho",
    read_call=read_local_call,
    read_output=lambda item: str(item["output"]),
)


class LocalShell(ClientTool):
    items = LOCAL_ITEMS

    @property
    def function(self) -> FunctionTool:
        parameters = {
            "type": "object",
            "properties": {
                "command": {"type": "array", "items": _ARGUMENT, "minItems": 1, "maxItems": 32},
                "working_directory": {"type": "string"},
                "env": {"type": "object", "additionalProperties": {"type": "string"}},
                "timeout_ms": {"type": "integer", "minimum": 1},
            },
            "required": ["command"],
            "additionalProperties": False,
        }
        description = "Runs one command on the user's machine, split into argv; its output comes back."
        return FunctionTool("local_shell", parameters, strict=False, description=description)

    def call(self, item_id: str, call_id: str, arguments: dict[str, Any]) -> ResponseOutputItem:
        action = {"type": "exec", "env": {}, "timeout_ms": None, "working_directory": None, **arguments}
        return LocalShellCall.model_validate(
            {"id": item_id, "type": "local_shell_call", "call_id": call_id, "status": "completed", "action": action}
        )


class Skill(BaseModel):
    model_config = _STRICT
    name: str = Field(min_length=1)
    description: str
    path: str = Field(min_length=1)


class LocalEnvironment(BaseModel):
    model_config = _STRICT
    type: Literal["local"]
    skills: list[Skill] = Field(default_factory=list)


class ShellParam(BaseModel):
    """The `shell` tool on the client's machine. Its hosted environments (`container_auto`, `container_reference`)
    are refused: this server runs shell commands only on the client's side."""

    model_config = _STRICT
    type: Literal["shell"]
    environment: LocalEnvironment | None = None
    allowed_callers: list[Literal["direct"]] | None = None

    @field_validator("environment", mode="before")
    @classmethod
    def _on_the_client(cls, environment: Any) -> Any:
        if isinstance(environment, dict) and str(environment.get("type")).startswith("container"):
            raise ValueError("this server runs shell commands on the client only ('local'), not in hosted containers")
        return environment

    def echo(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class ShellAction(BaseModel):
    model_config = _STRICT
    commands: list[str] = Field(min_length=1)
    max_output_length: int | None = None
    timeout_ms: int | None = None


class ShellCallItem(BaseModel):
    model_config = _STRICT
    type: Literal["shell_call"]
    call_id: str = Field(min_length=1)
    action: ShellAction
    id: str | None = None
    status: _ItemStatus | None = None
    environment: Local | None = None
    caller: Direct | None = None


class Exit(BaseModel):
    model_config = _STRICT
    type: Literal["exit"]
    exit_code: int


class Timeout(BaseModel):
    model_config = _STRICT
    type: Literal["timeout"]


class CommandOutput(BaseModel):
    model_config = _STRICT
    stdout: str
    stderr: str
    outcome: Exit | Timeout = Field(discriminator="type")


class ShellCallOutputItem(BaseModel):
    model_config = _STRICT
    type: Literal["shell_call_output"]
    call_id: str = Field(min_length=1)
    output: list[CommandOutput]
    id: str | None = None
    status: _ItemStatus | None = None
    max_output_length: int | None = None
    caller: Direct | None = None


def read_shell_call(item: dict[str, Any]) -> ToolCall:
    action = item["action"]
    arguments = {key: action.get(key) for key in ("commands", "timeout_ms", "max_output_length")}
    return ToolCall("shell", arguments=json.dumps(arguments))


def read_shell_output(item: dict[str, Any]) -> str:
    """Each command's output, cut to the item's `max_output_length` where it sets one, and how it ended."""
    limit = item.get("max_output_length")
    parts = []
    for output in item["output"]:
        outcome = output["outcome"]
        ended = "timed out" if outcome["type"] == "timeout" else f"exit code {outcome['exit_code']}"
        printed = "\n".join(text for text in (output["stdout"], output["stderr"]) if text)
        parts.append(f"{printed[:limit] if limit else printed}\n({ended})".lstrip())
    return "\n\n".join(parts)


SHELL_ITEMS = ClientItems(
    call_type="shell_call",
    output_type="shell_call_output",
    call=ShellCallItem,
    output=ShellCallOutputItem,
    call_prefix="sh",
    output_prefix="sho",
    read_call=read_shell_call,
    read_output=read_shell_output,
)


class Shell(ClientTool):
    items = SHELL_ITEMS

    def __init__(self, param: ShellParam) -> None:
        self._param = param

    @property
    def function(self) -> FunctionTool:
        parameters = strict_object(
            commands={"type": "array", "items": _ARGUMENT, "minItems": 1, "maxItems": 16},
            timeout_ms=_NULLABLE_INT,
            max_output_length=_NULLABLE_INT,
        )
        description = "Runs shell command lines on the user's machine, in turn; the output of each comes back."
        skills = self._param.environment.skills if self._param.environment else []
        if skills:
            listed = "; ".join(f"{skill.name} ({skill.path}): {skill.description}" for skill in skills)
            description += f" Skills installed there: {listed}."
        return FunctionTool("shell", parameters, description=description)

    def call(self, item_id: str, call_id: str, arguments: dict[str, Any]) -> ResponseOutputItem:
        environment = {"type": "local"} if self._param.environment else None
        return ResponseFunctionShellToolCall.model_validate(
            {
                "id": item_id,
                "type": "shell_call",
                "call_id": call_id,
                "status": "completed",
                "action": arguments,
                "environment": environment,
            }
        )
