"""Talking to a remote MCP server with the official `mcp` SDK: list its tools, call one.

Each operation opens its own session (Streamable HTTP, or HTTP/SSE for a URL whose path ends in `/sse`), over an
HTTP client pinned to the address the outbound policy checked, with the request's headers and token, and closes
it: a request's secrets live no longer than its calls. Failures become `McpFailure` with the error object an
`mcp_call` item carries (HTTP, protocol), never a crashed response.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx2
import mcp_types
from mcp import Client
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from homeport.outbound import Target, pinned_client

CONNECT_TIMEOUT_SECONDS = 10.0
_MAX_PAGES = 20


@dataclass(frozen=True)
class McpEndpoint:
    target: Target
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    """The request's headers and bearer token: secrets, never logged (not in the repr either)."""
    call_timeout: float = 60.0

    @property
    def uses_sse(self) -> bool:
        return urlsplit(self.target.url).path.rstrip("/").endswith("/sse")


class McpFailure(Exception):
    def __init__(self, message: str, error: dict[str, Any]) -> None:
        super().__init__(message)
        self.message = message
        self.error = error
        """As `mcp_call.error`: `http_error` or `mcp_protocol_error` with `code` and `message`."""


@dataclass(frozen=True)
class CallOutcome:
    output: str | None
    error: dict[str, Any] | None
    """`mcp_tool_execution_error` with the tool's content, when the tool itself reported failure."""


async def list_tools(endpoint: McpEndpoint) -> list[mcp_types.Tool]:
    tools: list[mcp_types.Tool] = []
    async with _session(endpoint, CONNECT_TIMEOUT_SECONDS * 3) as client:
        cursor: str | None = None
        for _ in range(_MAX_PAGES):
            page = await client.list_tools(cursor=cursor)
            tools += page.tools
            cursor = page.next_cursor
            if cursor is None:
                break
    return tools


async def call_tool(endpoint: McpEndpoint, name: str, arguments: dict[str, Any]) -> CallOutcome:
    async with _session(endpoint, endpoint.call_timeout) as client:
        result = await client.call_tool(name, arguments, read_timeout_seconds=endpoint.call_timeout)
    content = [part.model_dump(mode="json", exclude_none=True) for part in result.content]
    if result.is_error:
        return CallOutcome(None, {"type": "mcp_tool_execution_error", "content": content})
    texts = [part["text"] for part in content if part.get("type") == "text"]
    if texts:
        return CallOutcome("\n".join(texts), None)
    if result.structured_content is not None:
        return CallOutcome(json.dumps(result.structured_content), None)
    return CallOutcome(json.dumps(content), None)


@asynccontextmanager
async def _session(endpoint: McpEndpoint, deadline: float) -> AsyncIterator[Client]:
    """A connected client; anything that goes wrong, connecting or inside, leaves as `McpFailure`."""
    headers = dict(endpoint.headers)
    timeout = httpx2.Timeout(CONNECT_TIMEOUT_SECONDS, read=endpoint.call_timeout)

    def http_client(
        headers: dict[str, str] | None = None, timeout: httpx2.Timeout | None = None, auth: httpx2.Auth | None = None
    ) -> httpx2.AsyncClient:
        return pinned_client(endpoint.target, headers=headers, timeout=timeout, auth=auth)

    url = endpoint.target.url
    transport = (
        sse_client(url, headers=headers, timeout=CONNECT_TIMEOUT_SECONDS, httpx_client_factory=http_client)
        if endpoint.uses_sse
        else streamable_http_client(url, http_client=http_client(headers, timeout))
    )
    try:
        with anyio.fail_after(deadline + CONNECT_TIMEOUT_SECONDS):
            async with Client(transport, read_timeout_seconds=endpoint.call_timeout) as client:
                yield client
    except Exception as exc:  # every failure of a remote server is reported the same way
        raise _failure(exc) from exc


def _failure(exc: BaseException) -> McpFailure:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    if isinstance(exc, McpFailure):
        return exc
    if isinstance(exc, httpx2.HTTPStatusError):
        status = exc.response.status_code
        message = f"The MCP server answered HTTP {status} ({exc.response.reason_phrase})."
        return McpFailure(message, {"type": "http_error", "code": status, "message": message})
    if isinstance(exc, MCPError):
        code = exc.error.code
        return McpFailure(exc.error.message, {"type": "mcp_protocol_error", "code": code, "message": exc.error.message})
    if isinstance(exc, TimeoutError):
        message = "The MCP server did not answer in time."
        return McpFailure(message, {"type": "http_error", "code": 504, "message": message})
    message = f"The MCP server could not be reached: {type(exc).__name__}."
    return McpFailure(message, {"type": "http_error", "code": 502, "message": message})
