"""Chat Completions `tools` and `tool_choice`, in their nested wire shape (`{"type": "function", "function": {...}}`),
parsed into the same tools and `ToolChoice` the Responses API uses (`tool_params.py`).

Function tools are not strict unless they say so, as on OpenAI's Chat Completions. The deprecated `functions` and
`function_call` fields are refused with a pointer to `tools`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, Tag, TypeAdapter, ValidationError

from homeport.engines import Engine
from homeport.engines.constraints import Tool
from homeport.errors import InvalidRequest, invalid_request_from
from homeport.responses.params import by_type
from homeport.responses.tool_params import (
    TOOL_NAME,
    TextInputFormat,
    ToolChoice,
    check_unique_names,
    custom_tool,
    function_tool,
    input_grammar,
    named_tool,
    only_keys,
    tool_mode,
)

_STRICT = ConfigDict(extra="forbid", strict=True)


class _FunctionDefinition(BaseModel):
    model_config = _STRICT
    name: str = Field(pattern=TOOL_NAME)
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class _FunctionTool(BaseModel):
    model_config = _STRICT
    type: Literal["function"]
    function: _FunctionDefinition


class _Grammar(BaseModel):
    model_config = _STRICT
    syntax: Literal["lark", "regex"]
    definition: str


class _GrammarFormat(BaseModel):
    model_config = _STRICT
    type: Literal["grammar"]
    grammar: _Grammar


class _CustomDefinition(BaseModel):
    model_config = _STRICT
    name: str = Field(pattern=TOOL_NAME)
    description: str | None = None
    format: (
        Annotated[
            Annotated[TextInputFormat, Tag("TextInputFormat")] | Annotated[_GrammarFormat, Tag("GrammarFormat")],
            by_type(text="TextInputFormat", grammar="GrammarFormat"),
        ]
        | None
    ) = None


class _CustomTool(BaseModel):
    model_config = _STRICT
    type: Literal["custom"]
    custom: _CustomDefinition


_TOOL: TypeAdapter[_FunctionTool | _CustomTool] = TypeAdapter(
    Annotated[
        Annotated[_FunctionTool, Tag("FunctionTool")] | Annotated[_CustomTool, Tag("CustomTool")],
        by_type(function="FunctionTool", custom="CustomTool"),
    ]
)


def chat_tools(raw: Sequence[dict[str, Any]] | None, engine: Engine) -> list[Tool]:
    tools: list[Tool] = []
    for index, entry in enumerate(raw or ()):
        where = f"tools[{index}]"
        if entry.get("type") not in ("function", "custom"):
            raise InvalidRequest(
                f"Invalid value for '{where}.type': {entry.get('type')!r}; expected 'function' or 'custom'.",
                param=f"{where}.type",
                code="invalid_value",
            )
        try:
            tool = _TOOL.validate_python(entry)
        except ValidationError as exc:
            raise invalid_request_from(exc, prefix=where) from exc
        if isinstance(tool, _FunctionTool):
            function = tool.function
            tools.append(
                function_tool(
                    function.name,
                    function.description,
                    function.parameters,
                    function.strict is True,
                    f"{where}.function",
                    engine,
                )
            )
        else:
            custom = tool.custom
            grammar = custom.format.grammar if isinstance(custom.format, _GrammarFormat) else None
            tools.append(
                custom_tool(
                    custom.name,
                    custom.description,
                    input_grammar(grammar.syntax, grammar.definition) if grammar else None,
                    f"{where}.custom.format.grammar.definition",
                    engine,
                )
            )
    check_unique_names(tools)
    return tools


def chat_tool_choice(raw: str | dict[str, Any] | None, tools: Sequence[Tool]) -> ToolChoice:
    """`none`/`auto`/`required`, a named function or custom tool, or `allowed_tools`."""
    if raw is None or isinstance(raw, str):
        return tool_mode(raw or ("auto" if tools else "none"), tools)
    kind = raw.get("type")
    if kind in ("function", "custom"):
        return ToolChoice("required", frozenset({_named_in(raw, "tool_choice", tools)}))
    if kind == "allowed_tools":
        only_keys(raw, {"type", "allowed_tools"}, "tool_choice")
        allowed = raw.get("allowed_tools")
        if not isinstance(allowed, dict):
            raise InvalidRequest("'tool_choice.allowed_tools' must be an object.", param="tool_choice.allowed_tools")
        only_keys(allowed, {"mode", "tools"}, "tool_choice.allowed_tools")
        mode = allowed.get("mode")
        if mode not in ("auto", "required"):
            raise InvalidRequest(
                "Invalid value for 'tool_choice.allowed_tools.mode': expected 'auto' or 'required'.",
                param="tool_choice.allowed_tools.mode",
            )
        listed = allowed.get("tools")
        if not isinstance(listed, list) or not listed:
            raise InvalidRequest(
                "'tool_choice.allowed_tools.tools' must list at least one tool.",
                param="tool_choice.allowed_tools.tools",
            )
        names = {_named_in(entry, f"tool_choice.allowed_tools.tools[{i}]", tools) for i, entry in enumerate(listed)}
        return ToolChoice(mode, frozenset(names))
    raise InvalidRequest(
        f"Invalid value for 'tool_choice.type': {kind!r}; expected 'function', 'custom' or 'allowed_tools'.",
        param="tool_choice.type",
        code="invalid_value",
    )


def _named_in(raw: Any, where: str, tools: Sequence[Tool]) -> str:
    """`{"type": "function", "function": {"name": ...}}` or the same with `custom`: the tool it names."""
    kind = raw.get("type") if isinstance(raw, dict) else None
    if kind not in ("function", "custom"):
        raise InvalidRequest("A named tool must be of type 'function' or 'custom'.", param=f"{where}.type")
    only_keys(raw, {"type", kind}, where)
    inner = raw.get(kind)
    if not isinstance(inner, dict):
        raise InvalidRequest(f"Missing required parameter: '{where}.{kind}'.", param=f"{where}.{kind}")
    only_keys(inner, {"name"}, f"{where}.{kind}")
    return named_tool(inner.get("name"), kind, tools, f"{where}.{kind}.name")
