"""Responses `text.format`: json_schema and json_object enforced token by token, on the small packaged model."""

from __future__ import annotations

import json

import jsonschema
import openai
import pytest
from openai import OpenAI
from pydantic import BaseModel


class CalendarEvent(BaseModel):
    name: str
    date: str
    participants: list[str]


EVENT_INPUT = [
    {"role": "system", "content": "Extract the event information."},
    {"role": "user", "content": "Alice and Bob are going to a science fair on Friday."},
]


def test_parse_with_a_pydantic_model(client: OpenAI) -> None:
    response = client.responses.parse(
        model="gpt-4o-2024-08-06",
        input=EVENT_INPUT,
        text_format=CalendarEvent,
        max_output_tokens=300,  # type: ignore[arg-type]
        temperature=0,
    )
    assert response.status == "completed"
    assert isinstance(response.output_parsed, CalendarEvent)
    assert list(json.loads(response.output_text)) == ["name", "date", "participants"], "keys in schema order"
    assert ": " not in response.output_text, "strict output is compact"
    assert response.text is not None and response.text.format.type == "json_schema"
    assert response.text.format.name == "CalendarEvent" and response.text.format.strict is True  # type: ignore[union-attr]


def test_streaming_with_text_format(client: OpenAI) -> None:
    with client.responses.stream(
        model="gpt-4o",
        input=EVENT_INPUT,
        text_format=CalendarEvent,
        max_output_tokens=300,  # type: ignore[arg-type]
        temperature=0,
    ) as stream:
        deltas = "".join(event.delta for event in stream if event.type == "response.output_text.delta")
        final = stream.get_final_response()
    assert isinstance(final.output_parsed, CalendarEvent)
    assert json.loads(deltas) == final.output_parsed.model_dump()


@pytest.mark.parametrize("seed_prompt", ["Describe a cat.", "List three colours.", "Invent a city."])
def test_non_strict_schema_guides_and_the_output_validates(client: OpenAI, seed_prompt: str) -> None:
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
    response = client.responses.create(
        model="gpt-4o",
        input=seed_prompt,
        text={"format": {"type": "json_schema", "name": "thing", "schema": schema}},
        max_output_tokens=120,
    )
    assert response.status == "completed", response.output_text
    jsonschema.validate(json.loads(response.output_text), schema)
    assert response.text is not None and response.text.format.strict is False  # type: ignore[union-attr]


@pytest.mark.default_model
def test_json_object(default_client: OpenAI) -> None:
    # On the 135M model an unconstrained-shape JSON object tends to run on (a valid prefix forever); Qwen stops.
    response = default_client.responses.create(
        model="gpt-4o",
        input="Reply in JSON with your favourite fruit.",
        text={"format": {"type": "json_object"}},
        max_output_tokens=120,
        # Sampled at temperature 1 the 0.5B model once wrote a long object of control characters past the limit.
        temperature=0,
    )
    assert response.status == "completed", response.output_text
    assert isinstance(json.loads(response.output_text), dict)


def test_json_object_needs_the_word_json(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="gpt-4o", input="Hello", text={"format": {"type": "json_object"}})
    assert caught.value.body["param"] == "input"  # type: ignore[index]


def test_a_cut_off_structured_answer_is_incomplete(client: OpenAI) -> None:
    response = client.responses.create(
        model="gpt-4o",
        input=EVENT_INPUT,
        max_output_tokens=16,  # type: ignore[arg-type]
        text={
            "format": {
                "type": "json_schema",
                "name": "e",
                "strict": True,
                "schema": CalendarEvent.model_json_schema() | {"additionalProperties": False},
            }
        },
    )
    assert response.status == "incomplete"


@pytest.mark.parametrize(
    ("schema", "param"),
    [
        ({"anyOf": [{"type": "object"}]}, "text.format.schema"),
        ({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}, "text.format.schema"),
        (
            {"type": "object", "properties": {"a": {"type": "string"}}, "required": [], "additionalProperties": False},
            "text.format.schema",
        ),
    ],
)
def test_strict_schemas_outside_the_subset_are_400(client: OpenAI, schema: dict, param: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(
            model="gpt-4o",
            input="Hi",
            text={"format": {"type": "json_schema", "name": "x", "strict": True, "schema": schema}},
        )
    assert caught.value.body["param"].startswith(param)  # type: ignore[index]


def test_the_format_description_is_read_by_the_model(client: OpenAI) -> None:
    schema = CalendarEvent.model_json_schema() | {"additionalProperties": False}
    counts = []
    for extra in ({}, {"description": "The next event in the user's calendar."}):
        text = {"format": {"type": "json_schema", "name": "event", "schema": schema, **extra}}
        counts.append(client.responses.input_tokens.count(model="gpt-4o", input=EVENT_INPUT, text=text).input_tokens)  # type: ignore[arg-type]
    assert counts[1] > counts[0] + 5
