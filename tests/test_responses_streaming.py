"""Streaming: the full event ladder, numbering, the SDK's stream helper, and a client that goes away."""

from __future__ import annotations

import time

import httpx2
import openai
import pytest
from openai import AsyncOpenAI, OpenAI
from tests.conftest import Server

LADDER_HEAD = [
    "response.created",
    "response.in_progress",
    "response.output_item.added",
    "response.content_part.added",
]
LADDER_TAIL = ["response.output_text.done", "response.content_part.done", "response.output_item.done"]


def test_event_ladder_and_numbering(client: OpenAI) -> None:
    events = list(
        client.responses.create(
            model="gpt-4.1", input="Say 'double bubble bath' twice.", max_output_tokens=24, stream=True
        )
    )
    types = [event.type for event in events]
    deltas = [event for event in events if event.type == "response.output_text.delta"]
    assert types[:4] == LADDER_HEAD
    assert types[4 : 4 + len(deltas)] == ["response.output_text.delta"] * len(deltas)
    assert types[4 + len(deltas) : -1] == LADDER_TAIL
    assert types[-1] in ("response.completed", "response.incomplete")
    assert len(events) == len(deltas) + 8
    assert [event.sequence_number for event in events] == list(range(len(events)))
    text = "".join(delta.delta for delta in deltas)
    done = next(event for event in events if event.type == "response.output_text.done")
    final = events[-1].response  # type: ignore[union-attr]
    assert done.text == text == final.output_text
    assert events[0].response.status == "in_progress" and events[0].response.output == []  # type: ignore[union-attr]
    assert client.responses.retrieve(final.id) == final


def test_obfuscation_is_on_by_default_and_can_be_turned_off(server: Server) -> None:
    body = {"model": "gpt-4o", "input": "Hi", "max_output_tokens": 16, "stream": True}
    with_padding = httpx2.post(f"{server.base_url}/responses", json=body, timeout=60).text
    assert '"obfuscation":' in with_padding
    body["stream_options"] = {"include_obfuscation": False}
    without = httpx2.post(f"{server.base_url}/responses", json=body, timeout=60).text
    assert "response.output_text.delta" in without and '"obfuscation":' not in without
    assert without.startswith("event: response.created\ndata: {")


def test_sdk_stream_helper_accumulates_the_final_response(client: OpenAI) -> None:
    # Greedy and roomy, so the answer ends by itself: the helper insists on `response.completed`.
    with client.responses.stream(model="gpt-4o", input="Say hi.", max_output_tokens=400, temperature=0) as stream:
        text = "".join(event.delta for event in stream if event.type == "response.output_text.delta")
        final = stream.get_final_response()
    assert final.output_text == text
    assert client.responses.retrieve(final.id).output_text == text


async def test_async_client_streams(async_client: AsyncOpenAI) -> None:
    stream = await async_client.responses.create(model="gpt-4o", input="Hello", max_output_tokens=16, stream=True)
    types = [event.type async for event in stream]
    assert types[0] == "response.created" and types[-1] in ("response.completed", "response.incomplete")


def test_stream_with_logprobs(client: OpenAI) -> None:
    events = list(
        client.responses.create(
            model="gpt-4o",
            input="Say yes.",
            max_output_tokens=16,
            top_logprobs=2,
            include=["message.output_text.logprobs"],
            stream=True,
        )
    )
    deltas = [event for event in events if event.type == "response.output_text.delta"]
    assert all(len(delta.logprobs) >= 1 for delta in deltas)
    final = events[-1].response  # type: ignore[union-attr]
    assert len(final.output[0].content[0].logprobs) == sum(len(delta.logprobs) for delta in deltas)


def test_disconnect_stops_generation_and_frees_the_engine(server: Server, client: OpenAI) -> None:
    body = {"model": "gpt-4o", "input": "Write a very long story.", "max_output_tokens": 900, "stream": True}
    response_id = None
    with httpx2.stream("POST", f"{server.base_url}/responses", json=body, timeout=60) as stream:
        for line in stream.iter_lines():
            if line.startswith("data:") and '"response.output_text.delta"' in line:
                break
            if line.startswith("data:") and response_id is None:
                response_id = line.split('"id":"', 1)[1].split('"', 1)[0]
    assert response_id is not None
    # The engine is free: a short request is answered although 900 tokens were asked of the abandoned one.
    quick = client.responses.create(model="gpt-4o", input="Say hi.", max_output_tokens=16)
    assert quick.status in ("completed", "incomplete")
    deadline = time.monotonic() + 30
    while (stored := client.responses.retrieve(response_id)).status == "in_progress":
        assert time.monotonic() < deadline, "the abandoned response was never closed"
        time.sleep(0.1)
    assert stored.status == "cancelled"
    assert stored.usage is None or stored.usage.output_tokens < 900


@pytest.mark.parametrize("include_obfuscation", [True, False])
def test_stream_options_need_stream(client: OpenAI, include_obfuscation: bool) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="gpt-4o", input="Hi", stream_options={"include_obfuscation": include_obfuscation})
    assert caught.value.body["param"] == "stream_options"  # type: ignore[index]
