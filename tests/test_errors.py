"""Every bad request gets OpenAI's error body: the right status, a message, and the `param` at fault."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest
from tests.conftest import Server

CANONICAL_KEYS = {"message", "type", "param", "code"}


def assert_canonical_error(response: httpx2.Response, status: int, param: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == CANONICAL_KEYS
    assert body["error"]["message"]
    if param is not None:
        assert body["error"]["param"] == param, body
    return body["error"]


def post(server: Server, body: Any, path: str = "/responses") -> httpx2.Response:
    return httpx2.post(f"{server.base_url}{path}", json=body, timeout=60)


BAD_BODIES = [
    ({"input": "Hi"}, "model", "missing_required_parameter"),
    ({"model": "gpt-4o", "input": "Hi", "temprature": 1}, "temprature", "unknown_parameter"),
    ({"model": "gpt-4o", "input": "Hi", "temperature": "hot"}, "temperature", "invalid_type"),
    ({"model": "gpt-4o", "input": "Hi", "temperature": 2.5}, "temperature", "invalid_value"),
    ({"model": "gpt-4o", "input": "Hi", "top_p": -0.1}, "top_p", "invalid_value"),
    ({"model": "gpt-4o", "input": "Hi", "max_output_tokens": 5}, "max_output_tokens", "invalid_value"),
    ({"model": "gpt-4o", "input": "Hi", "top_logprobs": 21}, "top_logprobs", "invalid_value"),
    ({"model": "gpt-4o", "input": "Hi", "store": "yes"}, "store", "invalid_type"),
    ({"model": "gpt-4o", "input": "Hi", "truncation": "sometimes"}, "truncation", "invalid_value"),
    ({"model": "gpt-4o", "input": "Hi", "metadata": {f"k{n}": "v" for n in range(17)}}, "metadata", None),
    ({"model": "gpt-4o", "input": "Hi", "metadata": {"k" * 65: "v"}}, "metadata", None),
    ({"model": "gpt-4o", "input": "Hi", "metadata": {"k": "v" * 513}}, "metadata.k", None),
    ({"model": "gpt-4o", "input": []}, "input", None),
    ({"model": "gpt-4o", "input": [{"role": "robot", "content": "Hi"}]}, "input[0].role", "invalid_value"),
    (
        {"model": "gpt-4o", "input": [{"role": "user", "content": "Hi", "colour": 1}]},
        "input[0].colour",
        "unknown_parameter",
    ),
    (
        {"model": "gpt-4o", "input": [{"type": "function_call_output", "call_id": "c", "output": "x"}]},
        "input[0].call_id",
        None,
    ),
    (
        {
            "model": "gpt-4o",
            "input": [
                {
                    "role": "user",
                    "content": [{"type": "input_text", "text": "Hi"}, {"type": "input_image", "image_url": "data:"}],
                }
            ],
        },
        "input[0].content[1]",
        None,
    ),
    (
        {"model": "gpt-4o", "input": [{"role": "user", "content": [{"type": "input_file"}]}]},
        "input[0].content[0]",
        None,
    ),
    (
        {
            "model": "gpt-4o",
            "input": [{"id": "msg_1", "role": "user", "content": "a"}, {"id": "msg_1", "role": "user", "content": "b"}],
        },
        "input[1].id",
        None,
    ),
    (
        {"model": "gpt-4o", "input": [{"role": "user", "content": [{"type": "input_audio"}]}]},
        "input[0].content[0]",
        None,
    ),
    (
        {"model": "gpt-4o", "input": [{"role": "user", "content": [{"type": "input_text"}]}]},
        "input[0].content[0].text",
        "missing_required_parameter",
    ),
    ({"model": "gpt-4o", "input": "Hi", "tools": [{"type": "image_generation"}]}, "tools[0].type", None),
    ({"model": "gpt-4o", "input": "Hi", "tool_choice": "required"}, "tool_choice", None),
    ({"model": "gpt-4o", "input": "Hi", "background": True, "store": False}, "background", None),
    ({"model": "gpt-4o", "input": "Hi", "conversation": {"id": 1}}, "conversation.id", "invalid_type"),
    ({"model": "gpt-4o", "input": "Hi", "prompt": {"id": 1}}, "prompt.id", "invalid_type"),
    ({"model": "gpt-4o", "input": "Hi", "reasoning": {"effort": "high"}}, "reasoning.effort", None),
    ({"model": "gpt-4o", "input": "Hi", "text": {"format": {"type": "json_object"}}}, "input", None),
    (
        {"model": "gpt-4o", "input": "Hi", "text": {"format": {"type": "json_schema", "name": "x"}}},
        "text.format.schema",
        "missing_required_parameter",
    ),
    ({"model": "gpt-4o", "input": "Hi", "include": ["web_search_call.results"]}, "include", None),
    ({"model": "gpt-4o", "input": "Hi", "include": ["everything"]}, "include[0]", "invalid_value"),
    ({"model": "gpt-4o", "input": "Hi", "service_tier": "flex"}, "service_tier", None),
    ({"model": "gpt-4o", "input": "Hi", "prompt_cache_retention": "24h"}, "prompt_cache_retention", None),
]


@pytest.mark.parametrize(("body", "param", "code"), BAD_BODIES, ids=[case[1] for case in BAD_BODIES])
def test_bad_create_bodies(server: Server, body: dict[str, Any], param: str, code: str | None) -> None:
    error = assert_canonical_error(post(server, body), 400, param)
    assert error["type"] == "invalid_request_error"
    if code is not None:
        assert error["code"] == code


def test_malformed_json(server: Server) -> None:
    response = httpx2.post(
        f"{server.base_url}/responses", content=b'{"model": "gpt-4o",', headers={"content-type": "application/json"}
    )
    assert assert_canonical_error(response, 400)["code"] == "invalid_json"
    assert assert_canonical_error(post(server, ["not", "an", "object"]), 400)["code"] == "invalid_json"


def test_too_large_body_is_413(server: Server) -> None:
    body = {"model": "gpt-4o", "input": "x" * (2 * 2**20)}
    assert_canonical_error(post(server, body), 413)


def test_not_found_shapes(server: Server) -> None:
    missing = httpx2.get(f"{server.base_url}/responses/resp_{'0' * 48}")
    assert assert_canonical_error(missing, 404)["param"] == "response_id"
    assert_canonical_error(httpx2.get(f"{server.base_url}/no-such-thing"), 404)
    assert_canonical_error(httpx2.put(f"{server.base_url}/responses"), 405)
    model = assert_canonical_error(post(server, {"model": "gpt-99", "input": "Hi"}), 404, "model")
    assert model["code"] == "model_not_found"


def test_query_errors(server: Server) -> None:
    created = post(server, {"model": "gpt-4o", "input": "Hi", "max_output_tokens": 16}).json()
    url = f"{server.base_url}/responses/{created['id']}"
    assert_canonical_error(httpx2.get(f"{url}/input_items", params={"order": "sideways"}), 400, "order")
    assert_canonical_error(httpx2.get(f"{url}/input_items", params={"after": "msg_nope"}), 404, "after")
    assert_canonical_error(httpx2.get(url, params={"include[]": "reasoning.encrypted_content"}), 400, "include")
