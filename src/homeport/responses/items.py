"""Input items: from what a client sends, to what `input_items` lists, to what the model reads.

Stored items use the wire shape of the SDK's `ResponseItem` (ids assigned, status completed), so the listing
endpoint returns them as they are and a chained response can replay them.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from homeport.engines.base import ChatMessage, ToolCall
from homeport.errors import InvalidRequest, invalid_request_from
from homeport.ids import new_id
from homeport.responses.documents import Documents, check_file_part, document_key
from homeport.responses.params import (
    CustomToolCallItem,
    CustomToolCallOutputItem,
    FunctionCallItem,
    FunctionCallOutputItem,
    InputFile,
    InputImage,
    InputText,
    MessageItem,
    OutputText,
    Refusal,
)
from homeport.tools.registry import (
    ANSWERS,
    CLIENT_ITEM_TYPES,
    SERVER_ITEM_TYPES,
    check_client_output,
    parse_client_item,
    parse_server_item,
    replay_client_item,
    replay_server_item,
)

_MESSAGE = TypeAdapter(MessageItem)

Item = dict[str, Any]

# Each input item type other than messages: its model, and the prefix of the ids minted for it.
_TOOL_ITEMS: dict[str, tuple[type[BaseModel], str]] = {
    "function_call": (FunctionCallItem, "fc"),
    "custom_tool_call": (CustomToolCallItem, "ctc"),
    "function_call_output": (FunctionCallOutputItem, "fco"),
    "custom_tool_call_output": (CustomToolCallOutputItem, "ctco"),
}
CALLS = ("function_call", "custom_tool_call")
OUTPUTS = ("function_call_output", "custom_tool_call_output")


def parse_input(
    raw: str | list[dict[str, Any]] | None, *, accepts_images: bool, suffix: str, param: str = "input"
) -> list[Item]:
    """Validate input items (a request's `input`, a conversation's `items`) and return them as stored, in order."""
    if raw is None:
        return []
    if isinstance(raw, str):
        raw = [{"role": "user", "content": raw}]
    items: list[Item] = []
    for index, entry in enumerate(raw):
        where = f"{param}[{index}]"
        kind = entry.get("type", "message")
        known = kind == "message" or kind in _TOOL_ITEMS or kind in SERVER_ITEM_TYPES or kind in CLIENT_ITEM_TYPES
        if not known:
            raise InvalidRequest(f"Input items of type '{kind}' are not supported yet.", param=f"{where}.type")
        try:
            if kind in SERVER_ITEM_TYPES:
                item = parse_server_item(entry, where)
            elif kind in CLIENT_ITEM_TYPES:
                item = parse_client_item(entry, where, suffix)
            elif kind == "message":
                item = _stored_message(
                    _MESSAGE.validate_python(entry), where, accepts_images=accepts_images, suffix=suffix
                )
            else:
                item = _stored_tool_item(kind, entry, where, accepts_images=accepts_images, suffix=suffix)
        except ValidationError as exc:
            raise invalid_request_from(exc, prefix=where) from exc
        if any(earlier["id"] == item["id"] for earlier in items):
            raise InvalidRequest(f"Item id '{item['id']}' appears twice in the input.", param=f"{where}.id")
        items.append(item)
    return items


def _stored_message(message: MessageItem, param: str, *, accepts_images: bool, suffix: str) -> Item:
    content_in = message.content
    parts = [InputText(type="input_text", text=content_in)] if isinstance(content_in, str) else content_in
    assistant = message.role == "assistant"
    content: list[dict[str, Any]] = []
    for index, part in enumerate(parts):
        where = f"{param}.content[{index}]"
        if isinstance(part, InputImage) and not accepts_images:
            raise InvalidRequest("The served model cannot see images; 'input_image' is not accepted.", param=where)
        if isinstance(part, InputFile):
            if assistant:
                raise InvalidRequest("'input_file' content belongs to user messages.", param=where)
            check_file_part(part.model_dump(), where)
        if assistant and isinstance(part, InputText | OutputText):
            content.append({"type": "output_text", "text": part.text, "annotations": []})
        elif isinstance(part, Refusal):
            if not assistant:
                raise InvalidRequest("Only assistant messages may carry a refusal.", param=where)
            content.append({"type": "refusal", "refusal": part.refusal})
        elif isinstance(part, OutputText):
            raise InvalidRequest("'output_text' content belongs to assistant messages.", param=where)
        else:
            content.append(part.model_dump(exclude_none=True))
    return {
        "id": message.id or new_id("msg", suffix),
        "type": "message",
        "role": message.role,
        "content": content,
        "status": "completed",
    }


def _stored_tool_item(kind: str, entry: dict[str, Any], param: str, *, accepts_images: bool, suffix: str) -> Item:
    model, prefix = _TOOL_ITEMS[kind]
    validated = model.model_validate(entry)
    item = validated.model_dump(exclude_none=True)
    output = item.get("output")
    for index, part in enumerate(output if isinstance(output, list) else []):
        where = f"{param}.output[{index}]"
        if part["type"] == "input_image" and not accepts_images:
            raise InvalidRequest("The served model cannot see images; 'input_image' is not accepted.", param=where)
        if part["type"] == "input_file":
            raise InvalidRequest("'input_file' content is not supported yet.", param=where)
    # A replayed item keeps its id and status (a call cut short stays `incomplete`); a new one is complete.
    return {**item, "id": item.get("id") or new_id(prefix, suffix), "status": item.get("status") or "completed"}


def check_outputs_answer_calls(earlier: Sequence[Item], items: Sequence[Item], param: str = "input") -> None:
    """Every tool output must answer a call made earlier in the conversation (or replayed in the same input): a
    function's or custom tool's output either kind of call, a built-in tool's output a call of that tool, as it
    stands (a computer call's safety checks acknowledged)."""
    calls = {(item["type"], item["call_id"]): item for item in [*earlier, *items] if "call_id" in item}
    for index, item in enumerate(items):
        kind = str(item.get("type"))
        answered = CALLS if kind in OUTPUTS else (ANSWERS[kind],) if kind in ANSWERS else ()
        if not answered:
            continue
        call = next((calls[key] for key in ((each, item["call_id"]) for each in answered) if key in calls), None)
        if call is None:
            raise InvalidRequest(
                f"No tool call found for {kind.replace('_', ' ')} with call_id {item['call_id']}.",
                param=f"{param}[{index}].call_id",
            )
        if kind in ANSWERS:
            check_client_output(call, item, f"{param}[{index}]")


def chat_turns(items: Sequence[Item], documents: Documents | None = None) -> list[ChatMessage]:
    """What the model reads of stored items (input or earlier output): messages (an `input_file` as its extracted
    text, from `documents`), then each assistant turn's tool calls joined to it, and each tool output as a `tool`
    turn."""
    turns: list[ChatMessage] = []
    for item in items:
        kind = item.get("type")
        if kind == "message":
            texts = [_part_text(part, documents or {}) for part in item.get("content", [])]
            role = item["role"]
            turns.append(ChatMessage(role="system" if role == "developer" else role, content="\n".join(texts)))
        elif kind in CALLS:
            call = ToolCall(item["name"], arguments=item.get("arguments"), input=item.get("input"))
            _join_call(turns, call)
        elif kind in CLIENT_ITEM_TYPES:
            read = replay_client_item(item)
            if isinstance(read, ToolCall):
                _join_call(turns, read)
            else:
                turns.append(ChatMessage("tool", read))
        elif kind in SERVER_ITEM_TYPES and (replayed := replay_server_item(item, items)) is not None:
            _join_call(turns, replayed[0])
            turns.append(ChatMessage("tool", replayed[1]))
        elif kind in OUTPUTS:
            turns.append(ChatMessage("tool", output_text(item["output"])))
    return turns


def _join_call(turns: list[ChatMessage], call: ToolCall) -> None:
    """A call joins the assistant turn it follows, or opens one."""
    if turns and turns[-1].role == "assistant":
        turns[-1] = replace(turns[-1], tool_calls=(*turns[-1].tool_calls, call))
    else:
        turns.append(ChatMessage("assistant", "", (call,)))


def _part_text(part: dict[str, Any], documents: Documents) -> str:
    if part.get("type") == "input_file":
        return documents.get(document_key(part), "")
    return str(part.get("text") or part.get("refusal") or "")


def output_text(output: str | list[dict[str, Any]]) -> str:
    """A tool output as the model reads it: the string, or its text parts joined."""
    if isinstance(output, str):
        return output
    return "\n".join(part.get("text", "") for part in output if part.get("type") == "input_text")


def shown_items(items: list[Item], include: Sequence[str]) -> list[Item]:
    """Logprobs and file search results are stored when they were asked for at creation, and shown only when
    asked for again."""
    shown = copy.deepcopy(items)
    for item in shown:
        if item.get("type") == "file_search_call" and "file_search_call.results" not in include:
            item["results"] = None
        if item.get("type") == "web_search_call" and "web_search_call.action.sources" not in include:
            item.get("action", {}).pop("sources", None)
        if item.get("type") == "code_interpreter_call" and "code_interpreter_call.outputs" not in include:
            item["outputs"] = None
        if "message.output_text.logprobs" in include:
            continue
        for part in item.get("content", []) if item.get("type") == "message" else []:
            if part.get("type") == "output_text" and part.get("logprobs"):
                part["logprobs"] = []
    return shown
