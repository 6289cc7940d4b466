"""The apply_patch tool: the model creates, updates or deletes one file of the client's workspace per call, with a
V4A diff, and the client applies it and says whether it could."""

from __future__ import annotations

import json
from typing import Any, Literal

from openai.types.responses import ResponseApplyPatchToolCall, ResponseOutputItem
from pydantic import BaseModel, ConfigDict, Field, model_validator

from homeport.engines.base import ToolCall
from homeport.engines.constraints import FunctionTool
from homeport.tools.base import ClientItems, ClientTool, strict_object, tagged
from homeport.tools.shell import Direct

_STRICT = ConfigDict(extra="forbid", strict=True)
_TEXT = {"type": "string"}

DESCRIPTION = (
    "Creates, updates or deletes one file in the user's workspace. 'diff' is a V4A diff: for a new file every line "
    "starts with '+'; for an update, '@@' and a line of context, then the lines with ' ', '-' or '+'."
)


_PATH = {"type": "string", "minLength": 1}
PARAMETERS = strict_object(
    operation={
        "anyOf": [
            tagged("create_file", path=_PATH, diff=_TEXT),
            tagged("update_file", path=_PATH, diff=_TEXT),
            tagged("delete_file", path=_PATH),
        ]
    }
)


class ApplyPatchParam(BaseModel):
    model_config = _STRICT
    type: Literal["apply_patch"]
    allowed_callers: list[Literal["direct"]] | None = None

    def echo(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class Operation(BaseModel):
    model_config = _STRICT
    type: Literal["create_file", "update_file", "delete_file"]
    path: str = Field(min_length=1)
    diff: str | None = None

    @model_validator(mode="after")
    def _diff_unless_deleting(self) -> Operation:
        if (self.diff is None) != (self.type == "delete_file"):
            raise ValueError("'diff' belongs to 'create_file' and 'update_file' operations, and they need one")
        return self


class ApplyPatchCallItem(BaseModel):
    model_config = _STRICT
    type: Literal["apply_patch_call"]
    call_id: str = Field(min_length=1)
    operation: Operation
    status: Literal["in_progress", "completed"]
    id: str | None = None
    caller: Direct | None = None


class ApplyPatchCallOutputItem(BaseModel):
    model_config = _STRICT
    type: Literal["apply_patch_call_output"]
    call_id: str = Field(min_length=1)
    status: Literal["completed", "failed"]
    output: str | None = None
    id: str | None = None
    caller: Direct | None = None


def read_call(item: dict[str, Any]) -> ToolCall:
    return ToolCall("apply_patch", arguments=json.dumps({"operation": item["operation"]}))


def read_output(item: dict[str, Any]) -> str:
    said = f": {item['output']}" if item.get("output") else "."
    return ("Applied" if item["status"] == "completed" else "Failed") + said


ITEMS = ClientItems(
    call_type="apply_patch_call",
    output_type="apply_patch_call_output",
    call=ApplyPatchCallItem,
    output=ApplyPatchCallOutputItem,
    call_prefix="apc",
    output_prefix="apco",
    read_call=read_call,
    read_output=read_output,
)


class ApplyPatch(ClientTool):
    items = ITEMS

    @property
    def function(self) -> FunctionTool:
        return FunctionTool("apply_patch", PARAMETERS, description=DESCRIPTION)

    def call(self, item_id: str, call_id: str, arguments: dict[str, Any]) -> ResponseOutputItem:
        return ResponseApplyPatchToolCall.model_validate(
            {"id": item_id, "type": "apply_patch_call", "call_id": call_id, "status": "completed", **arguments}
        )
