"""POST /v1/completions, the legacy API: raw prompts continued without a chat template."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx2
import openai
import pytest
from openai import OpenAI
from tests.conftest import Server
from tests.test_errors import assert_canonical_error, post

ID = re.compile(r"^cmpl-[A-Za-z0-9]{29}$")
FRANCE = "The capital of France is"


def test_basic_completion_defaults_to_16_tokens(client: OpenAI) -> None:
    completion = client.completions.create(model="gpt-4o", prompt="Once upon a time", temperature=0)
    assert ID.match(completion.id) and completion.object == "text_completion"
    assert completion.model == "smollm2-135m-instruct"
    [choice] = completion.choices
    assert choice.index == 0 and choice.text and choice.logprobs is None
    assert completion.usage is not None and completion.usage.completion_tokens <= 16
    assert choice.finish_reason == ("length" if completion.usage.completion_tokens == 16 else "stop")


def test_prompt_list_and_n_number_choices_by_prompt(client: OpenAI) -> None:
    prompts = [FRANCE, "1, 2, 3,"]
    completion = client.completions.create(model="gpt-4o", prompt=prompts, n=2, max_tokens=4, temperature=0)
    assert [choice.index for choice in completion.choices] == [0, 1, 2, 3]
    texts = [choice.text for choice in completion.choices]
    assert texts[0] == texts[1] and texts[2] == texts[3], "greedy: a prompt's choices agree"
    alone = [client.completions.create(model="gpt-4o", prompt=prompt, max_tokens=1) for prompt in prompts]
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == sum(c.usage.prompt_tokens for c in alone if c.usage)


def test_stop_echo_and_max_tokens(client: OpenAI) -> None:
    stopped = client.completions.create(model="gpt-4o", prompt=FRANCE, stop=".", max_tokens=12, temperature=0)
    assert "." not in stopped.choices[0].text and stopped.choices[0].finish_reason == "stop"
    echoed = client.completions.create(model="gpt-4o", prompt=FRANCE, echo=True, max_tokens=3, temperature=0)
    assert echoed.choices[0].text.startswith(FRANCE) and len(echoed.choices[0].text) > len(FRANCE)
    nothing = client.completions.create(model="gpt-4o", prompt=FRANCE, echo=True, max_tokens=0)
    assert nothing.choices[0].text == FRANCE and nothing.choices[0].finish_reason == "length"


def test_seed_makes_sampling_repeatable(client: OpenAI) -> None:
    first, second = (
        client.completions.create(model="gpt-4o", prompt="My favourite word is", max_tokens=12, seed=99, temperature=1)
        for _ in range(2)
    )
    assert first.choices[0].text == second.choices[0].text


def test_logprobs_shape(client: OpenAI) -> None:
    completion = client.completions.create(model="gpt-4o", prompt=FRANCE, max_tokens=6, logprobs=2, temperature=0)
    choice = completion.choices[0]
    logprobs = choice.logprobs
    assert logprobs is not None and logprobs.tokens and logprobs.token_logprobs and logprobs.top_logprobs
    assert "".join(logprobs.tokens) == choice.text
    assert logprobs.text_offset == [sum(map(len, logprobs.tokens[:n])) for n in range(len(logprobs.tokens))]
    for token, logprob, top in zip(logprobs.tokens, logprobs.token_logprobs, logprobs.top_logprobs, strict=True):
        assert logprob <= 0 and top[token] == logprob and 1 <= len(top) <= 3


def _frames(text: str) -> list[Any]:
    return [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: {")]


def test_stream_chunks_then_done(server: Server) -> None:
    body = {"model": "gpt-4o", "prompt": FRANCE, "max_tokens": 4, "temperature": 0, "stream": True, "echo": True}
    body["stream_options"] = {"include_usage": True}
    text = httpx2.post(f"{server.base_url}/completions", json=body, timeout=60).text
    assert text.endswith("data: [DONE]\n\n")
    *chunks, usage = _frames(text)
    assert all(chunk["object"] == "text_completion" and chunk["usage"] is None for chunk in chunks)
    assert chunks[0]["choices"][0]["text"] == FRANCE
    assert [chunk["choices"][0]["finish_reason"] for chunk in chunks][-2:] == [None, "length"]
    assert usage["choices"] == [] and usage["usage"]["completion_tokens"] == 4
    # The SDK types every choice's finish_reason as set, while mid-stream chunks (OpenAI's too) carry null: the
    # SDK reads the stream without strict validation.
    lenient = openai.OpenAI(base_url=server.base_url, api_key="unused")
    streamed = list(lenient.completions.create(model="gpt-4o", prompt=FRANCE, max_tokens=4, temperature=0, stream=True))
    assert streamed[-1].choices[0].finish_reason == "length"


BAD_BODIES = [
    ({"prompt": "Hi"}, "model", "missing_required_parameter"),
    ({"model": "gpt-4o"}, "prompt", "missing_required_parameter"),
    ({"model": "gpt-4o", "prompt": "Hi", "suffix": "end"}, "suffix", None),
    ({"model": "gpt-4o", "prompt": [1, 2, 3]}, "prompt", None),
    ({"model": "gpt-4o", "prompt": []}, "prompt", None),
    ({"model": "gpt-4o", "prompt": "Hi", "logprobs": 6}, "logprobs", "invalid_value"),
    ({"model": "gpt-4o", "prompt": "Hi", "logprobs": 1, "echo": True}, "echo", None),
    ({"model": "gpt-4o", "prompt": "Hi", "best_of": 2}, "best_of", None),
    ({"model": "gpt-4o", "prompt": "Hi", "max_tokens": -1}, "max_tokens", "invalid_value"),
    ({"model": "gpt-4o", "prompt": "Hi", "stop": ["a", "b", "c", "d", "e"]}, "stop", "invalid_value"),
    ({"model": "gpt-4o", "prompt": "Hi", "n": 0}, "n", "invalid_value"),
    ({"model": "gpt-4o", "prompt": "Hi", "echo": "yes"}, "echo", "invalid_type"),
    ({"model": "gpt-4o", "prompt": "Hi", "stream_options": {"include_usage": True}}, "stream_options", None),
    ({"model": "gpt-4o", "prompt": "Hi", "instructions": "x"}, "instructions", "unknown_parameter"),
    ({"model": "gpt-4o", "prompt": "lorem ipsum " * 600}, "prompt", "context_length_exceeded"),
]


@pytest.mark.parametrize(
    ("body", "param", "code"), BAD_BODIES, ids=[f"{n}-{case[1]}" for n, case in enumerate(BAD_BODIES)]
)
def test_bad_bodies(server: Server, body: dict[str, Any], param: str, code: str | None) -> None:
    error = assert_canonical_error(post(server, body, "/completions"), 400, param)
    if code is not None:
        assert error["code"] == code, error


def test_unknown_model_is_404(client: OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        client.completions.create(model="davinci-002", prompt="Hi")
    assert caught.value.code == "model_not_found"
