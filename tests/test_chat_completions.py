"""POST /v1/chat/completions: the ChatCompletion object, sampling fields, logprobs, streaming and the SDK helper."""

from __future__ import annotations

import re
from typing import Any

import httpx2
import openai
import pytest
from openai import AsyncOpenAI, OpenAI
from openai.types.chat import ChatCompletion
from tests.conftest import Server

ID = re.compile(r"^chatcmpl-[A-Za-z0-9]{29}$")
COUNT = [{"role": "user", "content": "Count from 1 to 10."}]
SMOLLM_TOKEN_ONE = "33"
"""The id of the token "1" in smollm2-135m-instruct's vocabulary."""


def test_basic_completion(client: OpenAI) -> None:
    completion = client.chat.completions.create(
        model="gpt-4o",
        messages=[
            {"role": "system", "content": "You are terse."},
            {"role": "developer", "content": [{"type": "text", "text": "Use plain words."}]},
            {"role": "user", "content": [{"type": "text", "text": "Say hello."}]},
        ],
        max_tokens=16,
    )
    assert ID.match(completion.id) and completion.object == "chat.completion"
    assert completion.model == "smollm2-135m-instruct" and completion.service_tier == "default"
    assert completion.system_fingerprint and completion.system_fingerprint.startswith("fp_")
    [choice] = completion.choices
    assert choice.index == 0 and choice.message.role == "assistant" and choice.message.content
    assert choice.finish_reason in ("stop", "length") and choice.logprobs is None
    usage = completion.usage
    assert usage is not None and 0 < usage.completion_tokens <= 16
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


def test_assistant_turns_are_history(client: OpenAI) -> None:
    short = client.chat.completions.create(model="gpt-4o", messages=COUNT, max_tokens=4)
    longer = client.chat.completions.create(
        model="gpt-4o",
        messages=[*COUNT, {"role": "assistant", "content": "1, 2, 3"}, {"role": "user", "content": "Go on."}],
        max_tokens=4,
    )
    assert short.usage is not None and longer.usage is not None
    assert longer.usage.prompt_tokens > short.usage.prompt_tokens


def test_n_choices_share_the_prompt(client: OpenAI) -> None:
    one = client.chat.completions.create(model="gpt-4o", messages=COUNT, max_tokens=6)
    two = client.chat.completions.create(model="gpt-4o", messages=COUNT, max_tokens=6, n=2)
    assert [choice.index for choice in two.choices] == [0, 1]
    assert all(choice.message.content for choice in two.choices)
    assert one.usage is not None and two.usage is not None
    assert two.usage.prompt_tokens == one.usage.prompt_tokens, "the prompt is counted once"
    assert two.usage.completion_tokens <= 12


def _greedy(client: OpenAI, **options: Any) -> ChatCompletion:
    """Temperature 0 on the counting prompt, 24 tokens unless the options set a limit."""
    if "max_completion_tokens" not in options:
        options.setdefault("max_tokens", 24)
    completion: ChatCompletion = client.chat.completions.create(
        model="gpt-4o", messages=COUNT, temperature=0, **options
    )
    return completion


def test_stop_strings_end_the_answer_and_are_not_returned(client: OpenAI) -> None:
    reference = _greedy(client, logprobs=True)
    text = reference.choices[0].message.content or ""
    tokens = [logprob.token for logprob in reference.choices[0].logprobs.content or []]  # type: ignore[union-attr]
    # A stop string that spans three tokens: its start must be held back until it is known to be one.
    stop = tokens[3][-1:] + tokens[4] + tokens[5][:1]
    expected = text[: text.index(stop)]
    stopped = _greedy(client, stop=[stop, "never appears"])
    assert stopped.choices[0].message.content == expected
    assert stopped.choices[0].finish_reason == "stop"
    streamed = client.chat.completions.create(
        model="gpt-4o", messages=COUNT, max_tokens=24, temperature=0, stop=stop, stream=True
    )
    chunks = list(streamed)
    assert "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices) == expected
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_seed_makes_sampling_repeatable(client: OpenAI) -> None:
    first, second = (
        client.chat.completions.create(model="gpt-4o", messages=COUNT, max_tokens=16, temperature=1, seed=1234)
        for _ in range(2)
    )
    assert first.choices[0].message.content == second.choices[0].message.content
    assert first.system_fingerprint == second.system_fingerprint


def test_max_tokens_makes_the_finish_reason_length(client: OpenAI) -> None:
    for limit in ({"max_tokens": 5}, {"max_completion_tokens": 5}):
        completion = _greedy(client, **limit)
        assert completion.choices[0].finish_reason == "length"
        assert completion.usage is not None and completion.usage.completion_tokens == 5


def test_logit_bias_and_penalties_shape_sampling(client: OpenAI) -> None:
    forced = _greedy(client, max_tokens=3, logit_bias={SMOLLM_TOKEN_ONE: 100})
    assert forced.choices[0].message.content == "111"
    plain = _greedy(client)
    penalized = _greedy(client, frequency_penalty=2.0, presence_penalty=2.0)
    assert penalized.choices[0].message.content != plain.choices[0].message.content


def test_logprobs_shape(client: OpenAI) -> None:
    completion = _greedy(client, max_tokens=8, logprobs=True, top_logprobs=3)
    choice = completion.choices[0]
    assert choice.logprobs is not None and choice.logprobs.content and choice.logprobs.refusal is None
    assert b"".join(bytes(lp.bytes or []) for lp in choice.logprobs.content).decode() == choice.message.content
    for logprob in choice.logprobs.content:
        assert logprob.logprob <= 0 and len(logprob.top_logprobs) == 3
        assert logprob.top_logprobs[0].logprob >= logprob.top_logprobs[-1].logprob
    bare = _greedy(client, max_tokens=4, logprobs=True)
    assert bare.choices[0].logprobs is not None
    assert all(logprob.top_logprobs == [] for logprob in bare.choices[0].logprobs.content or [])


def test_stream_with_usage(client: OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(
            model="gpt-4o",
            messages=COUNT,
            max_tokens=8,
            temperature=0,
            logprobs=True,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert all(chunk.object == "chat.completion.chunk" and chunk.id == chunks[0].id for chunk in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    *body, closing, last = chunks
    assert closing.choices[0].finish_reason == "length"
    assert last.choices == [] and last.usage is not None and last.usage.completion_tokens == 8
    assert all(chunk.usage is None for chunk in chunks[:-1])
    assert sum(len(chunk.choices[0].logprobs.content or []) for chunk in body[1:]) == 8  # type: ignore[union-attr]


def test_stream_framing_and_obfuscation(server: Server) -> None:
    body = {"model": "gpt-4o", "messages": COUNT, "max_tokens": 4, "stream": True}
    padded = httpx2.post(f"{server.base_url}/chat/completions", json=body, timeout=60).text
    assert padded.startswith("data: {") and padded.endswith("data: [DONE]\n\n")
    assert '"obfuscation":' in padded and "event:" not in padded and '"usage"' not in padded
    body["stream_options"] = {"include_obfuscation": False}
    plain = httpx2.post(f"{server.base_url}/chat/completions", json=body, timeout=60).text
    assert '"obfuscation":' not in plain


def test_sdk_stream_helper_accumulates_the_final_completion(client: OpenAI) -> None:
    # A stop string ends the answer by itself: the helper refuses a `length` finish.
    with client.chat.completions.stream(model="gpt-4o", messages=COUNT, max_tokens=24, stop=[" ", "\n"]) as stream:
        text = "".join(event.delta for event in stream if event.type == "content.delta")
        final = stream.get_final_completion()
    assert final.choices[0].message.content == text
    assert final.choices[0].finish_reason == "stop"


async def test_async_client_streams(async_client: AsyncOpenAI) -> None:
    stream = await async_client.chat.completions.create(
        model="gpt-4o", messages=COUNT, max_tokens=4, temperature=0, stream=True
    )
    reasons = [chunk.choices[0].finish_reason async for chunk in stream if chunk.choices]
    assert reasons[-1] == "length" and reasons[:-1] == [None] * (len(reasons) - 1)


def test_unknown_model_is_404(client: OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model="gpt-99", messages=COUNT)
    assert caught.value.code == "model_not_found"


def test_too_long_messages_are_refused(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "lorem ipsum " * 600}])
    assert caught.value.code == "context_length_exceeded"
    assert caught.value.body["param"] == "messages"  # type: ignore[index]
