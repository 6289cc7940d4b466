"""Who owns each tool type, and how a request's server-owned tool entries become `ServerTool`s.

Client-owned types (function, custom) are parsed by `responses/tool_params.py`: the model's call ends the turn and
the client runs it. A type in neither table is a 400.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from homeport.engines.base import ToolCall
from homeport.errors import InvalidRequest, invalid_request_from
from homeport.retrieval.vector_stores import VectorStoreService
from homeport.sandbox.containers import ContainerService
from homeport.tools.base import ServerTool
from homeport.tools.code_interpreter import CodeInterpreter, CodeInterpreterCallItem, CodeInterpreterParam, replay_code
from homeport.tools.file_search import FileSearch, FileSearchCallItem, FileSearchParam, replay

CLIENT_TOOL_TYPES = frozenset({"function", "custom"})
SERVER_FUNCTIONS = {"file_search": "file_search", "code_interpreter": "python"}
"""The function name the model calls each server-owned tool type by (the docs call code_interpreter "the python
tool")."""
SERVER_TOOL_TYPES = frozenset(SERVER_FUNCTIONS)
SERVER_ITEM_TYPES = frozenset({"file_search_call", "code_interpreter_call"})
"""Output items of server-owned tools, which a client may replay as input."""


@dataclass(frozen=True)
class ToolContext:
    """What server-owned tools of one request run with: the caller's project and the services they use."""

    project: str
    vector_stores: VectorStoreService
    containers: ContainerService
    include: frozenset[str]
    earlier: Sequence[dict[str, Any]] = ()
    """The chain's items before this request (where an auto container is found again)."""


@dataclass(frozen=True)
class BuiltTool:
    tool: ServerTool
    echo: dict[str, Any]


def build_server_tool(entry: dict[str, Any], where: str, context: ToolContext) -> BuiltTool:
    """A server-owned tool from its request entry (validated; its options echoed with their defaults)."""
    kind = entry.get("type")
    if kind == "code_interpreter":
        return _code_interpreter(entry, where, context)
    if kind != "file_search":
        raise InvalidRequest(f"Tools of type '{kind}' are not supported by this server yet.", param=f"{where}.type")
    try:
        param = FileSearchParam.model_validate(entry)
    except ValidationError as exc:
        raise invalid_request_from(exc, prefix=where) from exc
    tool = FileSearch(
        param,
        project=context.project,
        vector_stores=context.vector_stores,
        include_results="file_search_call.results" in context.include,
        where=where,
    )
    return BuiltTool(tool, param.echo())


def _code_interpreter(entry: dict[str, Any], where: str, context: ToolContext) -> BuiltTool:
    try:
        param = CodeInterpreterParam.model_validate(entry)
    except ValidationError as exc:
        raise invalid_request_from(exc, prefix=where) from exc
    tool = CodeInterpreter(
        param,
        project=context.project,
        containers=context.containers,
        earlier=context.earlier,
        include_outputs="code_interpreter_call.outputs" in context.include,
        where=where,
    )
    return BuiltTool(tool, param.echo())


def parse_server_item(entry: dict[str, Any], where: str) -> dict[str, Any]:
    """A server tool's item replayed as input, validated and stored as given."""
    model = CodeInterpreterCallItem if entry.get("type") == "code_interpreter_call" else FileSearchCallItem
    try:
        return model.model_validate(entry).model_dump()
    except ValidationError as exc:
        raise invalid_request_from(exc, prefix=where) from exc


def replay_server_item(item: dict[str, Any]) -> tuple[ToolCall, str]:
    """What the model reads again of a server tool's item: the call it made and the output it got."""
    if item.get("type") == "code_interpreter_call":
        return replay_code(item)
    return replay(item)
