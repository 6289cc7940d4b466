"""The Responses examples of the OpenAI documentation (reference/docs/002), run as written on the default model."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from io import BytesIO

import pytest
from openai import OpenAI
from tests.conftest import McpProcess, running_mcp
from tests.documents import make_pdf

from homeport.sandbox.runtime import probe

pytestmark = pytest.mark.default_model

# Each call is the documentation's, plus `max_output_tokens` (to bound the time) and `temperature=0`: the answers'
# content is asserted, and a 0.5B model sampled at temperature 1 sometimes wanders (it once said it was born in Xian).


def test_text_generation_with_instructions(default_client: OpenAI) -> None:
    client = default_client
    response = client.responses.create(
        model="gpt-4o",
        instructions="You are a coding assistant that talks like a pirate.",
        input="How do I check if a Python object is an instance of a class?",
        max_output_tokens=120,
        temperature=0,
    )
    assert "isinstance" in response.output_text
    assert response.instructions == "You are a coding assistant that talks like a pirate."


def test_streaming(default_client: OpenAI) -> None:
    client = default_client
    stream = client.responses.create(
        model="gpt-4.1",
        input=[{"role": "user", "content": "Say 'double bubble bath' ten times fast."}],
        stream=True,
        max_output_tokens=60,
        temperature=0,
    )
    text = ""
    for event in stream:
        if event.type == "response.output_text.delta":
            text += event.delta
    assert "bubble" in text.lower()


def test_previous_response_id_chain(default_client: OpenAI) -> None:
    client = default_client
    first = client.responses.create(
        model="gpt-4o-mini",
        input="hello, this is Yunna Speaking. I was born in China",
        max_output_tokens=40,
        temperature=0,
    )
    second = client.responses.create(
        model="gpt-4o-mini",
        previous_response_id=first.id,
        input="Do you know what my name is",
        max_output_tokens=30,
        temperature=0,
    )
    assert "Yunna" in second.output_text
    third = client.responses.create(
        model="gpt-4o-mini",
        previous_response_id=second.id,
        input="where was I born?",
        max_output_tokens=30,
        temperature=0,
    )
    assert "China" in third.output_text
    assert third.previous_response_id == second.id


def test_manual_conversation_state(default_client: OpenAI) -> None:
    client = default_client
    history = [{"role": "user", "content": "Hello, my name is Yunna."}]
    response = client.responses.create(
        model="gpt-4o-mini", input=history, store=False, max_output_tokens=40, temperature=0
    )  # type: ignore[arg-type]
    history += [{"role": el.role, "content": el.content} for el in response.output]  # type: ignore[union-attr, misc]
    history.append({"role": "user", "content": "what is my name"})
    second = client.responses.create(
        model="gpt-4o-mini", input=history, store=False, max_output_tokens=30, temperature=0
    )  # type: ignore[arg-type]
    assert "Yunna" in second.output_text


def test_conversations_api(default_client: OpenAI) -> None:
    client = default_client
    conversation = client.conversations.create(
        metadata={"topic": "demo"},
        items=[{"type": "message", "role": "user", "content": "Hello,my name is Yunna. How are you doing"}],
    )
    response = client.responses.create(
        model="gpt-4.1",
        input=[{"role": "user", "content": "What is my name?"}],
        conversation=conversation.id,
        max_output_tokens=40,
        temperature=0,
    )
    assert "Yunna" in response.output_text
    assert response.conversation is not None and response.conversation.id == conversation.id


def test_function_calling_weather_round_trip(default_client: OpenAI) -> None:
    client = default_client
    tools = [
        {
            "type": "function",
            "name": "get_weather",
            "description": "Get current temperature for a given location.",
            "parameters": {
                "type": "object",
                "properties": {"location": {"type": "string", "description": "City and country e.g. Bogotá, Colombia"}},
                "required": ["location"],
                "additionalProperties": False,
            },
            "strict": True,
        }
    ]
    input_messages: list = [{"role": "user", "content": "What is the weather like in Paris today?"}]  # type: ignore[type-arg]
    response = client.responses.create(model="gpt-4.1", input=input_messages, tools=tools, temperature=0)  # type: ignore[arg-type]
    tool_call = response.output[0]
    assert tool_call.type == "function_call" and tool_call.name == "get_weather"
    assert "Paris" in json.loads(tool_call.arguments)["location"]
    input_messages.append(tool_call)
    input_messages.append({"type": "function_call_output", "call_id": tool_call.call_id, "output": "14"})
    # The second step completes; Qwen2.5-Coder-0.5B then calls the tool again rather than answering (it does so
    # unconstrained too), so the final message is asked for the way a client forces one: tool_choice "none".
    response_2 = client.responses.create(
        model="gpt-4.1", input=input_messages, tools=tools, tool_choice="none", max_output_tokens=60, temperature=0  # type: ignore[arg-type]
    )  # fmt: skip
    assert response_2.status in ("completed", "incomplete") and response_2.output[0].type == "message"
    assert response_2.output_text


def test_parallel_function_calls(default_client: OpenAI) -> None:
    weather = {
        "type": "function",
        "name": "get_weather",
        "description": "Get current temperature for a given location.",
        "parameters": {
            "type": "object",
            "properties": {"location": {"type": "string"}},
            "required": ["location"],
            "additionalProperties": False,
        },
    }
    question = "What is the weather like in Paris and in London today?"
    response = default_client.responses.create(
        model="gpt-4.1", input=question, tools=[weather], temperature=0, max_output_tokens=200  # type: ignore[list-item]
    )  # fmt: skip
    locations = [json.loads(item.arguments)["location"] for item in response.output if item.type == "function_call"]
    assert len(locations) == 2 and "Paris" in locations[0] and "London" in locations[1], locations
    single = default_client.responses.create(
        model="gpt-4.1", input=question, tools=[weather], temperature=0, parallel_tool_calls=False  # type: ignore[list-item]
    )  # fmt: skip
    assert [item.type for item in single.output] == ["function_call"]


AIRNZ_FAQ = [
    "airnz-baggage-FAQ\n\nQuestion : What is my checked baggage allowance?\n\nAnswer : Your checked baggage "
    "allowance depends on your fare type. Seat only fares include carry-on baggage only.",
    "Question : Can I bring more bags than my standard allowance?\n\nAnswer : If you need to carry more than you "
    "can fit in your baggage allowance, the best option is to purchase Prepaid Extra Bags. They apply to extra bags "
    "or large items like sports gear or musical instruments. You can buy a Prepaid Extra Bag up to 90 minutes before "
    "your international flight, or up to 30 minutes before a domestic flight. It's cheaper than waiting until you get "
    "to the airport and paying for your extra bags.",
    "Question : How heavy can my carry-on bag be?\n\nAnswer : Carry-on bags can weigh up to 7kg on all flights.",
]


def test_file_input(default_client: OpenAI) -> None:
    client = default_client
    file = client.files.create(file=("airnz-baggage-FAQ.pdf", make_pdf(AIRNZ_FAQ)), purpose="user_data")
    response = client.responses.create(
        model="gpt-4.1",
        input=[
            {
                "role": "user",
                "content": [
                    {"type": "input_file", "file_id": file.id},
                    {"type": "input_text", "text": "Can I bring more bags than my standard allowance?"},
                ],
            }
        ],
        max_output_tokens=120,
        temperature=0,
    )
    assert "extra bag" in response.output_text.lower()


def test_file_search_airline_baggage(default_client: OpenAI) -> None:
    """The documentation's file search walkthrough: upload, vector store, attach, poll, ask, cite."""
    client = default_client
    file_id = client.files.create(file=("airnz-baggage-FAQ.pdf", BytesIO(make_pdf(AIRNZ_FAQ))), purpose="assistants").id
    vector_store = client.vector_stores.create(name="airnz_onsite")
    result = client.vector_stores.files.create(vector_store_id=vector_store.id, file_id=file_id)
    assert result.status == "in_progress" and result.id == file_id
    while (status := client.vector_stores.files.list(vector_store_id=vector_store.id).data[0].status) == "in_progress":
        time.sleep(0.1)
    assert status == "completed"
    response = client.responses.create(
        model="gpt-4o",
        input="Can I bring more bags than my standard allowance?",
        tools=[{"type": "file_search", "vector_store_ids": [vector_store.id]}],
        include=["file_search_call.results"],
        max_output_tokens=300,
        temperature=0,
    )
    call, message = response.output[0], response.output[-1]
    assert call.type == "file_search_call" and call.status == "completed" and call.queries
    assert call.results and call.results[0].filename == "airnz-baggage-FAQ.pdf"
    assert "Prepaid Extra Bag" in response.output_text
    assert message.type == "message"
    citations = message.content[0].annotations  # type: ignore[union-attr]
    assert citations and {citation.file_id for citation in citations} == {file_id}  # type: ignore[union-attr]


needs_sandbox = pytest.mark.skipif(probe() is not None, reason=f"no confined execution here: {probe()}")


@needs_sandbox
def test_code_interpreter_solves_the_equation(default_client: OpenAI) -> None:
    client = default_client
    instructions = (
        "You are a personal math tutor. When asked a math question, write and run code using the python tool to "
        "answer the question."
    )
    response = client.responses.create(
        model="gpt-4.1",
        tools=[{"type": "code_interpreter", "container": {"type": "auto"}}],
        instructions=instructions,
        input="I need to solve the equation 3x + 11 = 14. Can you help me?",
        include=["code_interpreter_call.outputs"],
        max_output_tokens=400,
        temperature=0,
    )
    calls = [item for item in response.output if item.type == "code_interpreter_call"]
    assert calls and calls[0].status == "completed" and calls[0].outputs
    assert any(output.type == "logs" and "1" in output.logs for output in calls[0].outputs)
    assert response.output[-1].type == "message"
    assert re.search(r"x\s*=\s*1\b", response.output_text)


@needs_sandbox
def test_code_interpreter_charts_an_uploaded_csv(default_client: OpenAI) -> None:
    """A CSV in, a PNG out: uploaded, analysed in the container, cited, and downloaded from it."""
    client = default_client
    csv = b"month,total\njan,10\nfeb,12\nmar,17\napr,15\n"
    sales = client.files.create(file=("sales.csv", csv), purpose="user_data")
    response = client.responses.create(
        model="gpt-4.1",
        tools=[{"type": "code_interpreter", "container": {"type": "auto", "file_ids": [sales.id]}}],
        input="Here is sales.csv. Make a line chart of total by month and save it to /mnt/data/chart.png.",
        include=["code_interpreter_call.outputs"],
        max_output_tokens=400,
        temperature=0,
    )
    call = next(item for item in response.output if item.type == "code_interpreter_call")
    assert call.outputs and any(output.type == "image" for output in call.outputs)
    message = response.output[-1]
    assert message.type == "message"
    citation = message.content[0].annotations[0]  # type: ignore[union-attr]
    assert citation.type == "container_file_citation" and citation.filename == "chart.png"
    assert citation.container_id == call.container_id
    chart = client.containers.files.content.retrieve(citation.file_id, container_id=call.container_id)
    assert chart.read().startswith(b"\x89PNG")
    listed = client.containers.files.list(call.container_id)
    assert {(file.path, file.source) for file in listed} >= {
        ("/mnt/data/sales.csv", "user"),
        ("/mnt/data/chart.png", "assistant"),
    }


@pytest.fixture(scope="module")
def dice_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[McpProcess]:
    with running_mcp(tmp_path_factory.mktemp("dmcp")) as running:
        yield running


def test_remote_mcp_dice_roll(default_client: OpenAI, dice_server: McpProcess) -> None:
    """The documentation's remote MCP example (a dice-rolling server, no approval), on a local MCP server."""
    client = default_client
    response = client.responses.create(
        model="gpt-5",
        tools=[
            {
                "type": "mcp",
                "server_label": "dmcp",
                "server_description": "A Dungeons and Dragons MCP server to assist with dice rolling.",
                "server_url": dice_server.url("/sse"),
                "require_approval": "never",
            }
        ],
        input="Roll 2d4+1",
        max_output_tokens=200,
        temperature=0,
    )
    listing, call, message = response.output[0], response.output[1], response.output[-1]
    assert listing.type == "mcp_list_tools" and "roll" in {tool.name for tool in listing.tools}
    assert call.type == "mcp_call" and call.name == "roll" and call.output == "9"  # the test server rolls maximums
    assert message.type == "message" and "9" in response.output_text
