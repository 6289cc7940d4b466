"""POST /v1/responses without streaming: the Response object, its defaults, and every supported field."""

from __future__ import annotations

import re

import openai
import pytest
from openai import OpenAI

ID = re.compile(r"^(resp|msg)_[0-9a-f]{48}$")


def test_basic_response_has_openai_defaults(client: OpenAI) -> None:
    response = client.responses.create(model="gpt-4o", input="Say hello.", max_output_tokens=24)
    assert ID.match(response.id) and response.object == "response"
    assert response.status in ("completed", "incomplete")
    assert response.temperature == 1.0 and response.top_p == 1.0
    assert response.tool_choice == "auto" and response.tools == []
    assert response.truncation == "disabled" and response.service_tier == "default"
    assert response.store is True and response.background is False
    assert response.parallel_tool_calls is True and response.top_logprobs == 0
    assert response.metadata == {} and response.error is None
    assert response.text is not None and response.text.format.type == "text" and response.text.verbosity == "medium"
    assert response.model == "smollm2-135m-instruct"
    [message] = response.output
    assert message.type == "message" and message.role == "assistant" and ID.match(message.id)
    assert message.id[-16:] == response.id[-16:], "a response and its items share the thread suffix"
    assert response.output_text == message.content[0].text
    assert response.output_text.strip()


def test_usage_is_counted_by_the_models_tokenizer(client: OpenAI) -> None:
    first = client.responses.create(model="gpt-4o-mini", input="Count to three.", max_output_tokens=16)
    usage = first.usage
    assert usage is not None
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens
    assert 0 < usage.output_tokens <= 16
    tokens = client.responses.input_tokens.count(model="gpt-4o-mini", input="Count to three.")
    assert tokens.input_tokens == usage.input_tokens
    again = client.responses.create(model="gpt-4o-mini", input="Count to three.", max_output_tokens=16)
    assert again.usage is not None
    assert again.usage.input_tokens_details.cached_tokens > 0, "the engine reuses the shared prompt prefix"


def test_max_output_tokens_makes_the_response_incomplete(client: OpenAI) -> None:
    response = client.responses.create(
        model="gpt-4o", input="Write a long story about a dragon.", max_output_tokens=16, temperature=0
    )
    assert response.status == "incomplete"
    assert response.incomplete_details is not None and response.incomplete_details.reason == "max_output_tokens"
    assert response.usage is not None and response.usage.output_tokens == 16
    assert response.output[0].status == "incomplete"


def test_sampling_fields_are_echoed_and_greedy_is_repeatable(client: OpenAI) -> None:
    kwargs = dict(model="gpt-4o", input="Name a colour.", max_output_tokens=16, temperature=0, top_p=0.5)
    first = client.responses.create(**kwargs)  # type: ignore[arg-type]
    second = client.responses.create(**kwargs)  # type: ignore[arg-type]
    assert first.temperature == 0 and first.top_p == 0.5
    assert first.output_text == second.output_text


def test_instructions_metadata_and_identifiers_are_stored(client: OpenAI) -> None:
    response = client.responses.create(
        model="gpt-4.1",
        instructions="Answer in one word.",
        input="What colour is the sky?",
        metadata={"topic": "sky", "k" * 64: "v" * 512},
        user="user-1",
        safety_identifier="hash-1",
        prompt_cache_key="sky-questions",
        parallel_tool_calls=False,
        service_tier="auto",
        max_output_tokens=16,
    )
    assert response.instructions == "Answer in one word."
    assert response.metadata == {"topic": "sky", "k" * 64: "v" * 512}
    assert (response.user, response.safety_identifier, response.prompt_cache_key) == (
        "user-1",
        "hash-1",
        "sky-questions",
    )
    assert response.parallel_tool_calls is False and response.service_tier == "default"
    assert client.responses.retrieve(response.id) == response


def test_logprobs_come_with_include(client: OpenAI) -> None:
    response = client.responses.create(
        model="gpt-4o",
        input="Say yes.",
        max_output_tokens=16,
        temperature=0,  # sampled, an answer cut at 16 tokens can end inside a character the text cannot show yet
        top_logprobs=3,
        include=["message.output_text.logprobs"],
    )
    part = response.output[0].content[0]
    assert part.type == "output_text" and part.logprobs
    assert b"".join(bytes(lp.bytes) for lp in part.logprobs).decode() == part.text
    for logprob in part.logprobs:
        assert logprob.logprob <= 0 and len(logprob.top_logprobs) == 3
        assert logprob.top_logprobs[0].logprob >= logprob.top_logprobs[-1].logprob
    assert response.top_logprobs == 3
    assert client.responses.retrieve(response.id).output[0].content[0].logprobs == []
    shown = client.responses.retrieve(response.id, include=["message.output_text.logprobs"])
    assert shown.output[0].content[0].logprobs == part.logprobs


def test_message_forms_and_assistant_replay(client: OpenAI) -> None:
    first = client.responses.create(model="gpt-4o", input="Hi, I am Ada.", max_output_tokens=16)
    history = [
        {"role": "system", "content": "You are terse."},
        {"role": "developer", "content": [{"type": "input_text", "text": "Use plain words."}]},
        {"role": "user", "content": "Hi, I am Ada."},
        *[{"role": item.role, "content": item.content} for item in first.output],  # the docs' manual history
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Who am I?"}]},
    ]
    response = client.responses.create(model="gpt-4o", input=history, max_output_tokens=16)  # type: ignore[arg-type]
    assert response.status in ("completed", "incomplete")
    items = client.responses.input_items.list(response.id, order="asc")
    assert [item.role for item in items.data] == ["system", "developer", "user", "assistant", "user"]  # type: ignore[union-attr]


def test_store_false_is_not_retrievable_nor_chainable(client: OpenAI) -> None:
    response = client.responses.create(model="gpt-4o", input="Hello", store=False, max_output_tokens=16)
    assert response.store is False
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(response.id)
    with pytest.raises(openai.NotFoundError) as caught:
        client.responses.create(model="gpt-4o", input="Again", previous_response_id=response.id)
    assert caught.value.body["param"] == "previous_response_id"  # type: ignore[index]


def test_previous_response_id_carries_the_conversation(client: OpenAI) -> None:
    first = client.responses.create(model="gpt-4o", input="My name is Yunna.", max_output_tokens=16)
    second = client.responses.create(
        model="gpt-4o", input="What is my name?", previous_response_id=first.id, max_output_tokens=16
    )
    assert second.previous_response_id == first.id
    assert second.id[-16:] == first.id[-16:]
    assert second.usage is not None and first.usage is not None
    assert second.usage.input_tokens > first.usage.input_tokens + first.usage.output_tokens


def test_truncation_disabled_refuses_too_long_input_and_auto_drops_oldest(client: OpenAI) -> None:
    # The test server's context window is 1024 tokens: four turns of about 300 tokens overflow it.
    long_turns = [{"role": "user", "content": "lorem ipsum dolor sit amet " * 45} for _ in range(4)]
    too_long = [*long_turns, {"role": "user", "content": "Say OK."}]
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="gpt-4o", input=too_long, max_output_tokens=16)  # type: ignore[arg-type]
    assert caught.value.code == "context_length_exceeded"
    response = client.responses.create(
        model="gpt-4o",
        input=too_long,
        truncation="auto",
        max_output_tokens=16,  # type: ignore[arg-type]
    )
    assert response.truncation == "auto" and response.usage is not None
    assert response.usage.input_tokens < 1024


def test_verbosity_is_echoed(client: OpenAI) -> None:
    response = client.responses.create(
        model="gpt-4o", input="Describe rain.", text={"verbosity": "low"}, max_output_tokens=16
    )
    assert response.text is not None and response.text.verbosity == "low"


def test_a_chain_with_a_deleted_link_is_a_404(client: OpenAI) -> None:
    first = client.responses.create(model="gpt-4o", input="One", max_output_tokens=16)
    second = client.responses.create(model="gpt-4o", input="Two", previous_response_id=first.id, max_output_tokens=16)
    client.responses.delete(first.id)
    with pytest.raises(openai.NotFoundError) as caught:
        client.responses.create(model="gpt-4o", input="Three", previous_response_id=second.id)
    assert first.id in caught.value.message
