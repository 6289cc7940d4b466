"""A request's tools and `tool_choice`: what the model is told about and what the grammar lets it call. Client-owned
tools (function and custom) are parsed here; server-owned ones (file_search, …) are built by `tools.registry` and
offered to the model as functions.

Both APIs parse their own wire shapes (`tools_params` here for Responses, `chat_tool_params.py` for Chat
Completions) into the engine's `FunctionTool`/`CustomTool` and a `ToolChoice`; `tool_constraint` then turns them into
the one decoding constraint, so `tool_choice`, `parallel_tool_calls` and `max_tool_calls` are enforced by the grammar,
never by prompt wording.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, Tag, TypeAdapter, ValidationError

from homeport.engines import Engine
from homeport.engines.constraints import (
    CustomTool,
    FunctionTool,
    JsonObject,
    JsonSchema,
    LarkGrammar,
    Regex,
    Tool,
    ToolCalls,
)
from homeport.engines.schema_subset import check_strict_schema
from homeport.errors import InvalidRequest, invalid_request_from
from homeport.responses.params import by_type
from homeport.tools.base import ClientTool, ServerTool
from homeport.tools.mcp import McpServer
from homeport.tools.registry import (
    BUILT_IN_CLIENT_TYPES,
    CHOICE_FUNCTIONS,
    SERVER_TOOL_TYPES,
    ToolContext,
    build_client_tool,
    build_server_tool,
    mcp_server,
)

_STRICT = ConfigDict(extra="forbid", strict=True)
TOOL_NAME = r"^[a-zA-Z0-9_-]{1,64}$"

# A strict function without parameters takes none: the empty object, as strict mode writes it.
_NO_PARAMETERS = {"type": "object", "properties": {}, "required": [], "additionalProperties": False}


class TextInputFormat(BaseModel):
    model_config = _STRICT
    type: Literal["text"]


class GrammarInputFormat(BaseModel):
    model_config = _STRICT
    type: Literal["grammar"]
    syntax: Literal["lark", "regex"]
    definition: str


def input_grammar(syntax: Literal["lark", "regex"], definition: str) -> LarkGrammar | Regex:
    return LarkGrammar(definition) if syntax == "lark" else Regex(definition)


class _Unsupported(BaseModel):
    """Fields of OpenAI's tool types that belong to features this server does not have: only defaults pass."""

    model_config = _STRICT
    defer_loading: Literal[False] | None = None
    async_: Literal[False] | None = Field(None, alias="async")
    allowed_callers: list[Literal["direct"]] | None = None


class FunctionToolParam(_Unsupported):
    type: Literal["function"]
    name: str = Field(pattern=TOOL_NAME)
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None
    """True unless set false: strict is the default on the Responses API."""


class CustomToolParam(_Unsupported):
    type: Literal["custom"]
    name: str = Field(pattern=TOOL_NAME)
    description: str | None = None
    format: (
        Annotated[
            Annotated[TextInputFormat, Tag("TextInputFormat")]
            | Annotated[GrammarInputFormat, Tag("GrammarInputFormat")],
            by_type(text="TextInputFormat", grammar="GrammarInputFormat"),
        ]
        | None
    ) = None


_TOOL: TypeAdapter[FunctionToolParam | CustomToolParam] = TypeAdapter(
    Annotated[
        Annotated[FunctionToolParam, Tag("FunctionToolParam")] | Annotated[CustomToolParam, Tag("CustomToolParam")],
        by_type(function="FunctionToolParam", custom="CustomToolParam"),
    ]
)


@dataclass(frozen=True)
class ToolChoice:
    mode: Literal["none", "auto", "required"]
    allowed: frozenset[str] | None = None
    """Names the model may call; None: every tool."""


@dataclass(frozen=True)
class RequestTools:
    """A request's tools as the engine takes them, and as the response echoes them; `server` are the server-owned
    ones, by the function name the model calls them with."""

    tools: list[Tool]
    echo: list[dict[str, Any]]
    server: dict[str, ServerTool] = field(default_factory=dict)
    mcp: list[McpServer] = field(default_factory=list)
    """MCP servers, whose tools join `tools` and `server` once imported (`import_mcp_tools`)."""
    client: dict[str, ClientTool] = field(default_factory=dict)
    """The client-run built-in tools (computer, shells, apply_patch), by function name: their calls are their own
    items."""


def tools_params(
    raw: Sequence[dict[str, Any]] | None, engine: Engine, context: ToolContext | None = None
) -> RequestTools:
    """Responses `tools`: validated, strict schemas checked against the subset, grammars compiled."""
    tools: list[Tool] = []
    echo: list[dict[str, Any]] = []
    server: dict[str, ServerTool] = {}
    client: dict[str, ClientTool] = {}
    servers: list[McpServer] = []
    for index, entry in enumerate(raw or ()):
        where = f"tools[{index}]"
        kind = entry.get("type")
        if kind == "mcp" and context is not None:
            mcp, shown = mcp_server(entry, where, context)
            if any(other.label == mcp.label for other in servers):
                raise InvalidRequest(f"Duplicate MCP server_label '{mcp.label}'.", param=f"{where}.server_label")
            servers.append(mcp)
            echo.append(shown)
            continue
        if kind in SERVER_TOOL_TYPES and context is not None:
            built = build_server_tool(entry, where, context)
            tools.append(built.tool.function)
            echo.append(built.echo)
            server[built.tool.function.name] = built.tool
            continue
        if kind in BUILT_IN_CLIENT_TYPES and context is not None:
            built_in, shown = build_client_tool(entry, where, context)
            function = built_in.function
            engine.check_constraint(JsonSchema(function.parameters or {}, strict=function.strict), param=where)
            tools.append(function)
            echo.append(shown)
            client[function.name] = built_in
            continue
        if kind not in ("function", "custom"):
            raise InvalidRequest(f"Tools of type '{kind}' are not supported by this server yet.", param=f"{where}.type")
        try:
            param = _TOOL.validate_python(entry)
        except ValidationError as exc:
            raise invalid_request_from(exc, prefix=where) from exc
        if isinstance(param, FunctionToolParam):
            strict = param.strict is not False
            tools.append(function_tool(param.name, param.description, param.parameters, strict, where, engine))
            echo.append(
                {
                    "type": "function",
                    "name": param.name,
                    "description": param.description,
                    "parameters": param.parameters,
                    "strict": strict,
                }
            )
        else:
            grammar = param.format if isinstance(param.format, GrammarInputFormat) else None
            tool_grammar = input_grammar(grammar.syntax, grammar.definition) if grammar else None
            tools.append(custom_tool(param.name, param.description, tool_grammar, f"{where}.format.definition", engine))
            shown = param.format.model_dump() if param.format else {"type": "text"}
            echo.append({"type": "custom", "name": param.name, "description": param.description, "format": shown})
    check_unique_names(tools)
    return RequestTools(tools, echo, server, servers, client)


async def import_mcp_tools(tools: RequestTools, context: Sequence[dict[str, Any]], engine: Engine) -> None:
    """Reach each MCP server (or find its tool list in the context) and offer its tools as functions. A tool whose
    schema the grammar engine cannot compile is left out, as a tool the server failed to import."""
    for mcp in tools.mcp:
        await mcp.prepare(context)
        for tool in mcp.tools:
            try:
                engine.check_constraint(JsonSchema(tool.function.parameters or {}, strict=False), param="tools")
            except InvalidRequest:
                continue
            if tool.name in tools.server or any(known.name == tool.name for known in tools.tools):
                raise InvalidRequest(
                    f"Tool '{tool.name}' of MCP server '{mcp.label}' has the name of another tool in 'tools'.",
                    param="tools",
                )
            tools.tools.append(tool.function)
            tools.server[tool.name] = tool


def function_tool(
    name: str,
    description: str | None,
    parameters: dict[str, Any] | None,
    strict: bool,
    where: str,
    engine: Engine,
) -> FunctionTool:
    """A function tool; a strict one's schema must lie in the Structured Outputs subset, and any schema must compile."""
    if strict:
        parameters = parameters if parameters is not None else _NO_PARAMETERS
        check_strict_schema(parameters, param=f"{where}.parameters")
    engine.check_constraint(JsonSchema(parameters or {"type": "object"}, strict=strict), param=f"{where}.parameters")
    return FunctionTool(name, parameters, strict=strict, description=description)


def custom_tool(
    name: str, description: str | None, grammar: LarkGrammar | Regex | None, param: str, engine: Engine
) -> CustomTool:
    if grammar is not None:
        engine.check_constraint(grammar, param=param)
    return CustomTool(name, grammar, description=description)


def check_unique_names(tools: Sequence[Tool]) -> None:
    seen: set[str] = set()
    for index, tool in enumerate(tools):
        if tool.name in seen:
            raise InvalidRequest(f"Duplicate tool name '{tool.name}' in 'tools'.", param=f"tools[{index}].name")
        seen.add(tool.name)


def responses_tool_choice(
    raw: str | dict[str, Any] | None, tools: Sequence[Tool], servers: Sequence[McpServer] = ()
) -> ToolChoice:
    """Responses `tool_choice`: a mode, a named function or custom tool, an MCP server's tools, or
    `allowed_tools`."""
    if raw is None or isinstance(raw, str):
        return tool_mode(raw or "auto", tools)
    kind = raw.get("type")
    if kind == "mcp":
        only_keys(raw, {"type", "server_label", "name"}, "tool_choice")
        mcp = next((server for server in servers if server.label == raw.get("server_label")), None)
        if mcp is None:
            raise InvalidRequest("Tool choice names no MCP server in 'tools'.", param="tool_choice.server_label")
        names = {tool.name for tool in mcp.tools if tool.name in {known.name for known in tools}}
        if raw.get("name") is not None:
            if raw["name"] not in names:
                raise InvalidRequest(f"MCP server '{mcp.label}' has no tool '{raw['name']}'.", param="tool_choice.name")
            names = {raw["name"]}
        if not names:
            raise InvalidRequest(f"MCP server '{mcp.label}' offers no tools.", param="tool_choice.server_label")
        return ToolChoice("required", frozenset(names))
    if kind in CHOICE_FUNCTIONS:
        only_keys(raw, {"type"}, "tool_choice")
        name = named_tool(CHOICE_FUNCTIONS[kind], "function", tools, "tool_choice.type")
        return ToolChoice("required", frozenset({name}))
    if kind in ("function", "custom"):
        only_keys(raw, {"type", "name"}, "tool_choice")
        return ToolChoice("required", frozenset({named_tool(raw.get("name"), kind, tools, "tool_choice.name")}))
    if kind == "allowed_tools":
        only_keys(raw, {"type", "mode", "tools"}, "tool_choice")
        mode = raw.get("mode")
        if mode not in ("auto", "required"):
            raise InvalidRequest(
                "Invalid value for 'tool_choice.mode': expected 'auto' or 'required'.", param="tool_choice.mode"
            )
        listed = raw.get("tools")
        if not isinstance(listed, list) or not listed:
            raise InvalidRequest("'tool_choice.tools' must list at least one tool.", param="tool_choice.tools")
        names = set()
        for index, entry in enumerate(listed):
            where = f"tool_choice.tools[{index}]"
            kind = entry.get("type") if isinstance(entry, dict) else None
            if kind in CHOICE_FUNCTIONS:
                only_keys(entry, {"type"}, where)
                names.add(named_tool(CHOICE_FUNCTIONS[kind], "function", tools, f"{where}.type"))
                continue
            if kind not in ("function", "custom"):
                raise InvalidRequest("Allowed tools must be of type 'function' or 'custom'.", param=f"{where}.type")
            only_keys(entry, {"type", "name"}, where)
            names.add(named_tool(entry.get("name"), entry["type"], tools, f"{where}.name"))
        return ToolChoice(mode, frozenset(names))
    raise InvalidRequest(f"Tool choice of type '{kind}' is not supported by this server yet.", param="tool_choice.type")


def tool_mode(mode: str, tools: Sequence[Tool]) -> ToolChoice:
    if mode not in ("none", "auto", "required"):
        raise InvalidRequest(
            f"Invalid value for 'tool_choice': {mode!r}; expected 'none', 'auto' or 'required'.",
            param="tool_choice",
            code="invalid_value",
        )
    if mode == "required" and not tools:
        raise InvalidRequest("Tool choice 'required' needs at least one tool in 'tools'.", param="tool_choice")
    return ToolChoice(mode)  # type: ignore[arg-type]


def named_tool(name: Any, kind: str, tools: Sequence[Tool], param: str) -> str:
    """The name of the tool `tool_choice` names; a server-owned tool is named by its type (its function's name)."""
    wanted = CustomTool if kind == "custom" else FunctionTool
    if not any(isinstance(tool, wanted) and tool.name == name for tool in tools):
        raise InvalidRequest(f"Tool choice '{name}' of type '{kind}' is not one of the 'tools'.", param=param)
    return str(name)


def only_keys(raw: dict[str, Any], keys: set[str], where: str) -> None:
    for key in raw:
        if key not in keys:
            raise InvalidRequest(f"Unknown parameter: '{where}.{key}'.", param=f"{where}.{key}")


def tool_constraint(
    tools: Sequence[Tool],
    choice: ToolChoice,
    *,
    parallel: bool,
    max_calls: int | None,
    text: JsonSchema | JsonObject | None,
    engine: Engine,
) -> ToolCalls | None:
    """The grammar's view of the tools: only the allowed ones, at least one call when required, at most one when
    calls may not run in parallel. None when the model may not call any tool."""
    allowed = [tool for tool in tools if choice.allowed is None or tool.name in choice.allowed]
    if choice.mode == "none" or not allowed:
        return None
    limit = 1 if not parallel else max_calls
    if max_calls is not None and limit is not None:
        limit = min(limit, max_calls)
    required = choice.mode == "required"
    constraint = ToolCalls(allowed, required=required, max_calls=limit, text=None if required else text)
    engine.check_constraint(constraint, param="tools")
    return constraint
