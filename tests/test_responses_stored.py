"""Stored responses: retrieve, delete, input items with cursor pagination, token counts, cancel."""

from __future__ import annotations

import httpx2
import openai
import pytest
from openai import OpenAI
from tests.conftest import Server


@pytest.fixture(scope="module")
def five_inputs(client: OpenAI) -> str:
    response = client.responses.create(
        model="gpt-4o",
        input=[{"role": "user", "content": f"Message {n}"} for n in range(5)],  # type: ignore[misc]
        max_output_tokens=16,
    )
    return response.id


def test_input_items_default_order_is_newest_first(client: OpenAI, five_inputs: str) -> None:
    page = client.responses.input_items.list(five_inputs)
    texts = [item.content[0].text for item in page.data]  # type: ignore[union-attr]
    assert texts == [f"Message {n}" for n in reversed(range(5))]
    assert page.first_id == page.data[0].id and page.last_id == page.data[-1].id
    assert page.has_more is False


def test_input_items_cursor_pagination(server: Server, client: OpenAI, five_inputs: str) -> None:
    first = client.responses.input_items.list(five_inputs, order="asc", limit=2)
    assert [item.content[0].text for item in first.data] == ["Message 0", "Message 1"]  # type: ignore[union-attr]
    assert first.has_more is True
    everything = [item.content[0].text for item in client.responses.input_items.list(five_inputs, order="asc", limit=2)]  # type: ignore[union-attr]
    assert everything == [f"Message {n}" for n in range(5)], "auto-pagination follows `after`"
    ids = [item.id for item in client.responses.input_items.list(five_inputs, order="asc")]
    # The SDK no longer sends `before`; the API still takes it.
    before = httpx2.get(
        f"{server.base_url}/responses/{five_inputs}/input_items", params={"order": "asc", "before": ids[3], "limit": 2}
    ).json()
    assert [item["id"] for item in before["data"]] == ids[1:3] and before["has_more"] is True


def test_input_items_reject_bad_limits(client: OpenAI, five_inputs: str) -> None:
    for limit in (0, 101):
        with pytest.raises(openai.BadRequestError) as caught:
            client.responses.input_items.list(five_inputs, limit=limit)
        assert caught.value.body["param"] == "limit"  # type: ignore[index]


def test_delete_then_404(client: OpenAI) -> None:
    response = client.responses.create(model="gpt-4o", input="Bye", max_output_tokens=16)
    client.responses.delete(response.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(response.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.delete(response.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.input_items.list(response.id)


def test_cancel_of_a_foreground_response_is_a_400(client: OpenAI) -> None:
    response = client.responses.create(model="gpt-4o", input="Hi", max_output_tokens=16)
    with pytest.raises(openai.BadRequestError):
        client.responses.cancel(response.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.cancel("resp_123")


def test_input_tokens_counts_instructions_and_history(client: OpenAI) -> None:
    bare = client.responses.input_tokens.count(model="gpt-4o", input="Hello there", instructions="Be brief.")
    longer = client.responses.input_tokens.count(
        model="gpt-4o", input="Hello there", instructions="Be brief. You are a pirate."
    )
    assert bare.object == "response.input_tokens"
    assert longer.input_tokens > bare.input_tokens > 0
    earlier = client.responses.create(model="gpt-4o", input="Remember 42.", max_output_tokens=16)
    chained = client.responses.input_tokens.count(
        model="gpt-4o", input="Hello there", instructions="Be brief.", previous_response_id=earlier.id
    )
    assert chained.input_tokens > bare.input_tokens


def test_input_tokens_rejects_generation_fields(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.input_tokens.count(model="gpt-4o", input="Hi", extra_body={"max_output_tokens": 20})
    assert caught.value.body["param"] == "max_output_tokens"  # type: ignore[index]


def test_retrieve_stream_of_a_foreground_response_is_a_400(client: OpenAI) -> None:
    response = client.responses.create(model="gpt-4o", input="Hi", max_output_tokens=16)
    with pytest.raises(openai.BadRequestError):
        client.responses.retrieve(response.id, stream=True)
