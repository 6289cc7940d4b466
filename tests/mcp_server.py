"""A small deterministic MCP server for the tests of Homeport's MCP client.

Run it as ``python tests/mcp_server.py --port N [--token SECRET] [--log PATH]``. One Starlette app on
127.0.0.1:N serves the same tools over both transports: Streamable HTTP at ``/mcp`` and HTTP/SSE at ``/sse``
(messages posted to ``/messages/``). It prints ``READY`` once it listens, so a fixture can wait for it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import uvicorn
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.transport_security import TransportSecuritySettings
from mcp.types import ToolAnnotations
from starlette.applications import Starlette
from starlette.types import ASGIApp, Receive, Scope, Send

# The tests reach the server as 127.0.0.1:N and localhost:N; rebinding checks would only get in the way.
NO_HOST_CHECKS = TransportSecuritySettings(enable_dns_rebinding_protection=False)

DOCUMENTS: dict[str, dict[str, Any]] = {
    "doc-1": {
        "id": "doc-1",
        "title": "Cats",
        "text": "Cats sleep 16 hours a day.",
        "url": "https://example.com/cats",
        "metadata": {"source": "tests"},
    }
}

_TERM = r"(?:\d*d\d+|\d+)"
_EXPRESSION = re.compile(rf"[+-]?{_TERM}(?:[+-]{_TERM})*")


class DocumentError(ToolError, ValueError):
    """A bad document id; a ToolError so the message reaches the model instead of a generic crash text."""


# The str tools pass structured_output=False so they answer with plain text content, like most servers in the
# wild; add keeps the SDK's structured result ({"result": n} plus an outputSchema) so both shapes get exercised.
mcp = MCPServer("homeport-test-tools", instructions="Deterministic tools for Homeport's tests.", log_level="WARNING")


@mcp.tool(structured_output=False)
def roll(diceRollExpression: str) -> str:
    """Given a string of text describing a dice roll, returns the total."""
    text = re.sub(r"\s+", "", diceRollExpression.lower())
    if not _EXPRESSION.fullmatch(text):
        return "0"
    total = 0
    # Deterministic: every die shows its highest face, so "2d4 + 1" is 9.
    for sign, term in re.findall(rf"([+-]?)({_TERM})", text):
        if "d" in term:
            count, faces = term.split("d")
            value = int(count or 1) * int(faces)
        else:
            value = int(term)
        total += -value if sign == "-" else value
    return str(total)


@mcp.tool(annotations=ToolAnnotations(read_only_hint=True))
def add(a: int, b: int) -> int:
    """Adds two numbers."""
    return a + b


@mcp.tool(structured_output=False)
def search(query: str) -> str:
    """Searches the document collection; returns JSON {"results": [{"id", "title", "url"}]}."""
    if not query.strip():
        return json.dumps({"results": []})
    results = [{"id": doc["id"], "title": doc["title"], "url": doc["url"]} for doc in DOCUMENTS.values()]
    return json.dumps({"results": results})


@mcp.tool(structured_output=False)
def fetch(id: str) -> str:
    """Fetches a document by id; returns JSON {"id", "title", "text", "url", "metadata"}."""
    if not id.strip():
        raise DocumentError("Document ID is required")
    if id not in DOCUMENTS:
        raise DocumentError(f"Unknown document: {id}")
    return json.dumps(DOCUMENTS[id])


@mcp.tool(structured_output=False)
def fail(reason: str) -> str:
    """Always fails; the reason is passed back as the error, except "crash" which fails like a bug."""
    if reason == "crash":
        # A plain exception is a crash to the SDK: the client sees only "Error executing tool fail".
        raise RuntimeError("the tool crashed")
    raise ToolError(reason)


@mcp.tool(structured_output=False)
async def slow(seconds: float) -> str:
    """Waits the given number of seconds (at least 3, so a test's short timeout always hits), then returns "done"."""
    await anyio.sleep(max(seconds, 3.0))
    return "done"


class GuardAndLog:
    """Records each request's headers (so tests see what arrived) and requires the bearer token if one is set."""

    def __init__(self, app: ASGIApp, token: str | None, log_path: str | None) -> None:
        self.app = app
        self.token = token
        self.log_path = log_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {key.decode("latin-1"): value.decode("latin-1") for key, value in scope["headers"]}
        if self.log_path:
            entry = {"method": scope["method"], "path": scope["path"], "headers": headers}
            with open(self.log_path, "a", encoding="utf-8") as log:
                log.write(json.dumps(entry) + "\n")
        if self.token is not None and headers.get("authorization") != f"Bearer {self.token}":
            await send(
                {
                    "type": "http.response.start",
                    "status": 401,
                    "headers": [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")],
                }
            )
            await send({"type": "http.response.body", "body": b'{"error": "unauthorized"}'})
            return
        await self.app(scope, receive, send)


def build_app(token: str | None = None, log_path: str | None = None) -> ASGIApp:
    """One app with both transports; the session manager's lifespan must run or /mcp fails."""
    http_app = mcp.streamable_http_app(streamable_http_path="/mcp", transport_security=NO_HOST_CHECKS)
    sse_app = mcp.sse_app(sse_path="/sse", message_path="/messages/", transport_security=NO_HOST_CHECKS)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with mcp.session_manager.run():
            yield

    app = Starlette(routes=[*http_app.routes, *sse_app.routes], lifespan=lifespan)
    return GuardAndLog(app, token, log_path)


async def serve(port: int, token: str | None, log_path: str | None) -> None:
    """Serves until killed, announcing READY once the socket listens."""
    config = uvicorn.Config(build_app(token, log_path), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            await task
            raise SystemExit(f"the server did not start on port {port}")
        await asyncio.sleep(0.05)
    print("READY", flush=True)
    await task


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token", help="require 'Authorization: Bearer TOKEN' on every request")
    parser.add_argument("--log", help="append each request's method, path and headers to this JSON-lines file")
    args = parser.parse_args()
    try:
        asyncio.run(serve(args.port, args.token, args.log))
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
