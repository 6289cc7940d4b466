"""`python bench/mcp_calls.py`: what Homeport adds around one MCP tool call, against the `mcp` SDK calling directly.

An MCP server (the SDK's `MCPServer`, one `add` tool, Streamable HTTP) runs in a background thread on loopback.
Three ways of calling `add` alternate, so all see the same machine load:

- `server`: `call_tool` on a session kept open: the server's own time for the call (transport and tool);
- `sdk`: a fresh SDK `Client` per call (connect, initialize, call, close): what any stateless caller pays;
- `homeport`: `tools.mcp_client.call_tool`, as a response runs it: the outbound check's pinned client, a fresh
  session with the request's headers, the call, and the result turned into an item's output.

It prints p50 and p95 of each, `homeport` against `sdk` as a ratio, and Homeport's overhead around a call: its p50
minus the server's own p50.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import threading
import time

import uvicorn
from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings

from homeport.outbound import OutboundPolicy, check_url
from homeport.tools.mcp_client import McpEndpoint, call_tool

server = MCPServer("bench", log_level="WARNING")


@server.tool()
def add(a: int, b: int) -> int:
    """Adds two numbers."""
    return a + b


def serve() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    security = TransportSecuritySettings(enable_dns_rebinding_protection=False)
    app = server.streamable_http_app(transport_security=security)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    running = uvicorn.Server(config)
    threading.Thread(target=running.run, daemon=True).start()
    while not running.started:
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}/mcp"


def summary(name: str, samples: list[float]) -> str:
    p50, p95 = statistics.median(samples), statistics.quantiles(samples, n=20)[-1]
    return f"{name}: p50 {p50 * 1000:.2f} ms, p95 {p95 * 1000:.2f} ms ({len(samples)} calls)"


async def main(calls: int, warmup: int) -> None:
    url = serve()
    endpoint = McpEndpoint(await check_url(url, OutboundPolicy.parse(["127.0.0.1/32"]), what="url", param="url"))
    timings: dict[str, list[float]] = {"server": [], "sdk": [], "homeport": []}
    async with Client(url) as kept:

        async def on_kept() -> None:
            await kept.call_tool("add", {"a": 2, "b": 3})

        async def fresh() -> None:
            async with Client(url) as client:
                await client.call_tool("add", {"a": 2, "b": 3})

        async def homeport() -> None:
            outcome = await call_tool(endpoint, "add", {"a": 2, "b": 3})
            assert outcome.output == "5", outcome

        ways = {"server": on_kept, "sdk": fresh, "homeport": homeport}
        for index in range(warmup + calls):
            order = list(ways.items()) if index % 2 == 0 else list(reversed(ways.items()))
            for name, way in order:
                start = time.perf_counter()
                await way()
                if index >= warmup:
                    timings[name].append(time.perf_counter() - start)
    print("Homeport MCP call benchmark: one `add` call over Streamable HTTP on loopback, 2 cores")
    for name, samples in timings.items():
        print(summary(name, samples))
    sdk, ours, own = (statistics.median(timings[name]) for name in ("sdk", "homeport", "server"))
    print(f"homeport / sdk (fresh session each): p50 ratio {ours / sdk:.2f}x")
    print(f"overhead around a call (homeport p50 - server's own p50): {(ours - own) * 1000:.2f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=5)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.calls, arguments.warmup))
