"""Chat Completions `messages`: validated one by one, turned into what the model reads and into what is stored.

Each message is checked against the model of its role (so an error names `messages[i].<field>`), its text parts are
joined the way `responses.items` joins input text, and it is kept in the shape
`GET /v1/chat/completions/{id}/messages` lists: `{id, role, content, name, content_parts}`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Tag, ValidationError

from homeport.engines.base import ChatMessage, Role, ToolCall
from homeport.errors import InvalidRequest, invalid_request_from
from homeport.responses.documents import Documents, check_file_part, document_key
from homeport.responses.params import by_type
from homeport.responses.sampling import STRICT


class _Text(BaseModel):
    model_config = STRICT
    type: Literal["text"]
    text: str
    prompt_cache_breakpoint: dict[str, Any] | None = None


class _FileRef(BaseModel):
    model_config = STRICT
    file_id: str | None = None
    file_data: str | None = None
    filename: str | None = None


class _File(BaseModel):
    model_config = STRICT
    type: Literal["file"]
    file: _FileRef


class _Refusal(BaseModel):
    model_config = STRICT
    type: Literal["refusal"]
    refusal: str


class _Message(BaseModel):
    model_config = STRICT
    role: str
    content: str | list[dict[str, Any]] | None
    name: str | None = None


class _Instruction(_Message):
    role: Literal["system", "developer"]
    content: str | list[dict[str, Any]]


class _User(_Message):
    role: Literal["user"]
    content: str | list[dict[str, Any]]


class _Function(BaseModel):
    model_config = STRICT
    name: str
    arguments: str


class _FunctionCall(BaseModel):
    model_config = STRICT
    id: str
    type: Literal["function"]
    function: _Function


class _Custom(BaseModel):
    model_config = STRICT
    name: str
    input: str


class _CustomCall(BaseModel):
    model_config = STRICT
    id: str
    type: Literal["custom"]
    custom: _Custom


class _Assistant(_Message):
    role: Literal["assistant"]
    content: str | list[dict[str, Any]] | None = None
    refusal: str | None = None
    tool_calls: (
        list[
            Annotated[
                Annotated[_FunctionCall, Tag("FunctionCall")] | Annotated[_CustomCall, Tag("CustomCall")],
                by_type(function="FunctionCall", custom="CustomCall"),
            ]
        ]
        | None
    ) = None
    function_call: dict[str, Any] | None = None
    audio: dict[str, Any] | None = None
    annotations: list[dict[str, Any]] | None = None
    """Sent back when a client replays the SDK's message object (as the docs' round trips do); not read."""


class _Tool(_Message):
    role: Literal["tool"]
    content: str | list[dict[str, Any]]
    tool_call_id: str


class _LegacyFunction(_Message):
    role: Literal["function"]
    name: str


_ROLES: dict[str, type[_Message]] = {
    "system": _Instruction,
    "developer": _Instruction,
    "user": _User,
    "assistant": _Assistant,
    "tool": _Tool,
    "function": _LegacyFunction,
}

# What the chat template calls each role that reaches it (legacy function messages are refused before this).
_MODEL_ROLES: dict[str, Role] = {
    "system": "system",
    "developer": "system",
    "user": "user",
    "assistant": "assistant",
    "tool": "tool",
}

_LEGACY_FUNCTIONS = "The deprecated 'functions' interface is not supported; use 'tools' and 'tool' messages."

# Content parts of other kinds that the SDK can send, and why each is refused.
_REFUSED_PARTS = {
    "image_url": "The served model cannot see images; 'image_url' content is not accepted.",
    "input_audio": "The served model cannot hear audio; 'input_audio' content is not accepted.",
}


def chat_file_parts(raw: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """The documents of `file` content parts, each with where it is (`messages[1].content[0].file`)."""
    found = []
    for index, entry in enumerate(raw):
        content = entry.get("content") if isinstance(entry, dict) else None
        for position, part in enumerate(content if isinstance(content, list) else []):
            if isinstance(part, dict) and part.get("type") == "file" and isinstance(part.get("file"), dict):
                found.append((f"messages[{index}].content[{position}].file", part["file"]))
    return found


def chat_messages(
    raw: list[dict[str, Any]], completion_id: str, documents: Documents | None = None
) -> tuple[list[ChatMessage], list[dict[str, Any]]]:
    """The model's messages and the stored ones (ids `<completion id>-<index>`, as OpenAI numbers them). A `file`
    part reads as its document's text, from `documents`."""
    model: list[ChatMessage] = []
    stored: list[dict[str, Any]] = []
    call_ids: set[str] = set()
    for index, entry in enumerate(raw):
        where = f"messages[{index}]"
        message = _validate(entry, where)
        content, parts = _content(message, where, documents or {})
        refusal = message.refusal if isinstance(message, _Assistant) else None
        calls = (message.tool_calls or []) if isinstance(message, _Assistant) else []
        # An assistant turn replayed as history reads as its text and its refusal, whichever it has.
        said = [text for text in (content, refusal) if text is not None]
        if not said and not calls:
            raise InvalidRequest(
                f"Missing required parameter: '{where}.content'.",
                param=f"{where}.content",
                code="missing_required_parameter",
            )
        if isinstance(message, _Tool) and message.tool_call_id not in call_ids:
            raise InvalidRequest(
                f"Invalid parameter: '{where}' has role 'tool' but answers no earlier tool call with id "
                f"'{message.tool_call_id}'.",
                param=f"{where}.tool_call_id",
            )
        call_ids.update(call.id for call in calls)
        model.append(ChatMessage(_MODEL_ROLES[message.role], "\n".join(said), tuple(map(_tool_call, calls))))
        record = {"id": f"{completion_id}-{index}", "role": message.role, "content": content, "name": None}
        extra = message.model_dump(include={"refusal", "tool_calls", "tool_call_id"}, exclude_none=True)
        stored.append(record | {"content_parts": parts} | extra)
    return model, stored


def _tool_call(call: _FunctionCall | _CustomCall) -> ToolCall:
    if isinstance(call, _FunctionCall):
        return ToolCall(call.function.name, arguments=call.function.arguments)
    return ToolCall(call.custom.name, input=call.custom.input)


def _file_text(part: dict[str, Any], where: str, documents: Documents, *, assistant: bool) -> str:
    if assistant:
        raise InvalidRequest("'file' content belongs to user messages.", param=where)
    try:
        file = _File.model_validate(part).file.model_dump(exclude_none=True)
    except ValidationError as exc:
        raise invalid_request_from(exc, prefix=where) from exc
    check_file_part(file, f"{where}.file")
    return documents.get(document_key(file), "")


def _validate(entry: dict[str, Any], where: str) -> _Message:
    role = entry.get("role")
    if role is None:
        raise InvalidRequest(
            f"Missing required parameter: '{where}.role'.", param=f"{where}.role", code="missing_required_parameter"
        )
    kind = _ROLES.get(role) if isinstance(role, str) else None
    if kind is None:
        raise InvalidRequest(
            f"Invalid value for '{where}.role': {role!r}; expected one of {', '.join(map(repr, _ROLES))}.",
            param=f"{where}.role",
            code="invalid_value",
        )
    try:
        message = kind.model_validate(entry)
    except ValidationError as exc:
        raise invalid_request_from(exc, prefix=where) from exc
    if isinstance(message, _LegacyFunction):
        raise InvalidRequest(_LEGACY_FUNCTIONS, param=f"{where}.role")
    if isinstance(message, _Assistant):
        if message.function_call is not None:
            raise InvalidRequest(_LEGACY_FUNCTIONS, param=f"{where}.function_call")
        if message.audio is not None:
            raise InvalidRequest("The served model cannot replay audio answers.", param=f"{where}.audio")
    if message.name is not None:
        raise InvalidRequest(
            "Participant names are not supported: the model's chat template has no place for them.",
            param=f"{where}.name",
        )
    return message


def _content(message: _Message, where: str, documents: Documents) -> tuple[str | None, list[dict[str, Any]] | None]:
    """The content's text, and its parts as given (None when the content was a plain string or absent)."""
    if message.content is None or isinstance(message.content, str):
        return message.content, None
    texts = [
        _part_text(part, f"{where}.content[{index}]", documents, assistant=isinstance(message, _Assistant))
        for index, part in enumerate(message.content)
    ]
    return "\n".join(texts), message.content


def _part_text(part: dict[str, Any], where: str, documents: Documents, *, assistant: bool) -> str:
    kind = part.get("type")
    if kind in _REFUSED_PARTS:
        raise InvalidRequest(_REFUSED_PARTS[kind], param=where)
    if kind == "refusal" and not assistant:
        raise InvalidRequest("Only assistant messages may carry a refusal.", param=where)
    if kind == "file":
        return _file_text(part, where, documents, assistant=assistant)
    shape = _Refusal if kind == "refusal" else _Text
    try:
        validated = shape.model_validate(part)
    except ValidationError as exc:
        raise invalid_request_from(exc, prefix=where) from exc
    if isinstance(validated, _Refusal):
        return validated.refusal
    if validated.prompt_cache_breakpoint is not None:
        raise InvalidRequest(
            "Prompt cache breakpoints are not supported; the engine reuses any shared prefix by itself.",
            param=f"{where}.prompt_cache_breakpoint",
        )
    return validated.text
