"""Remote MCP servers: real ones (`tests/mcp_server.py`, the `mcp` SDK) on loopback, over Streamable HTTP and SSE.

The small model is made to call a named tool (`tool_choice` of type `mcp`); what it writes does not matter, only
what Homeport does with the call: items, events, approvals, errors, and that secrets go nowhere.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from openai import OpenAI
from openai.types.responses.response_output_item import McpApprovalRequest, McpCall, McpListTools
from tests.conftest import McpProcess, Server, free_port, running_mcp

TOKEN = "s3cret-token-value"
HEADER_SECRET = "hdr-secret-value"


@pytest.fixture(scope="module")
def mcp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[McpProcess]:
    with running_mcp(tmp_path_factory.mktemp("mcp")) as running:
        yield running


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[McpProcess]:
    with running_mcp(tmp_path_factory.mktemp("mcp-token"), "--token", TOKEN) as running:
        yield running


@pytest.fixture(scope="module")
def homeport(tmp_path_factory: pytest.TempPathFactory, mcp: McpProcess) -> Iterator[Server]:
    """A server allowed to reach loopback (where the test MCP servers are), with a connector behind one."""
    env = {
        "HOMEPORT_CONTEXT_SIZE": "2048",
        "HOMEPORT_OUTBOUND_ALLOW": "127.0.0.1/32,localhost",
        "HOMEPORT_MCP_CONNECTORS": f"connector_gmail={mcp.url()}",
        "HOMEPORT_MCP_TIMEOUT": "1",
    }
    running = Server(tmp_path_factory.mktemp("homeport-mcp"), env=env).start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def client(homeport: Server) -> OpenAI:
    return homeport.client()


def dice(mcp: McpProcess, **options: Any) -> dict[str, Any]:
    return {"type": "mcp", "server_label": "dmcp", "server_url": mcp.url(), **options}


def forced(name: str) -> dict[str, Any]:
    return {"type": "mcp", "server_label": "dmcp", "name": name}


def ask(client: OpenAI, tools: list[dict[str, Any]], name: str, text: str, **options: Any) -> Any:
    """A response in which the model must call the tool `name` of server `dmcp` (once, greedily)."""
    return client.responses.create(
        model="gpt-4o",
        input=text,
        tools=tools,  # type: ignore[arg-type]
        tool_choice=forced(name),  # type: ignore[arg-type]
        temperature=0,
        parallel_tool_calls=False,
        max_output_tokens=150,
        **options,
    )


def the_call(response: Any) -> McpCall:
    return next(item for item in response.output if isinstance(item, McpCall))


def test_tools_are_listed_filtered_and_listed_once_per_context(client: OpenAI, mcp: McpProcess) -> None:
    first = client.responses.create(
        model="gpt-4o",
        input="Hi",
        tools=[dice(mcp, allowed_tools=["roll", "add"], server_description="Dice", require_approval="never")],
        tool_choice="none",
        max_output_tokens=16,
    )
    listing = first.output[0]
    assert isinstance(listing, McpListTools) and listing.id.startswith("mcpl_") and listing.server_label == "dmcp"
    assert {tool.name for tool in listing.tools} == {"roll", "add"}
    add = next(tool for tool in listing.tools if tool.name == "add")
    assert add.annotations == {"readOnlyHint": True} and add.input_schema["required"] == ["a", "b"]  # type: ignore[index]
    echoed = first.tools[0].model_dump(exclude_none=True)
    assert echoed["server_url"] == f"http://127.0.0.1:{mcp.port}" and echoed["require_approval"] == "never"
    # The listing is in the context now: the next response does not list again.
    second = client.responses.create(
        model="gpt-4o",
        input="Again",
        previous_response_id=first.id,
        tools=[dice(mcp, allowed_tools=["roll", "add"], require_approval="never")],
        tool_choice="none",
        max_output_tokens=16,
    )
    assert not [item for item in second.output if item.type == "mcp_list_tools"]
    read_only = client.responses.create(
        model="gpt-4o",
        input="Hi",
        tools=[dice(mcp, allowed_tools={"read_only": True})],
        tool_choice="none",
        max_output_tokens=16,
    )
    assert [tool.name for tool in read_only.output[0].tools] == ["add"]  # type: ignore[union-attr]


def test_a_call_streams_its_events_and_output(client: OpenAI, mcp: McpProcess) -> None:
    with client.responses.stream(
        model="gpt-4o",
        input="Roll 2d4+1.",
        tools=[dice(mcp, require_approval="never")],
        temperature=0,
        parallel_tool_calls=False,
        tool_choice=forced("roll"),  # type: ignore[arg-type]
        max_output_tokens=150,
    ) as stream:
        events = list(stream)
    types = [event.type for event in events]
    assert types.index("response.mcp_list_tools.in_progress") < types.index("response.mcp_list_tools.completed")
    calls = [t for t in types if t.startswith("response.mcp_call")]
    deltas = calls.count("response.mcp_call_arguments.delta")
    assert deltas >= 1
    assert calls == [
        "response.mcp_call.in_progress",
        *["response.mcp_call_arguments.delta"] * deltas,
        "response.mcp_call_arguments.done",
        "response.mcp_call.completed",
    ]
    final = events[-1].response  # type: ignore[union-attr]
    call = next(item for item in final.output if isinstance(item, McpCall))
    assert call.id.startswith("mcp_") and call.status == "completed" and call.error is None
    assert call.name == "roll" and call.server_label == "dmcp" and call.approval_request_id is None
    streamed = "".join(event.delta for event in events if event.type == "response.mcp_call_arguments.delta")
    assert streamed == call.arguments and "diceRollExpression" in json.loads(call.arguments)
    assert call.output is not None and call.output.isdigit()


def test_search_and_fetch_follow_the_documented_contract(client: OpenAI, mcp: McpProcess) -> None:
    tools = [dice(mcp, allowed_tools=["search", "fetch"], require_approval="never")]
    found = ask(client, tools, "search", "Search cats.")
    call = the_call(found)
    results = json.loads(call.output or "")["results"]
    assert all(set(result) == {"id", "title", "url"} for result in results)
    fetched = ask(client, tools, "fetch", "Fetch doc-1.")
    call = the_call(fetched)
    # The model picks the id: doc-1 gives the document, anything else the server's error.
    if call.status == "completed":
        assert json.loads(call.output or "")["id"] == "doc-1"
    else:
        assert call.error is not None and call.error.type == "mcp_tool_execution_error"


def test_failures_are_failed_items_not_broken_responses(client: OpenAI, mcp: McpProcess) -> None:
    failed = ask(client, [dice(mcp, require_approval="never")], "fail", "Fail.")
    call = the_call(failed)
    assert call.status == "failed" and call.output is None
    assert call.error is not None and call.error.type == "mcp_tool_execution_error"
    assert failed.status in ("completed", "incomplete")
    slow = ask(client, [dice(mcp, require_approval="never")], "slow", "Wait.")
    call = the_call(slow)
    assert call.status == "failed" and call.error is not None  # HOMEPORT_MCP_TIMEOUT is 1 s; slow takes 3
    with pytest.raises(openai.APIStatusError) as unreachable:
        client.responses.create(
            model="gpt-4o",
            input="Hi",
            tools=[{"type": "mcp", "server_label": "gone", "server_url": f"http://127.0.0.1:{free_port()}/mcp"}],
        )
    assert unreachable.value.status_code == 424 and unreachable.value.body["type"] == "external_connector_error"  # type: ignore[index]


def test_the_approval_flow(client: OpenAI, mcp: McpProcess) -> None:
    tools = [dice(mcp)]  # approval is required by default
    asked = ask(client, tools, "add", "Add 2 and 3.")
    request = asked.output[-1]
    assert isinstance(request, McpApprovalRequest) and request.id.startswith("mcpr_") and request.name == "add"
    assert not [item for item in asked.output if isinstance(item, McpCall)]
    approved = client.responses.create(
        model="gpt-4o",
        previous_response_id=asked.id,
        input=[{"type": "mcp_approval_response", "approve": True, "approval_request_id": request.id}],
        tools=tools,
        max_output_tokens=40,
    )
    call = approved.output[0]
    assert isinstance(call, McpCall) and call.approval_request_id == request.id
    assert call.arguments == request.arguments and call.status == "completed" and call.output
    declined = client.responses.create(
        model="gpt-4o",
        previous_response_id=asked.id,
        input=[{"type": "mcp_approval_response", "approve": False, "approval_request_id": request.id}],
        tools=tools,
        tool_choice="none",
        max_output_tokens=20,
    )
    assert not [item for item in declined.output if isinstance(item, McpCall)]
    with pytest.raises(openai.BadRequestError) as unknown:
        client.responses.create(
            model="gpt-4o",
            input=[{"type": "mcp_approval_response", "approve": True, "approval_request_id": "mcpr_nope"}],
            tools=tools,
        )
    assert unknown.value.param == "input[0].approval_request_id"


def test_approval_without_storing_anything(client: OpenAI, mcp: McpProcess) -> None:
    tools = [dice(mcp, require_approval={"always": {"tool_names": ["add"]}})]
    asked = ask(client, tools, "add", "Add 2 and 3.", store=False)
    request = asked.output[-1]
    assert isinstance(request, McpApprovalRequest)
    replayed = [item.model_dump(exclude_none=True) for item in asked.output]
    approved = client.responses.create(
        model="gpt-4o",
        input=[*replayed, {"type": "mcp_approval_response", "approve": True, "approval_request_id": request.id}],  # type: ignore[list-item]
        tools=tools,
        store=False,
        max_output_tokens=40,
    )
    call = approved.output[0]
    assert isinstance(call, McpCall) and call.approval_request_id == request.id and call.output
    # Only `add` needs approval: `slow` runs at once (and times out: HOMEPORT_MCP_TIMEOUT is 1 s).
    added = ask(client, tools, "slow", "Wait a second.", store=False)
    assert [item for item in added.output if isinstance(item, McpCall)]


def test_sse_bearer_tokens_and_headers_stay_secret(homeport: Server, client: OpenAI, guarded: McpProcess) -> None:
    entry = {
        "type": "mcp",
        "server_label": "vault",
        "server_url": guarded.url("/sse", host="localhost"),
        "authorization": TOKEN,
        "headers": {"X-Api-Key": HEADER_SECRET},
        "require_approval": "never",
    }
    response = client.responses.create(
        model="gpt-4o",
        input="Add 2 and 3.",
        tools=[entry],  # type: ignore[list-item]
        temperature=0,
        parallel_tool_calls=False,
        tool_choice={"type": "mcp", "server_label": "vault", "name": "add"},  # type: ignore[typeddict-item]
        max_output_tokens=150,
    )
    call = next(item for item in response.output if isinstance(item, McpCall))
    assert call.status == "completed" and call.output is not None
    arrived = guarded.requests()
    assert arrived and all(request["headers"]["authorization"] == f"Bearer {TOKEN}" for request in arrived)
    assert {request["path"] for request in arrived} >= {"/sse", "/messages/"}
    assert all(request["headers"]["x-api-key"] == HEADER_SECRET for request in arrived)
    echoed = response.tools[0].model_dump()
    assert echoed["authorization"] is None and echoed["headers"] is None
    assert echoed["server_url"] == f"http://localhost:{guarded.port}"
    client.responses.retrieve(response.id)
    for path in homeport.data_dir.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert TOKEN.encode() not in data and HEADER_SECRET.encode() not in data, path
    with pytest.raises(openai.APIStatusError) as refused:
        client.responses.create(model="gpt-4o", input="Hi", tools=[{**entry, "authorization": None}])  # type: ignore[list-item]
    assert refused.value.status_code == 424


def test_bad_entries_and_the_outbound_rule(client: OpenAI, mcp: McpProcess, server: Server) -> None:
    gmail = client.responses.create(
        model="gpt-4o",
        input="Hi",
        tools=[{"type": "mcp", "server_label": "mail", "connector_id": "connector_gmail", "authorization": "t"}],
        tool_choice="none",
        max_output_tokens=16,
    )
    assert isinstance(gmail.output[0], McpListTools)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"type": "mcp", "server_label": "x", "connector_id": "connector_dropbox"}, "tools[0].connector_id"),
        ({"type": "mcp", "server_label": "x"}, "tools[0]"),
        ({**dice(mcp), "defer_loading": True}, "tools[0].defer_loading"),
        ({**dice(mcp), "server_label": "bad label"}, "tools[0].server_label"),
        ({**dice(mcp), "server_url": "ftp://127.0.0.1/mcp"}, "tools[0].server_url"),
    ]
    for entry, param in cases:
        with pytest.raises(openai.BadRequestError) as bad:
            client.responses.create(model="gpt-4o", input="Hi", tools=[entry])  # type: ignore[list-item]
        assert bad.value.param == param, entry
    # The session's default server does not allow loopback: the MCP server is never contacted.
    before = len(mcp.requests())
    with pytest.raises(openai.BadRequestError) as private:
        server.client().responses.create(model="gpt-4o", input="Hi", tools=[dice(mcp)])  # type: ignore[list-item]
    assert private.value.param == "tools[0].server_url" and "HOMEPORT_OUTBOUND_ALLOW" in private.value.message
    assert len(mcp.requests()) == before
