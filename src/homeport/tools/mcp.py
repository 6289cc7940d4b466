"""The `mcp` tool: a remote MCP server's tools, offered to the model as functions, called by Homeport.

A server's tools are listed once per context: the `mcp_list_tools` item, once in the context (a previous response,
a conversation, replayed input), is reused instead of listing again. A call that needs approval ends the response
with an `mcp_approval_request`; the next request's `mcp_approval_response` runs it (`approved`) before the model
goes on, or tells the model it was declined.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import Any, Literal

from openai.types.responses.mcp_tool_call_error import McpToolCallError
from openai.types.responses.response_output_item import (
    McpApprovalRequest,
    McpCall,
    McpListTools,
    McpListToolsTool,
    ResponseOutputItem,
)
from pydantic import BaseModel, ConfigDict, TypeAdapter

from homeport.engines.base import ToolCall
from homeport.engines.constraints import FunctionTool
from homeport.errors import FailedDependency, InvalidRequest
from homeport.ids import new_id
from homeport.outbound import OutboundPolicy, check_url
from homeport.tools.base import ApprovedCall, Progress, ServerTool, ToolResult
from homeport.tools.mcp_client import McpEndpoint, McpFailure, call_tool, list_tools
from homeport.tools.mcp_params import McpParam

log = logging.getLogger("homeport.tools.mcp")

_STRICT = ConfigDict(extra="forbid", strict=True)
_ERROR: TypeAdapter[McpToolCallError] = TypeAdapter(McpToolCallError)
DECLINED = "The user declined this call"
_AFTER_CALL = "Now answer the user from this output, in words."
"""Told nothing, Qwen2.5-Coder-0.5B makes the same call again until it may not."""


class McpListToolsItem(BaseModel):
    """An `mcp_list_tools` item replayed as input."""

    model_config = _STRICT
    type: Literal["mcp_list_tools"]
    id: str
    server_label: str
    tools: list[dict[str, Any]]
    error: str | None = None


class McpCallItem(BaseModel):
    model_config = _STRICT
    type: Literal["mcp_call"]
    id: str
    server_label: str
    name: str
    arguments: str
    output: str | None = None
    error: dict[str, Any] | str | None = None
    approval_request_id: str | None = None
    status: Literal["in_progress", "completed", "incomplete", "calling", "failed"] | None = None


class McpApprovalRequestItem(BaseModel):
    model_config = _STRICT
    type: Literal["mcp_approval_request"]
    id: str
    server_label: str
    name: str
    arguments: str


class McpApprovalResponseItem(BaseModel):
    model_config = _STRICT
    type: Literal["mcp_approval_response"]
    id: str | None = None
    approval_request_id: str
    approve: bool
    reason: str | None = None


def replay_mcp_call(item: dict[str, Any]) -> tuple[ToolCall, str]:
    """What the model reads again of an `mcp_call`: the call, and its output or error."""
    call = ToolCall(item["name"], arguments=item.get("arguments") or "{}")
    if item.get("output") is not None:
        return call, str(item["output"])
    return call, f"The call failed: {json.dumps(item.get('error'))}"


class McpServer:
    """One `mcp` entry of a request: where its server is, and the tools it imports."""

    def __init__(
        self,
        param: McpParam,
        where: str,
        *,
        policy: OutboundPolicy,
        connectors: Mapping[str, str],
        timeout: float,
        suffix: str,
    ) -> None:
        self.param = param
        self._where = where
        self._policy = policy
        self._connectors = connectors
        self._suffix = suffix
        self._timeout = timeout
        self.endpoint: McpEndpoint | None = None
        self.listing: McpListTools | None = None
        """A fresh `mcp_list_tools` item for the response's output; None when the context had one."""
        self.tools: list[McpTool] = []

    @property
    def label(self) -> str:
        return self.param.server_label

    async def prepare(self, context: Sequence[dict[str, Any]]) -> None:
        """Check the URL, then take the server's tools from the context's `mcp_list_tools`, or list them (a 424
        when the server cannot be listed, as OpenAI answers)."""
        url = self.param.server_url
        where = f"{self._where}.server_url"
        if url is None:
            where = f"{self._where}.connector_id"
            url = self._connectors.get(str(self.param.connector_id))
            if url is None:
                raise InvalidRequest(
                    f"Connector '{self.param.connector_id}' is not configured on this server; its operator maps "
                    "connectors to MCP servers with HOMEPORT_MCP_CONNECTORS.",
                    param=where,
                )
        target = await check_url(url, self._policy, what=f"The MCP server of '{self.label}'", param=where)
        headers = dict(self.param.headers or {})
        if self.param.authorization:
            headers["Authorization"] = f"Bearer {self.param.authorization}"
        self.endpoint = McpEndpoint(target, headers, self._timeout)
        known = _listed(context, self.label)
        if known is None:
            known = await self._list()
        self.tools = [McpTool(self, tool) for tool in known]

    async def _list(self) -> list[dict[str, Any]]:
        assert self.endpoint is not None
        try:
            found = await list_tools(self.endpoint)
        except McpFailure as exc:
            raise FailedDependency(
                f"Error retrieving tool list from MCP server: '{self.label}'. {exc.message}",
                param=self._where,
                code="http_error",
            ) from exc
        imported = []
        for tool in found:
            read_only = bool(tool.annotations and tool.annotations.read_only_hint)
            if self.param.allows(tool.name, read_only):
                annotations = (
                    tool.annotations.model_dump(mode="json", by_alias=True, exclude_none=True)
                    if tool.annotations
                    else None
                )
                imported.append(
                    {
                        "name": tool.name,
                        "description": tool.description,
                        "input_schema": tool.input_schema,
                        "annotations": annotations,
                    }
                )
        self.listing = McpListTools(
            id=new_id("mcpl", self._suffix),
            type="mcp_list_tools",
            server_label=self.label,
            tools=[McpListToolsTool.model_validate(tool) for tool in imported],
        )
        return imported

    def opening(self) -> Iterator[tuple[ResponseOutputItem, list[str]]]:
        """The listing item to show before the model runs, and its status events."""
        if self.listing is not None:
            yield self.listing, ["response.mcp_list_tools.in_progress", "response.mcp_list_tools.completed"]

    def tool(self, name: str) -> McpTool | None:
        return next((tool for tool in self.tools if tool.name == name), None)


class McpTool(ServerTool):
    """One tool of an MCP server, as the model calls it."""

    id_prefix = "mcp"
    repeatable = True

    def __init__(self, server: McpServer, listed: dict[str, Any], *, approved: str | None = None) -> None:
        self._server = server
        self.name = str(listed["name"])
        self._listed = listed
        self._approved = approved
        annotations = listed.get("annotations") or {}
        self._read_only = bool(annotations.get("readOnlyHint"))

    def approved(self, request_id: str) -> McpTool:
        """This tool for one call the user approved (its item names the approval request)."""
        return McpTool(self._server, self._listed, approved=request_id)

    async def check(self) -> None:
        return None  # the server was checked and listed when its entry was prepared

    @property
    def function(self) -> FunctionTool:
        described = self._listed.get("description") or ""
        if self._server.param.server_description:
            described = f"{described} (from {self._server.param.server_description})".strip()
        schema = dict(self._listed.get("input_schema") or {"type": "object"})
        # Arguments are the declared properties: a schema that does not say otherwise would let a small model
        # write keys until its tokens run out.
        if "properties" in schema:
            schema.setdefault("additionalProperties", False)
        return FunctionTool(self.name, schema, strict=False, description=described or None)

    @property
    def needs_approval(self) -> bool:
        return self._approved is None and self._server.param.needs_approval(self.name, self._read_only)

    async def start(self, item_id: str) -> ResponseOutputItem:
        label = self._server.label
        if self.needs_approval:
            request_id = "mcpr_" + item_id.split("_", 1)[1]
            return McpApprovalRequest(
                id=request_id, type="mcp_approval_request", arguments="", name=self.name, server_label=label
            )
        return McpCall(
            id=item_id, type="mcp_call", arguments="", name=self.name, server_label=label, status="in_progress",
            approval_request_id=self._approved,
        )  # fmt: skip

    def writing(self, item: ResponseOutputItem, arguments: str) -> Iterator[str | Progress]:
        if isinstance(item, McpApprovalRequest):
            item.arguments = arguments
            return
        assert isinstance(item, McpCall)
        if not arguments:
            yield "response.mcp_call.in_progress"
        elif len(arguments) > len(item.arguments):
            delta, item.arguments = arguments[len(item.arguments) :], arguments
            yield Progress("response.mcp_call_arguments.delta", {"delta": delta})

    async def run(
        self, item: ResponseOutputItem, arguments: dict[str, Any], question: str
    ) -> AsyncIterator[str | Progress | ToolResult]:
        if isinstance(item, McpApprovalRequest):
            yield ToolResult(item, [], waits=True)
            return
        assert isinstance(item, McpCall) and self._server.endpoint is not None
        yield Progress("response.mcp_call_arguments.done", {"arguments": item.arguments})
        try:
            outcome = await call_tool(self._server.endpoint, self.name, arguments)
            error = outcome.error
        except McpFailure as exc:
            log.warning("MCP call %s on %s failed: %s", self.name, self._server.label, exc.message)
            outcome, error = None, exc.error
        if outcome is not None and error is None:
            item.output, item.status = outcome.output, "completed"
            yield "response.mcp_call.completed"
            yield ToolResult(item, [f"Output:\n{outcome.output or ''}"], note=_AFTER_CALL)
            return
        item.error, item.status = _ERROR.validate_python(error), "failed"
        yield "response.mcp_call.failed"
        yield ToolResult(item, [f"The call failed: {json.dumps(error)}"], retry=True)


def approved_calls(
    earlier: Sequence[dict[str, Any]], items: Sequence[dict[str, Any]], servers: Sequence[McpServer]
) -> list[ApprovedCall]:
    """The calls this request's `mcp_approval_response` items approve, not yet run, in order. An answer to no
    request in the context, or to a server not in `tools`, is a 400 naming the item."""
    context = [*earlier, *items]
    requests = {item["id"]: item for item in context if item.get("type") == "mcp_approval_request"}
    done = {item.get("approval_request_id") for item in context if item.get("type") == "mcp_call"}
    calls: list[ApprovedCall] = []
    for index, item in enumerate(items):
        if item.get("type") != "mcp_approval_response":
            continue
        where = f"input[{index}].approval_request_id"
        request = requests.get(item["approval_request_id"])
        if request is None:
            raise InvalidRequest(
                f"No MCP approval request '{item['approval_request_id']}' in the context.", param=where
            )
        if not item["approve"] or request["id"] in done:
            continue
        server = next((server for server in servers if server.label == request["server_label"]), None)
        tool = server.tool(request["name"]) if server is not None else None
        if tool is None:
            raise InvalidRequest(
                f"The approved call needs the tool '{request['name']}' of MCP server '{request['server_label']}' in "
                "'tools' (send the MCP tool entry with every request).",
                param=where,
            )
        calls.append(ApprovedCall(tool.approved(request["id"]), tool.name, request["arguments"]))
    return calls


def _listed(context: Sequence[dict[str, Any]], label: str) -> list[dict[str, Any]] | None:
    """The tools of the latest `mcp_list_tools` item of this server in the context, if any."""
    for item in reversed(context):
        if item.get("type") == "mcp_list_tools" and item.get("server_label") == label and not item.get("error"):
            return list(item.get("tools") or [])
    return None
