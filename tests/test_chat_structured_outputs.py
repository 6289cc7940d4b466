"""Chat Completions `response_format`: json_schema and json_object enforced token by token, and the SDK's `parse`."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import openai
import pytest
from openai import OpenAI
from pydantic import BaseModel


class CalendarEvent(BaseModel):
    name: str
    date: str
    participants: list[str]


EVENT_MESSAGES: Any = [
    {"role": "system", "content": "Extract the event information."},
    {"role": "user", "content": "Alice and Bob are going to a science fair on Friday."},
]
EVENT_SCHEMA = CalendarEvent.model_json_schema() | {"additionalProperties": False}


def _json_schema(schema: dict[str, Any], *, strict: bool | None = None, name: str = "event") -> Any:
    spec: dict[str, Any] = {"name": name, "schema": schema}
    if strict is not None:
        spec["strict"] = strict
    return {"type": "json_schema", "json_schema": spec}


def test_a_strict_schema_is_followed_with_keys_in_order(client: OpenAI) -> None:
    completion = client.chat.completions.create(
        model="gpt-4o",
        messages=EVENT_MESSAGES,
        response_format=_json_schema(EVENT_SCHEMA, strict=True),
        max_completion_tokens=300,
        temperature=0,
    )
    [choice] = completion.choices
    assert choice.finish_reason == "stop", choice.message.content
    assert choice.message.content is not None
    answer = json.loads(choice.message.content)
    jsonschema.validate(answer, EVENT_SCHEMA)
    assert list(answer) == ["name", "date", "participants"], "keys in schema order"


def test_parse_with_a_pydantic_model(client: OpenAI) -> None:
    completion = client.chat.completions.parse(
        model="gpt-4o-2024-08-06", messages=EVENT_MESSAGES, response_format=CalendarEvent, max_tokens=300, temperature=0
    )
    message = completion.choices[0].message
    assert isinstance(message.parsed, CalendarEvent)
    assert message.content is not None and json.loads(message.content) == message.parsed.model_dump()


def test_every_choice_is_constrained(client: OpenAI) -> None:
    completion = client.chat.completions.parse(
        model="gpt-4o", messages=EVENT_MESSAGES, response_format=CalendarEvent, max_tokens=300, n=2, seed=3
    )
    assert [type(choice.message.parsed) for choice in completion.choices] == [CalendarEvent, CalendarEvent]


def test_streamed_chunks_join_into_valid_json(client: OpenAI) -> None:
    stream = client.chat.completions.create(
        model="gpt-4o",
        messages=EVENT_MESSAGES,
        response_format=_json_schema(EVENT_SCHEMA, strict=True),
        max_tokens=300,
        temperature=0,
        stream=True,
    )
    chunks = list(stream)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert len(chunks) > 3, "streamed piece by piece"
    jsonschema.validate(json.loads(text), EVENT_SCHEMA)
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_the_stream_helper_parses(client: OpenAI) -> None:
    with client.chat.completions.stream(
        model="gpt-4o", messages=EVENT_MESSAGES, response_format=CalendarEvent, max_tokens=300, temperature=0
    ) as stream:
        deltas = "".join(event.delta for event in stream if event.type == "content.delta")
        final = stream.get_final_completion()
    parsed = final.choices[0].message.parsed
    assert isinstance(parsed, CalendarEvent)
    assert json.loads(deltas) == parsed.model_dump()


@pytest.mark.parametrize("seed_prompt", ["Describe a cat.", "List three colours.", "Invent a city."])
def test_a_non_strict_schema_guides_and_the_output_validates(client: OpenAI, seed_prompt: str) -> None:
    # Outside the strict subset (minLength, maxLength, maxItems): allowed without strict, and still enforced.
    schema = {
        "type": "object",
        "properties": {
            "title": {"type": "string", "minLength": 1, "maxLength": 40},
            "count": {"type": "integer", "minimum": 1, "maximum": 9},
            "tags": {"type": "array", "items": {"type": "string", "enum": ["a", "b", "c"]}, "maxItems": 3},
        },
        "required": ["title", "count", "tags"],
        "additionalProperties": False,
    }
    completion = client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": seed_prompt}],
        response_format=_json_schema(schema, name="thing"),
        max_tokens=120,
    )
    [choice] = completion.choices
    assert choice.finish_reason == "stop", choice.message.content
    jsonschema.validate(json.loads(choice.message.content or ""), schema)


def test_a_cut_off_structured_answer_finishes_with_length(client: OpenAI) -> None:
    completion = client.chat.completions.create(
        model="gpt-4o",
        messages=EVENT_MESSAGES,
        response_format=_json_schema(EVENT_SCHEMA, strict=True),
        max_tokens=8,
    )
    assert completion.choices[0].finish_reason == "length"
    with pytest.raises(openai.LengthFinishReasonError):
        client.chat.completions.parse(
            model="gpt-4o", messages=EVENT_MESSAGES, response_format=CalendarEvent, max_tokens=8
        )


@pytest.mark.default_model
def test_json_object(default_client: OpenAI) -> None:
    # On the 135M model an unconstrained-shape JSON object tends to run on (a valid prefix forever); Qwen stops.
    completion = default_client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "Reply in JSON with your favourite fruit."}],
        response_format={"type": "json_object"},
        max_tokens=120,
    )
    [choice] = completion.choices
    assert choice.finish_reason == "stop", choice.message.content
    assert isinstance(json.loads(choice.message.content or ""), dict)


def test_json_object_needs_the_word_json(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "Hello"}], response_format={"type": "json_object"}
        )
    assert caught.value.body["param"] == "messages"  # type: ignore[index]
    assert "json" in caught.value.message


OUTSIDE_THE_SUBSET = [
    ({"anyOf": [{"type": "object"}]}, "response_format.json_schema.schema"),
    (
        {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
        "response_format.json_schema.schema",
    ),
    (
        {
            "type": "object",
            "properties": {"a": {"type": "string", "maxLength": 3}},
            "required": ["a"],
            "additionalProperties": False,
        },
        "response_format.json_schema.schema.properties.a",
    ),
    (
        {
            "type": "object",
            "properties": {"a": {"type": "object", "properties": {"b": {"type": "string"}}, "required": []}},
            "required": ["a"],
            "additionalProperties": False,
        },
        "response_format.json_schema.schema.properties.a",
    ),
]


@pytest.mark.parametrize(("schema", "param"), OUTSIDE_THE_SUBSET)
def test_strict_schemas_outside_the_subset_are_400(client: OpenAI, schema: dict[str, Any], param: str) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(
            model="gpt-4o",
            messages=[{"role": "user", "content": "Hi"}],
            response_format=_json_schema(schema, strict=True),
        )
    assert caught.value.body["param"] == param  # type: ignore[index]


def test_the_schema_description_is_read_by_the_model(client: OpenAI) -> None:
    counts = []
    for extra in ({}, {"description": "The next event in the user's calendar."}):
        spec = {"type": "json_schema", "json_schema": {"name": "event", "schema": EVENT_SCHEMA, **extra}}
        completion = client.chat.completions.create(
            model="gpt-4o", messages=EVENT_MESSAGES, response_format=spec, max_tokens=1  # type: ignore[arg-type]
        )  # fmt: skip
        assert completion.usage is not None
        counts.append(completion.usage.prompt_tokens)
    assert counts[1] > counts[0] + 5
