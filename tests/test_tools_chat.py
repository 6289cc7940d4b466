"""Tools on Chat Completions: `tool_calls` in the message and in streamed deltas, `tool` messages back, every
`tool_choice` form, on the small packaged model with strict validation."""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema
import openai
import pytest
from openai import OpenAI
from openai.types.chat import ChatCompletionMessageCustomToolCall, ChatCompletionMessageFunctionToolCall
from pydantic import BaseModel
from tests.conftest import SMALL

WEATHER_PARAMETERS = {
    "type": "object",
    "properties": {"location": {"type": "string"}},
    "required": ["location"],
    "additionalProperties": False,
}
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get current temperature for a given location.",
        "parameters": WEATHER_PARAMETERS,
        "strict": True,
    },
}
TIME = {
    "type": "function",
    "function": {
        "name": "get_time",
        "parameters": {
            "type": "object",
            "properties": {"timezone": {"type": "string", "enum": ["UTC", "CET"]}},
            "required": ["timezone"],
            "additionalProperties": False,
        },
    },
}
DATE_PATTERN = r"\d{4}-\d{2}-\d{2}"
DATE = {
    "type": "custom",
    "custom": {
        "name": "set_date",
        "format": {"type": "grammar", "grammar": {"syntax": "regex", "definition": DATE_PATTERN}},
    },
}
ASK = [{"role": "user", "content": "What is the weather like in Paris today?"}]


def function_calls(completion: Any) -> list[ChatCompletionMessageFunctionToolCall]:
    calls = completion.choices[0].message.tool_calls or []
    assert all(isinstance(call, ChatCompletionMessageFunctionToolCall) for call in calls)
    return calls  # type: ignore[no-any-return]


def test_a_required_call_comes_back_as_tool_calls(client: OpenAI) -> None:
    completion = client.chat.completions.create(
        model=SMALL, messages=ASK, tools=[WEATHER], tool_choice="required", parallel_tool_calls=False  # type: ignore[arg-type, list-item]
    )  # fmt: skip
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    [call] = function_calls(completion)
    assert re.fullmatch(r"call_[A-Za-z0-9]{24}", call.id) and call.function.name == "get_weather"
    jsonschema.validate(json.loads(call.function.arguments), WEATHER_PARAMETERS)


def test_the_round_trip_through_a_tool_message(client: OpenAI) -> None:
    first = client.chat.completions.create(
        model=SMALL, messages=ASK, tools=[WEATHER], tool_choice="required", parallel_tool_calls=False  # type: ignore[arg-type, list-item]
    )  # fmt: skip
    message = first.choices[0].message
    [call] = function_calls(first)
    # As the docs' round trip does it: the SDK's message object itself goes back into `messages`.
    messages = [*ASK, message, {"role": "tool", "tool_call_id": call.id, "content": "14"}]
    second = client.chat.completions.create(
        model=SMALL, messages=messages, tools=[WEATHER], tool_choice="none", max_tokens=30  # type: ignore[arg-type, list-item]
    )  # fmt: skip
    assert second.choices[0].message.tool_calls is None and second.choices[0].message.content


def test_tool_choice_forms(client: OpenAI) -> None:
    get_time = {"type": "function", "function": {"name": "get_time"}}
    named = client.chat.completions.create(
        model=SMALL, messages=ASK, tools=[WEATHER, TIME], tool_choice=get_time, parallel_tool_calls=False,  # type: ignore[arg-type, list-item]
    )  # fmt: skip
    assert [call.function.name for call in function_calls(named)] == ["get_time"]
    allowed = {
        "type": "allowed_tools",
        "allowed_tools": {"mode": "required", "tools": [{"type": "function", "function": {"name": "get_time"}}]},
    }
    restricted = client.chat.completions.create(
        model=SMALL, messages=ASK, tools=[WEATHER, TIME], tool_choice=allowed, parallel_tool_calls=False  # type: ignore[arg-type, list-item]
    )  # fmt: skip
    assert [call.function.name for call in function_calls(restricted)] == ["get_time"]
    none = client.chat.completions.create(
        model=SMALL, messages=ASK, tools=[WEATHER], tool_choice="none", max_tokens=20  # type: ignore[arg-type, list-item]
    )  # fmt: skip
    assert none.choices[0].message.tool_calls is None and none.choices[0].finish_reason in ("stop", "length")
    auto = client.chat.completions.create(model=SMALL, messages=ASK, tools=[WEATHER], max_tokens=60)  # type: ignore[arg-type, list-item]
    if auto.choices[0].finish_reason == "tool_calls":  # calls cut off by max_tokens are not complete JSON
        for call in function_calls(auto):
            jsonschema.validate(json.loads(call.function.arguments), WEATHER_PARAMETERS)


def test_streamed_tool_call_deltas_add_up(client: OpenAI) -> None:
    stream = client.chat.completions.create(
        model=SMALL, messages=ASK, tools=[WEATHER], tool_choice="required", stream=True, max_tokens=200  # type: ignore[arg-type, list-item]
    )  # fmt: skip
    calls: dict[int, dict[str, str]] = {}
    reasons = []
    for chunk in stream:
        for choice in chunk.choices:
            reasons.append(choice.finish_reason)
            for delta in choice.delta.tool_calls or []:
                if delta.id is not None:
                    assert delta.function is not None and delta.function.name == "get_weather"
                    calls[delta.index] = {"id": delta.id, "arguments": ""}
                assert delta.function is not None
                calls[delta.index]["arguments"] += delta.function.arguments or ""
    assert calls and reasons[-1] in ("tool_calls", "length")
    assert list(calls) == list(range(len(calls)))
    # A call the length limit cut off is not whole: every other one is.
    for call in list(calls.values())[: None if reasons[-1] == "tool_calls" else -1]:
        jsonschema.validate(json.loads(call["arguments"]), WEATHER_PARAMETERS)


def test_custom_tools_answer_unstreamed_and_refuse_streaming(client: OpenAI) -> None:
    completion = client.chat.completions.create(
        model=SMALL, messages=[{"role": "user", "content": "Set a date."}], tools=[DATE], tool_choice="required",  # type: ignore[list-item]
        parallel_tool_calls=False,
    )  # fmt: skip
    [call] = completion.choices[0].message.tool_calls or []
    assert isinstance(call, ChatCompletionMessageCustomToolCall) and re.fullmatch(DATE_PATTERN, call.custom.input)
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model=SMALL, messages=ASK, tools=[DATE], stream=True)  # type: ignore[list-item]
    assert caught.value.body["param"] == "stream"  # type: ignore[index]


class Weather(BaseModel):
    location: str


def test_parse_with_a_pydantic_function_tool(client: OpenAI) -> None:
    completion = client.chat.completions.parse(
        model=SMALL, messages=ASK, tools=[openai.pydantic_function_tool(Weather, name="get_weather")],
        tool_choice="required", parallel_tool_calls=False,
    )  # fmt: skip
    [call] = completion.choices[0].message.tool_calls or []
    assert isinstance(call.function.parsed_arguments, Weather)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("options", "param"),
    [
        ({"tools": [{"type": "function", "function": {"name": "f", "strict": True, "parameters": {"type": "object"}}}]},
         "tools[0].function.parameters"),
        ({"tools": [{"type": "retrieval"}]}, "tools[0].type"),
        ({"tools": [WEATHER], "tool_choice": {"type": "function", "function": {"name": "nope"}}},
         "tool_choice.function.name"),
        ({"tools": [WEATHER], "tool_choice": "sometimes"}, "tool_choice"),
        ({"functions": [{"name": "f"}]}, "functions"),
        ({"tools": [WEATHER], "tool_choice": {"type": "allowed_tools", "allowed_tools": {"mode": "x", "tools": []}}},
         "tool_choice.allowed_tools.mode"),
    ],
)  # fmt: skip
def test_bad_tools_are_400s_naming_the_param(client: OpenAI, options: dict[str, Any], param: str) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model=SMALL, messages=ASK, **options)  # type: ignore[call-overload]
    assert caught.value.body["param"] == param  # type: ignore[index]
