"""Many requests at once: all answered, none lost, and stored objects stay readable while the model is busy."""

from __future__ import annotations

import asyncio
import time

import openai
import pytest
from openai import AsyncOpenAI, OpenAI
from tests.conftest import Server

STORY = "Write a very long story about the sea, with many chapters."


async def test_simultaneous_requests_are_all_answered(async_client: AsyncOpenAI) -> None:
    prompts = [f"Say the number {n}." for n in range(6)]
    responses = await asyncio.gather(
        *(async_client.responses.create(model="gpt-4o", input=p, max_output_tokens=16) for p in prompts)
    )
    assert len({response.id for response in responses}) == 6
    for prompt, response in zip(prompts, responses, strict=True):
        assert response.status in ("completed", "incomplete")
        items = await async_client.responses.input_items.list(response.id)
        assert items.data[0].content[0].text == prompt  # type: ignore[union-attr]


async def test_reads_are_served_while_a_generation_runs(client: OpenAI, async_client: AsyncOpenAI) -> None:
    stored = client.responses.create(model="gpt-4o", input="Hi", max_output_tokens=16)
    stream = await async_client.responses.create(
        model="gpt-4o", input="Write a long story about the sea.", max_output_tokens=400, temperature=0, stream=True
    )
    events = aiter(stream)
    while (await anext(events)).type != "response.output_text.delta":
        pass
    for _ in range(20):
        assert (await async_client.responses.retrieve(stored.id)).id == stored.id
    # The 20 reads above finished while the 400-token generation was still producing deltas.
    assert (await anext(events)).type == "response.output_text.delta"
    await stream.close()


def test_a_client_that_gives_up_stops_a_non_streaming_generation(server: Server, client: OpenAI) -> None:
    impatient = server.client(timeout=1.0, max_retries=0)
    with pytest.raises(openai.APITimeoutError):
        impatient.responses.create(model="gpt-4o", input=STORY, max_output_tokens=900, temperature=0)
    with pytest.raises(openai.APITimeoutError):
        impatient.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": STORY}], max_tokens=900)
    deadline = time.monotonic() + 10
    while server.log().count("client went away") < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert server.log().count("client went away") == 2, "each abandoned request was stopped, not run to its end"
    assert client.responses.create(model="gpt-4o", input="Hi", max_output_tokens=16).status in (
        "completed",
        "incomplete",
    )
