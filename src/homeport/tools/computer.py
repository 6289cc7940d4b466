"""The computer use tools: the model acts on the client's screen one action at a time (`computer_use_preview`), or
a batch at a time (`computer`); the client performs the action and answers with a screenshot.

Safety checks are real where this server can judge them: once the user has named the sites to work on, a screenshot
taken on any other domain (its `current_url`) puts an `irrelevant_domain` check on the next call, and the client
must acknowledge it in that call's output before the conversation goes on. The other documented checks read the
screenshot, which the packaged text models cannot see, so they are never raised.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any, Literal
from urllib.parse import urlsplit

from openai.types.responses import ResponseComputerToolCall, ResponseOutputItem
from openai.types.responses.response_computer_tool_call import PendingSafetyCheck
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from homeport.engines.base import ToolCall
from homeport.engines.constraints import FunctionTool
from homeport.errors import InvalidRequest
from homeport.ids import new_id
from homeport.tools.base import ClientItems, ClientTool, strict_object, tagged

_STRICT = ConfigDict(extra="forbid", strict=True)
_DOMAIN = re.compile(r"\b((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,})\b")
IRRELEVANT = (
    "The current URL's domain ({host}) is not one this conversation asked to work on. Please acknowledge this "
    "warning if you'd like to proceed."
)


class ComputerUsePreviewParam(BaseModel):
    model_config = _STRICT
    type: Literal["computer_use_preview"]
    display_width: int = Field(gt=0, le=10_000)
    display_height: int = Field(gt=0, le=10_000)
    environment: Literal["windows", "mac", "linux", "ubuntu", "browser"]


class ComputerParam(BaseModel):
    model_config = _STRICT
    type: Literal["computer"]


def action_schema(width: int | None, height: int | None) -> dict[str, Any]:
    """One action of the SDK's `Action` union; coordinates stay on the display when its size is known."""
    x: dict[str, Any] = {"type": "integer", "minimum": 0, **({"maximum": width - 1} if width else {})}
    y: dict[str, Any] = {"type": "integer", "minimum": 0, **({"maximum": height - 1} if height else {})}
    point = {"x": x, "y": y}
    buttons = {"type": "string", "enum": ["left", "right", "wheel", "back", "forward"]}
    # Bounded: a small model otherwise writes one key, text or path until its tokens run out.
    keys = {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 20}, "minItems": 1, "maxItems": 4}
    path = {"type": "array", "items": strict_object(x=x, y=y), "minItems": 2, "maxItems": 16}
    offset = {"type": "integer"}
    return {
        "anyOf": [
            tagged("screenshot"),
            tagged("click", button=buttons, **point),
            tagged("double_click", **point),
            tagged("move", **point),
            tagged("drag", path=path),
            tagged("scroll", **point, scroll_x=offset, scroll_y=offset),
            tagged("type", text={"type": "string", "maxLength": 1000}),
            tagged("keypress", keys=keys),
            tagged("wait"),
        ]
    }


def _describe(screen: str) -> str:
    return (
        f"Acts on {screen}: click, type, scroll, press keys, or take a screenshot to see it. "
        "Each call answers with a screenshot."
    )


class AcknowledgedCheck(BaseModel):
    model_config = _STRICT
    id: str
    code: str | None = None
    message: str | None = None


class Screenshot(BaseModel):
    """The screenshot after the action; the docs' loop sends it as an `input_image`, and it is stored as the
    `computer_screenshot` it stands for."""

    model_config = _STRICT
    type: Literal["computer_screenshot", "input_image"]
    image_url: str | None = None
    file_id: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Screenshot:
        if (self.image_url is None) == (self.file_id is None):
            raise ValueError("a screenshot has exactly one of 'image_url' or 'file_id'")
        return self


class ComputerCallItem(BaseModel):
    """A `computer_call` replayed as input."""

    model_config = _STRICT
    type: Literal["computer_call"]
    id: str
    call_id: str = Field(min_length=1)
    status: Literal["in_progress", "completed", "incomplete"]
    pending_safety_checks: list[AcknowledgedCheck]
    action: dict[str, Any] | None = None
    actions: list[dict[str, Any]] | None = None


class ComputerCallOutputItem(BaseModel):
    model_config = _STRICT
    type: Literal["computer_call_output"]
    call_id: str = Field(min_length=1)
    output: Screenshot
    id: str | None = None
    status: Literal["in_progress", "completed", "incomplete"] | None = None
    acknowledged_safety_checks: list[AcknowledgedCheck] = Field(default_factory=list)
    current_url: str | None = None

    @field_validator("output")
    @classmethod
    def _as_screenshot(cls, output: Screenshot) -> Screenshot:
        return output.model_copy(update={"type": "computer_screenshot"})


def read_call(item: dict[str, Any]) -> ToolCall:
    if item.get("actions") is not None:
        return ToolCall("computer", arguments=json.dumps({"actions": item["actions"]}))
    return ToolCall("computer", arguments=json.dumps({"action": item.get("action") or {"type": "screenshot"}}))


def read_output(item: dict[str, Any]) -> str:
    where = f" The screen shows {item['current_url']}." if item.get("current_url") else ""
    return f"Done; the client sent a screenshot, which this model cannot see.{where}"


def check_acknowledged(call: dict[str, Any], output: dict[str, Any], where: str) -> None:
    """Every safety check the call raised is acknowledged in its output, and nothing else is."""
    pending = {check["id"] for check in call.get("pending_safety_checks") or []}
    acknowledged = {check["id"] for check in output.get("acknowledged_safety_checks") or []}
    if missing := sorted(pending - acknowledged):
        raise InvalidRequest(
            f"Safety check {missing[0]} of computer call {call['call_id']} was not acknowledged; pass it back in "
            "'acknowledged_safety_checks' to proceed.",
            param=f"{where}.acknowledged_safety_checks",
        )
    if unknown := sorted(acknowledged - pending):
        raise InvalidRequest(
            f"Computer call {call['call_id']} has no pending safety check {unknown[0]}.",
            param=f"{where}.acknowledged_safety_checks",
        )


def safety_checks(items: Sequence[dict[str, Any]], suffix: str) -> list[PendingSafetyCheck]:
    """The checks the next computer call carries: `irrelevant_domain` when the latest screenshot's page is on a
    domain the user's messages did not name (and they named some)."""
    outputs = [item for item in items if item.get("type") == "computer_call_output"]
    url = outputs[-1].get("current_url") if outputs else None
    host = (urlsplit(url).hostname or "") if url else ""
    named = {domain for item in items if _from_user(item) for domain in _DOMAIN.findall(_text(item).lower())}
    if not host or not named or any(_related(host, domain) for domain in named):
        return []
    check = PendingSafetyCheck(
        id=new_id("cu_sc", suffix), code="irrelevant_domain", message=IRRELEVANT.format(host=host)
    )
    return [check]


def _from_user(item: dict[str, Any]) -> bool:
    return item.get("type", "message") == "message" and item.get("role") in ("user", "developer", "system")


def _text(item: dict[str, Any]) -> str:
    return " ".join(str(part.get("text") or "") for part in item.get("content") or [])


def _related(host: str, domain: str) -> bool:
    return host == domain or host.endswith("." + domain) or domain.endswith("." + host)


ITEMS = ClientItems(
    call_type="computer_call",
    output_type="computer_call_output",
    call=ComputerCallItem,
    output=ComputerCallOutputItem,
    call_prefix="cu",
    output_prefix="cuo",
    read_call=read_call,
    read_output=read_output,
    check=check_acknowledged,
)


class Computer(ClientTool):
    """Either computer tool of one request; `checks` are the safety checks its next call carries."""

    items = ITEMS

    def __init__(self, param: ComputerUsePreviewParam | ComputerParam, checks: Sequence[PendingSafetyCheck]) -> None:
        self._param = param
        self._checks = list(checks)

    @property
    def function(self) -> FunctionTool:
        param = self._param
        if isinstance(param, ComputerParam):
            actions = {"type": "array", "items": action_schema(None, None), "minItems": 1, "maxItems": 8}
            return FunctionTool("computer", strict_object(actions=actions), description=_describe("the user's screen"))
        screen = f"a {param.environment} screen of {param.display_width}x{param.display_height} pixels"
        action = action_schema(param.display_width, param.display_height)
        return FunctionTool("computer", strict_object(action=action), description=_describe(screen))

    def call(self, item_id: str, call_id: str, arguments: dict[str, Any]) -> ResponseOutputItem:
        return ResponseComputerToolCall.model_validate(
            {
                "id": item_id,
                "type": "computer_call",
                "call_id": call_id,
                "status": "completed",
                "pending_safety_checks": [check.model_dump() for check in self._checks],
                **arguments,
            }
        )
