"""Function and custom tools on the Responses API: calls are grammar-enforced items, outputs go back as input, and
`tool_choice`, `parallel_tool_calls` and `max_tool_calls` hold on the small packaged model."""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema
import openai
import pytest
from openai import OpenAI
from openai.types.responses import ResponseCustomToolCall, ResponseFunctionToolCall, ResponseOutputMessage
from tests.conftest import SMALL

WEATHER_PARAMETERS = {
    "type": "object",
    "properties": {"location": {"type": "string", "description": "City and country e.g. Bogotá, Colombia"}},
    "required": ["location"],
    "additionalProperties": False,
}
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Get current temperature for a given location.",
    "parameters": WEATHER_PARAMETERS,
}
TIME = {
    "type": "function",
    "name": "get_time",
    "description": "The current time in a timezone.",
    "parameters": {
        "type": "object",
        "properties": {"timezone": {"type": "string", "enum": ["UTC", "CET", "PST"]}},
        "required": ["timezone"],
        "additionalProperties": False,
    },
}
SQL_GRAMMAR = 'start: "SELECT " COLUMN " FROM " TABLE\nCOLUMN: /[a-z]{1,8}/\nTABLE: /[a-z]{1,8}/\n'
SQL = {
    "type": "custom",
    "name": "run_sql",
    "description": "Runs one SQL query.",
    "format": {"type": "grammar", "syntax": "lark", "definition": SQL_GRAMMAR},
}
SQL_PATTERN = r"SELECT [a-z]{1,8} FROM [a-z]{1,8}"
DATE_PATTERN = r"\d{4}-\d{2}-\d{2}"
DATE = {
    "type": "custom",
    "name": "set_date",
    "format": {"type": "grammar", "syntax": "regex", "definition": DATE_PATTERN},
}
ASK = "What is the weather like in Paris today?"


def calls_of(output: list[Any]) -> list[ResponseFunctionToolCall]:
    return [item for item in output if isinstance(item, ResponseFunctionToolCall)]


def test_a_required_call_is_a_function_call_item(client: OpenAI) -> None:
    response = client.responses.create(model=SMALL, input=ASK, tools=[WEATHER], tool_choice="required", temperature=0)  # type: ignore[list-item]
    assert response.status == "completed", "a tool call does not leave the response in progress"
    calls = calls_of(response.output)
    assert calls and len(calls) == len(response.output)
    call = calls[0]
    assert call.name == "get_weather" and call.status == "completed"
    assert call.id is not None and re.fullmatch(r"fc_[0-9a-f]{48}", call.id)
    assert re.fullmatch(r"call_[A-Za-z0-9]{24}", call.call_id)
    jsonschema.validate(json.loads(call.arguments), WEATHER_PARAMETERS)
    assert response.tools[0].model_dump(exclude_none=True) == {**WEATHER, "strict": True}, "strict is the default"
    assert response.tool_choice == "required"
    assert client.responses.retrieve(response.id).output == response.output


def test_outputs_go_back_by_previous_response_id_and_by_hand(client: OpenAI) -> None:
    first = client.responses.create(
        model=SMALL,
        input=ASK,
        tools=[WEATHER],
        tool_choice="required",
        parallel_tool_calls=False,  # type: ignore[list-item]
    )
    call = calls_of(first.output)[0]
    result = {"type": "function_call_output", "call_id": call.call_id, "output": "14 degrees Celsius, sunny"}
    chained = client.responses.create(
        model=SMALL,
        previous_response_id=first.id,
        input=[result],
        tools=[WEATHER],
        tool_choice="none",  # type: ignore[list-item]
        max_output_tokens=30,
    )
    assert isinstance(chained.output[0], ResponseOutputMessage) and chained.output_text
    listed = client.responses.input_items.list(chained.id).data
    assert [item.type for item in listed] == ["function_call_output"] and listed[0].call_id == call.call_id  # type: ignore[union-attr]
    replayed = [{"role": "user", "content": ASK}, *(item.model_dump(exclude_none=True) for item in first.output)]
    replayed.append(result)
    by_hand = client.responses.create(
        model=SMALL,
        input=replayed,  # type: ignore[arg-type]
        tools=[WEATHER],  # type: ignore[list-item]
        tool_choice="none",
        store=False,
        max_output_tokens=30,
    )
    assert isinstance(by_hand.output[0], ResponseOutputMessage) and by_hand.output_text
    assert by_hand.usage is not None and by_hand.usage.input_tokens > chained.usage.input_tokens / 2  # type: ignore[union-attr]


def test_an_output_for_an_unknown_call_is_a_400(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(
            model=SMALL,
            input=[{"type": "function_call_output", "call_id": "call_nope", "output": "14"}],  # type: ignore[list-item]
        )
    assert caught.value.body["param"] == "input[0].call_id"  # type: ignore[index]
    assert "call_nope" in caught.value.body["message"]  # type: ignore[index]


def test_tool_choice_none_answers_in_text(client: OpenAI) -> None:
    response = client.responses.create(
        model=SMALL,
        input=ASK,
        tools=[WEATHER],
        tool_choice="none",
        max_output_tokens=24,  # type: ignore[list-item]
    )
    assert [item.type for item in response.output] == ["message"]
    assert response.tool_choice == "none" and response.tools[0].name == "get_weather"  # type: ignore[union-attr]


def test_tool_choice_auto_gives_text_or_valid_calls(client: OpenAI) -> None:
    for prompt in (ASK, "Write one word."):
        response = client.responses.create(model=SMALL, input=prompt, tools=[WEATHER, TIME], max_output_tokens=80)  # type: ignore[list-item]
        for item in response.output:
            if isinstance(item, ResponseFunctionToolCall):
                if item.status == "completed":  # one cut off by max_output_tokens is not whole JSON
                    schema = WEATHER_PARAMETERS if item.name == "get_weather" else TIME["parameters"]
                    jsonschema.validate(json.loads(item.arguments), schema)  # type: ignore[arg-type]
            else:
                assert isinstance(item, ResponseOutputMessage)


def test_a_named_function_is_the_one_called(client: OpenAI) -> None:
    response = client.responses.create(
        model=SMALL,
        input=ASK,
        tools=[WEATHER, TIME],
        tool_choice={"type": "function", "name": "get_time"},  # type: ignore[list-item]
    )
    assert {call.name for call in calls_of(response.output)} == {"get_time"}
    assert response.tool_choice.model_dump() == {"type": "function", "name": "get_time"}  # type: ignore[union-attr]


def test_allowed_tools_restrict_what_can_be_called(client: OpenAI) -> None:
    choice = {"type": "allowed_tools", "mode": "required", "tools": [{"type": "function", "name": "get_time"}]}
    response = client.responses.create(model=SMALL, input=ASK, tools=[WEATHER, TIME], tool_choice=choice)  # type: ignore[arg-type, list-item]
    assert {call.name for call in calls_of(response.output)} == {"get_time"}
    auto = {**choice, "mode": "auto"}
    response = client.responses.create(
        model=SMALL,
        input=ASK,
        tools=[WEATHER, TIME],
        tool_choice=auto,
        max_output_tokens=60,  # type: ignore[arg-type, list-item]
    )
    assert all(call.name == "get_time" for call in calls_of(response.output))


def test_parallel_tool_calls_false_and_max_tool_calls_cap_the_calls(client: OpenAI) -> None:
    for options in ({"parallel_tool_calls": False}, {"max_tool_calls": 1}):
        response = client.responses.create(
            model=SMALL, input="Time in UTC, CET and PST?", tools=[TIME], tool_choice="required", temperature=0,  # type: ignore[arg-type, list-item]
            **options,  # type: ignore[arg-type]
        )  # fmt: skip
        assert len(calls_of(response.output)) == 1, options
    response = client.responses.create(
        model=SMALL,
        input="Time in UTC, CET and PST?",
        tools=[TIME],
        tool_choice="required",
        max_tool_calls=2,  # type: ignore[list-item]
    )
    assert 1 <= len(calls_of(response.output)) <= 2 and response.max_tool_calls == 2


def test_custom_tools_take_input_matching_a_lark_grammar_or_a_regex(client: OpenAI) -> None:
    for tool, pattern in ((SQL, SQL_PATTERN), (DATE, DATE_PATTERN)):
        response = client.responses.create(
            model=SMALL,
            input="Use the tool.",
            tools=[tool],  # type: ignore[list-item]
            tool_choice={"type": "custom", "name": tool["name"]},  # type: ignore[typeddict-item]
            parallel_tool_calls=False,
        )
        calls = [item for item in response.output if isinstance(item, ResponseCustomToolCall)]
        assert response.status == "completed" and len(calls) == 1
        assert re.fullmatch(pattern, calls[0].input), calls[0].input
        assert calls[0].id is not None and calls[0].id.startswith("ctc_")
        assert response.tools[0].format.model_dump() == tool["format"]  # type: ignore[union-attr]
    note = {"type": "custom", "name": "note"}
    free = client.responses.create(
        model=SMALL,
        input="Note: buy milk.",
        tools=[note],
        tool_choice="required",
        max_output_tokens=40,  # type: ignore[list-item]
    )
    assert free.tools[0].format.model_dump() == {"type": "text"}  # type: ignore[union-attr]


def test_streamed_calls_follow_the_item_ladder(client: OpenAI) -> None:
    stream = client.responses.create(
        model=SMALL,
        input=ASK,
        tools=[WEATHER, SQL],
        tool_choice="required",
        stream=True,
        parallel_tool_calls=False,  # type: ignore[list-item]
    )
    events = list(stream)
    kinds = [event.type for event in events]
    assert [event.sequence_number for event in events] == list(range(len(events)))
    final = events[-1].response  # type: ignore[union-attr]
    call = final.output[0]
    if call.type == "function_call":
        deltas = "".join(e.delta for e in events if e.type == "response.function_call_arguments.delta")  # type: ignore[union-attr]
        done = next(e for e in events if e.type == "response.function_call_arguments.done")
        assert deltas == done.arguments == call.arguments  # type: ignore[union-attr]
        middle = ["response.function_call_arguments.done", "response.output_item.done"]
    else:
        deltas = "".join(e.delta for e in events if e.type == "response.custom_tool_call_input.delta")  # type: ignore[union-attr]
        done = next(e for e in events if e.type == "response.custom_tool_call_input.done")
        assert deltas == done.input == call.input  # type: ignore[union-attr]
        middle = ["response.custom_tool_call_input.done", "response.output_item.done"]
    assert kinds[:3] == ["response.created", "response.in_progress", "response.output_item.added"]
    assert kinds[-3:] == [*middle, "response.completed"]
    added = events[2].item  # type: ignore[union-attr]
    assert added.id == call.id and getattr(added, "arguments", "") == "" and getattr(added, "input", "") == ""


def test_structured_text_or_tool_calls(client: OpenAI) -> None:
    schema = {
        "type": "object",
        "properties": {"answer": {"type": "string"}},
        "required": ["answer"],
        "additionalProperties": False,
    }
    text = {"format": {"type": "json_schema", "name": "answer", "schema": schema, "strict": True}}
    answered = []
    for prompt in ("Do not call any tool. Answer in JSON: what is 2+2?", ASK):
        response = client.responses.create(
            model=SMALL,
            input=prompt,
            tools=[WEATHER],
            text=text,
            max_output_tokens=120,
            temperature=0,  # type: ignore[arg-type, list-item]
        )
        if response.status == "completed" and not calls_of(response.output):
            jsonschema.validate(json.loads(response.output_text), schema)
            answered.append(prompt)
    assert answered, "some answer is text, and then it matches the format"


@pytest.mark.parametrize(
    ("tools", "choice", "param"),
    [
        ([{**WEATHER, "parameters": {"type": "object", "properties": {"x": {"type": "string"}}}}], None,
         "tools[0].parameters"),
        ([{"type": "file_search", "vector_store_ids": []}], None, "tools[0].vector_store_ids"),
        ([{"type": "image_generation"}], None, "tools[0].type"),
        ([{"type": "function"}], None, "tools[0].name"),
        ([{**WEATHER, "name": "bad name"}], None, "tools[0].name"),
        ([WEATHER, WEATHER], None, "tools[1].name"),
        ([{**WEATHER, "defer_loading": True}], None, "tools[0].defer_loading"),
        ([{**SQL, "format": {"type": "grammar", "syntax": "lark", "definition": "start: ("}}], None,
         "tools[0].format.definition"),
        ([{**DATE, "format": {"type": "grammar", "syntax": "regex", "definition": "(["}}], None,
         "tools[0].format.definition"),
        ([WEATHER], {"type": "function", "name": "get_time"}, "tool_choice.name"),
        ([WEATHER], {"type": "custom", "name": "get_weather"}, "tool_choice.name"),
        ([WEATHER], "sometimes", "tool_choice"),
        ([], "required", "tool_choice"),
        ([WEATHER], {"type": "allowed_tools", "mode": "auto", "tools": [{"type": "function", "name": "x"}]},
         "tool_choice.tools[0].name"),
        ([WEATHER], {"type": "file_search"}, "tool_choice.type"),
    ],
)  # fmt: skip
def test_bad_tools_and_choices_are_400s_naming_the_param(
    client: OpenAI, tools: list[dict[str, Any]], choice: Any, param: str
) -> None:
    options: dict[str, Any] = {"tool_choice": choice} if choice is not None else {}
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model=SMALL, input=ASK, tools=tools, **options)  # type: ignore[arg-type]
    assert caught.value.body["param"] == param  # type: ignore[index]


def test_a_non_strict_schema_outside_the_subset_still_guides(client: OpenAI) -> None:
    unlisted = {"type": "object", "properties": {"location": {"type": "string"}}}  # no `required`: outside the subset
    loose = {**WEATHER, "strict": False, "parameters": unlisted}
    response = client.responses.create(
        model=SMALL, input=ASK, tools=[loose], tool_choice="required", parallel_tool_calls=False, temperature=0,  # type: ignore[list-item]
        max_output_tokens=100,
    )  # fmt: skip
    assert response.status == "completed" and response.tools[0].strict is False  # type: ignore[union-attr]
    arguments = json.loads(calls_of(response.output)[0].arguments)
    assert isinstance(arguments, dict)


def test_calls_and_outputs_join_a_conversation(client: OpenAI) -> None:
    conversation = client.conversations.create()
    first = client.responses.create(
        model=SMALL, input=ASK, tools=[WEATHER, SQL], tool_choice="required", conversation=conversation.id,  # type: ignore[list-item]
        parallel_tool_calls=False,
    )  # fmt: skip
    call = first.output[0]
    kind = "function_call_output" if call.type == "function_call" else "custom_tool_call_output"
    client.responses.create(
        model=SMALL,
        input=[{"type": kind, "call_id": call.call_id, "output": [{"type": "input_text", "text": "14 C"}]}],  # type: ignore[union-attr, misc, list-item]
        conversation=conversation.id,
        max_output_tokens=20,
    )
    items = client.conversations.items.list(conversation.id, order="asc").data
    assert [item.type for item in items][:3] == ["message", call.type, kind]
