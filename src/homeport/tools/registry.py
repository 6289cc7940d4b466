"""Who owns each tool type, and how a request's built-in tool entries become `ServerTool`s and `ClientTool`s.

Function and custom tools are parsed by `responses/tool_params.py`. A call of a client-owned tool (those, and the
built-in computer, shell and apply_patch tools) ends the turn and the client runs it. A type in no table is a 400.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from homeport.engines.base import ToolCall
from homeport.errors import InvalidRequest, invalid_request_from
from homeport.ids import new_id
from homeport.outbound import OutboundPolicy
from homeport.retrieval.vector_stores import VectorStoreService
from homeport.sandbox.containers import ContainerService
from homeport.tools import apply_patch, computer, shell
from homeport.tools.apply_patch import ApplyPatch, ApplyPatchParam
from homeport.tools.base import ClientItems, ClientTool, ServerTool
from homeport.tools.code_interpreter import CodeInterpreter, CodeInterpreterCallItem, CodeInterpreterParam, replay_code
from homeport.tools.file_search import FileSearch, FileSearchCallItem, FileSearchParam, replay
from homeport.tools.mcp import (
    DECLINED,
    McpApprovalRequestItem,
    McpApprovalResponseItem,
    McpCallItem,
    McpListToolsItem,
    McpServer,
    replay_mcp_call,
)
from homeport.tools.mcp_params import McpParam
from homeport.tools.search_providers import SearchProvider
from homeport.tools.shell import LocalShell, LocalShellParam, Shell, ShellParam
from homeport.tools.web_search import WebSearch, WebSearchCallItem, WebSearchParam, replay_web_search

ParamT = TypeVar("ParamT", bound=BaseModel)

CLIENT_TOOL_TYPES = frozenset({"function", "custom"})
WEB_SEARCH_TYPES = ("web_search", "web_search_2025_08_26", "web_search_preview", "web_search_preview_2025_03_11")
SERVER_FUNCTIONS = {
    "file_search": "file_search",
    "code_interpreter": "python",
    **dict.fromkeys(WEB_SEARCH_TYPES, "web_search"),
}
"""The function name the model calls each server-owned tool type by (the docs call code_interpreter "the python
tool")."""
SERVER_TOOL_TYPES = frozenset(SERVER_FUNCTIONS)
CLIENT_FUNCTIONS = {
    "computer_use_preview": "computer",
    "computer": "computer",
    "local_shell": "local_shell",
    "shell": "shell",
    "apply_patch": "apply_patch",
}
"""The function name the model calls each client-run built-in tool type by."""
BUILT_IN_CLIENT_TYPES = frozenset(CLIENT_FUNCTIONS)
CHOICE_FUNCTIONS = {
    kind: SERVER_FUNCTIONS.get(kind) or CLIENT_FUNCTIONS[kind.removesuffix("_use")]
    for kind in (
        "file_search", "code_interpreter", "web_search_preview", "web_search_preview_2025_03_11",
        "computer", "computer_use", "computer_use_preview", "shell", "apply_patch",
    )
}  # fmt: skip
"""The built-in tool types a `tool_choice` may name (the SDK's `ToolChoiceTypes`, which names web_search by its
preview type, and `ToolChoiceShell`, `ToolChoiceApplyPatch`), by the function each stands for."""
_CLIENT_ITEMS: dict[str, ClientItems] = {
    kind: items
    for items in (computer.ITEMS, shell.LOCAL_ITEMS, shell.SHELL_ITEMS, apply_patch.ITEMS)
    for kind in (items.call_type, items.output_type)
}
CLIENT_ITEM_TYPES = frozenset(_CLIENT_ITEMS)
"""Calls of the client-run built-in tools, replayed as input, and the outputs the client sends for them."""
ANSWERS = {items.output_type: items.call_type for items in _CLIENT_ITEMS.values()}
"""Each client-run built-in tool's output type, and the call type it answers."""
_ITEM_MODELS: dict[str, type[BaseModel]] = {
    "file_search_call": FileSearchCallItem,
    "code_interpreter_call": CodeInterpreterCallItem,
    "web_search_call": WebSearchCallItem,
    "mcp_list_tools": McpListToolsItem,
    "mcp_call": McpCallItem,
    "mcp_approval_request": McpApprovalRequestItem,
    "mcp_approval_response": McpApprovalResponseItem,
}
SERVER_ITEM_TYPES = frozenset(_ITEM_MODELS)
"""Items of server-owned tools, which a client may replay as input (and an approval, which it sends)."""


@dataclass(frozen=True)
class ToolContext:
    """What server-owned tools of one request run with: the caller's project and the services they use."""

    project: str
    vector_stores: VectorStoreService
    containers: ContainerService
    include: frozenset[str]
    earlier: Sequence[dict[str, Any]] = ()
    """The chain's items before this request (where an auto container is found again)."""
    outbound: OutboundPolicy = field(default_factory=OutboundPolicy)
    connectors: Mapping[str, str] = field(default_factory=dict)
    """MCP connector id -> the URL of the MCP server the operator put behind it."""
    mcp_timeout: float = 60.0
    search: SearchProvider | None = None
    """The operator's web search provider, if any."""
    suffix: str = ""
    """The thread suffix of the response's ids."""
    latest: Sequence[dict[str, Any]] = ()
    """This request's input items (a computer's safety checks read the screenshot the client just sent)."""


@dataclass(frozen=True)
class BuiltTool:
    tool: ServerTool
    echo: dict[str, Any]


def build_server_tool(entry: dict[str, Any], where: str, context: ToolContext) -> BuiltTool:
    """A server-owned tool from its request entry (validated; its options echoed with their defaults)."""
    kind = entry.get("type")
    if kind == "code_interpreter":
        interpreter = _validated(CodeInterpreterParam, entry, where)
        tool: ServerTool = CodeInterpreter(
            interpreter,
            project=context.project,
            containers=context.containers,
            earlier=context.earlier,
            include_outputs="code_interpreter_call.outputs" in context.include,
            where=where,
        )
        return BuiltTool(tool, interpreter.echo())
    if kind in WEB_SEARCH_TYPES:
        search = _validated(WebSearchParam, entry, where)
        sources = "web_search_call.action.sources" in context.include
        return BuiltTool(
            WebSearch(search, provider=context.search, include_sources=sources, where=where), search.echo()
        )
    if kind != "file_search":
        raise InvalidRequest(f"Tools of type '{kind}' are not supported by this server yet.", param=f"{where}.type")
    files = _validated(FileSearchParam, entry, where)
    tool = FileSearch(
        files,
        project=context.project,
        vector_stores=context.vector_stores,
        include_results="file_search_call.results" in context.include,
        where=where,
    )
    return BuiltTool(tool, files.echo())


def build_client_tool(entry: dict[str, Any], where: str, context: ToolContext) -> tuple[ClientTool, dict[str, Any]]:
    """A client-run built-in tool from its request entry, and its echo."""
    kind = entry.get("type")
    if kind == "computer_use_preview":
        screen = _validated(computer.ComputerUsePreviewParam, entry, where)
        checks = computer.safety_checks([*context.earlier, *context.latest], context.suffix)
        return computer.Computer(screen, checks), screen.model_dump()
    if kind == "computer":
        batched = _validated(computer.ComputerParam, entry, where)
        return computer.Computer(batched, checks=()), batched.model_dump()
    if kind == "local_shell":
        return LocalShell(), _validated(LocalShellParam, entry, where).model_dump()
    if kind == "shell":
        param = _validated(ShellParam, entry, where)
        return Shell(param), param.echo()
    patch = _validated(ApplyPatchParam, entry, where)
    return ApplyPatch(), patch.echo()


def mcp_server(entry: dict[str, Any], where: str, context: ToolContext) -> tuple[McpServer, dict[str, Any]]:
    """An `mcp` entry, validated (its tools are imported later, when the server is reached), and its echo."""
    param = _validated(McpParam, entry, where)
    server = McpServer(
        param, where, policy=context.outbound, connectors=context.connectors, timeout=context.mcp_timeout,
        suffix=context.suffix,
    )  # fmt: skip
    return server, param.echo()


def _validated(model: type[ParamT], entry: dict[str, Any], where: str) -> ParamT:
    """The entry as its tool's param model, or a 400 naming the field under `where`."""
    try:
        return model.model_validate(entry)
    except ValidationError as exc:
        raise invalid_request_from(exc, prefix=where) from exc


def parse_server_item(entry: dict[str, Any], where: str) -> dict[str, Any]:
    """A server tool's item replayed as input (or an approval), validated and stored as given."""
    try:
        item = _ITEM_MODELS[entry["type"]].model_validate(entry).model_dump()
    except ValidationError as exc:
        raise invalid_request_from(exc, prefix=where) from exc
    if item["type"] == "mcp_approval_response" and not item.get("id"):
        item["id"] = new_id("mcpa")
    return item


def parse_client_item(entry: dict[str, Any], where: str, suffix: str) -> dict[str, Any]:
    """A client-run tool's call replayed as input, or the output the client sends for it: validated, and given an
    id and a status where it has none."""
    kind = entry["type"]
    items = _CLIENT_ITEMS[kind]
    model = items.call if kind == items.call_type else items.output
    try:
        item = model.model_validate(entry).model_dump(exclude_none=True)
    except ValidationError as exc:
        raise invalid_request_from(exc, prefix=where) from exc
    prefix = items.call_prefix if kind == items.call_type else items.output_prefix
    return {**item, "id": item.get("id") or new_id(prefix, suffix), "status": item.get("status") or "completed"}


def check_client_output(call: dict[str, Any], output: dict[str, Any], where: str) -> None:
    """A 400 if this output may not answer this call (a computer call's safety checks not acknowledged)."""
    check = _CLIENT_ITEMS[output["type"]].check
    if check is not None:
        check(call, output, where)


def replay_client_item(item: dict[str, Any]) -> ToolCall | str:
    """What the model reads again of a client-run tool's item: the call it made, or the tool turn that answered."""
    items = _CLIENT_ITEMS[item["type"]]
    return items.read_call(item) if item["type"] == items.call_type else items.read_output(item)


def replay_server_item(item: dict[str, Any], items: Sequence[dict[str, Any]]) -> tuple[ToolCall, str] | None:
    """What the model reads again of a server tool's item: the call it made and the output it got; None for items
    it does not read (a tool list; an approval pending, or approved: the approved call is an item of its own)."""
    kind = item.get("type")
    if kind == "code_interpreter_call":
        return replay_code(item)
    if kind == "file_search_call":
        return replay(item)
    if kind == "web_search_call":
        return replay_web_search(item)
    if kind == "mcp_call":
        return replay_mcp_call(item)
    if kind != "mcp_approval_request":
        return None
    answers = (other for other in items if other.get("type") == "mcp_approval_response")
    answer = next((other for other in answers if other.get("approval_request_id") == item["id"]), None)
    if answer is None or answer.get("approve"):
        return None
    reason = f": {answer['reason']}" if answer.get("reason") else "."
    return ToolCall(item["name"], arguments=item.get("arguments") or "{}"), DECLINED + reason
