"""Every bad chat completion request is a 400 in OpenAI's error shape naming the param; nothing is silently dropped."""

from __future__ import annotations

from typing import Any

import pytest
from tests.conftest import Server
from tests.test_errors import assert_canonical_error, post

HI = [{"role": "user", "content": "Hi"}]


def _body(**fields: Any) -> dict[str, Any]:
    return {"model": "gpt-4o", "messages": HI, **fields}


def _json_schema(json_schema: dict[str, Any]) -> dict[str, Any]:
    return _body(response_format={"type": "json_schema", "json_schema": json_schema})


BAD_BODIES = [
    ({"messages": HI}, "model", "missing_required_parameter"),
    ({"model": "gpt-4o"}, "messages", "missing_required_parameter"),
    (_body(messages=[]), "messages", "invalid_value"),
    (_body(temprature=1), "temprature", "unknown_parameter"),
    (_body(temperature="hot"), "temperature", "invalid_type"),
    (_body(temperature=2.5), "temperature", "invalid_value"),
    (_body(top_p=1.5), "top_p", "invalid_value"),
    (_body(n=0), "n", "invalid_value"),
    (_body(n=129), "n", "invalid_value"),
    (_body(max_tokens=0), "max_tokens", "invalid_value"),
    (_body(max_tokens=8, max_completion_tokens=8), "max_tokens", None),
    (_body(presence_penalty=-3), "presence_penalty", "invalid_value"),
    (_body(frequency_penalty=2.5), "frequency_penalty", "invalid_value"),
    (_body(seed="1"), "seed", "invalid_type"),
    (_body(store="yes"), "store", "invalid_type"),
    (_body(logprobs=1), "logprobs", "invalid_type"),
    (_body(logprobs=True, top_logprobs=21), "top_logprobs", "invalid_value"),
    (_body(top_logprobs=2), "top_logprobs", None),
    (_body(stop=["a", "b", "c", "d", "e"]), "stop", "invalid_value"),
    (_body(stop=""), "stop", "invalid_value"),
    (_body(stop=["a", ""]), "stop[1]", "invalid_value"),
    (_body(stop=[1]), "stop[0]", "invalid_type"),
    (_body(logit_bias={"abc": 1}), "logit_bias.abc", "invalid_value"),
    (_body(logit_bias={"99999999": 1}), "logit_bias.99999999", "invalid_value"),
    (_body(logit_bias={"33": 101}), "logit_bias.33", "invalid_value"),
    (_body(logit_bias={"33": 1.5}), "logit_bias.33", "invalid_type"),
    (_body(metadata={f"k{n}": "v" for n in range(17)}), "metadata", None),
    (_body(metadata={"k": "v" * 513}), "metadata.k", None),
    (_body(user=1), "user", "invalid_type"),
    (_body(safety_identifier="x" * 129), "safety_identifier", "string_above_max_length"),
    (_body(stream_options={"include_usage": True}), "stream_options", None),
    (_body(stream=True, stream_options={"include_usge": True}), "stream_options.include_usge", "unknown_parameter"),
    (_body(messages=[{"content": "Hi"}]), "messages[0].role", "missing_required_parameter"),
    (_body(messages=[{"role": "robot", "content": "Hi"}]), "messages[0].role", "invalid_value"),
    (_body(messages=[{"role": "user", "content": "Hi", "colour": 1}]), "messages[0].colour", "unknown_parameter"),
    (_body(messages=[{"role": "user", "content": 1}]), "messages[0].content", "invalid_type"),
    (_body(messages=[{"role": "user"}]), "messages[0].content", "missing_required_parameter"),
    (_body(messages=[{"role": "assistant"}]), "messages[0].content", "missing_required_parameter"),
    (_body(messages=[{"role": "user", "content": "Hi", "name": "ada"}]), "messages[0].name", None),
    (
        _body(
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "What is this?"},
                        {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
                    ],
                }
            ]
        ),
        "messages[0].content[1]",
        None,
    ),
    (
        _body(messages=[{"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}]),
        "messages[0].content[0]",
        None,
    ),
    (_body(messages=[{"role": "user", "content": [{"type": "video"}]}]), "messages[0].content[0].type", None),
    (_body(messages=[{"role": "user", "content": [{"type": "text"}]}]), "messages[0].content[0].text", None),
    (
        _body(messages=[{"role": "user", "content": [{"type": "refusal", "refusal": "no"}]}]),
        "messages[0].content[0]",
        None,
    ),
    (
        _body(messages=[*HI, {"role": "tool", "content": "42", "tool_call_id": "call_1"}]),
        "messages[1].tool_call_id",
        None,
    ),
    (
        _body(
            messages=[
                {
                    "role": "assistant",
                    "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f"}}],
                }
            ]
        ),
        "messages[0].tool_calls[0].function.arguments",
        None,
    ),
    (_body(tools=[{"type": "function", "function": {"name": "bad name"}}]), "tools[0].function.name", None),
    (_body(tool_choice="required"), "tool_choice", None),
    (_body(parallel_tool_calls=True), "parallel_tool_calls", None),
    (_body(functions=[{"name": "f"}]), "functions", None),
    (_body(function_call="auto"), "function_call", None),
    (_body(response_format={"type": "json_object"}), "messages", None),
    (_body(response_format={"type": "xml"}), "response_format.type", "invalid_value"),
    (_body(response_format={}), "response_format.type", "missing_required_parameter"),
    (_body(response_format="json"), "response_format", "invalid_type"),
    (_body(response_format={"type": "text", "strict": True}), "response_format.strict", "unknown_parameter"),
    (_body(response_format={"type": "json_object", "schema": {}}), "response_format.schema", "unknown_parameter"),
    (_body(response_format={"type": "json_schema"}), "response_format.json_schema", "missing_required_parameter"),
    (_json_schema({"schema": {}}), "response_format.json_schema.name", "missing_required_parameter"),
    (_json_schema({"name": "a b"}), "response_format.json_schema.name", "invalid_value"),
    (_json_schema({"name": "x" * 65}), "response_format.json_schema.name", "invalid_value"),
    (_json_schema({"name": "x", "shema": {}}), "response_format.json_schema.shema", "unknown_parameter"),
    (_json_schema({"name": "x", "schema": []}), "response_format.json_schema.schema", "invalid_type"),
    (_json_schema({"name": "x", "strict": "yes"}), "response_format.json_schema.strict", "invalid_type"),
    (_json_schema({"name": "x", "strict": True}), "response_format.json_schema.schema", None),
    (
        _json_schema({"name": "x", "strict": True, "schema": {"type": "object", "properties": {"a": {}}}}),
        "response_format.json_schema.schema",
        None,
    ),
    (_body(audio={"voice": "alloy", "format": "mp3"}), "audio", None),
    (_body(modalities=["text", "audio"]), "modalities", None),
    (_body(reasoning_effort="high"), "reasoning_effort", None),
    (_body(verbosity="low"), "verbosity", None),
    (_body(service_tier="flex"), "service_tier", None),
    (_body(prompt_cache_retention="24h"), "prompt_cache_retention", None),
    (_body(prediction={"type": "content", "content": "x"}), "prediction", None),
    (_body(web_search_options={}), "web_search_options", None),
    (_body(moderation={"model": "omni-moderation-latest"}), "moderation", None),
    (_body(prompt_cache_options={"mode": "explicit"}), "prompt_cache_options", None),
]


@pytest.mark.parametrize(
    ("body", "param", "code"), BAD_BODIES, ids=[f"{n}-{case[1]}" for n, case in enumerate(BAD_BODIES)]
)
def test_bad_create_bodies(server: Server, body: dict[str, Any], param: str, code: str | None) -> None:
    error = assert_canonical_error(post(server, body, "/chat/completions"), 400, param)
    assert error["type"] == "invalid_request_error"
    if code is not None:
        assert error["code"] == code, error


def test_bad_update_bodies(server: Server) -> None:
    url = "/chat/completions/chatcmpl-missing"
    assert_canonical_error(post(server, {}, url), 400, "metadata")
    assert_canonical_error(post(server, {"metadata": {"k": 1}}, url), 400, "metadata.k")
    assert_canonical_error(post(server, {"metadata": {}, "colour": 1}, url), 400, "colour")
    assert_canonical_error(post(server, {"metadata": {}}, url), 404, "completion_id")
