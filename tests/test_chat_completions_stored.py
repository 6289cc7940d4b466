"""Stored chat completions (`store: true`): list with filters and cursors, retrieve, update, delete, messages."""

from __future__ import annotations

import uuid

import openai
import pytest
from openai import OpenAI
from openai.types.chat import ChatCompletion
from tests.conftest import Server

HI = [{"role": "user", "content": "Hi"}]


def _stored(client: OpenAI, batch: str, number: int) -> ChatCompletion:
    return client.chat.completions.create(
        model="gpt-4o", messages=HI, max_tokens=2, store=True, metadata={"batch": batch, "n": str(number)}
    )


@pytest.fixture(scope="module")
def batch(client: OpenAI) -> tuple[str, list[str]]:
    """Three stored completions sharing a fresh `batch` metadata value, oldest first."""
    name = uuid.uuid4().hex
    return name, [_stored(client, name, number).id for number in range(3)]


def test_store_defaults_to_false(client: OpenAI) -> None:
    completion = client.chat.completions.create(model="gpt-4o", messages=HI, max_tokens=2)
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.retrieve(completion.id)
    assert caught.value.body["param"] == "completion_id"  # type: ignore[index]


def test_retrieve_returns_what_create_returned(client: OpenAI) -> None:
    created = client.chat.completions.create(
        model="gpt-4o", messages=HI, max_tokens=4, store=True, logprobs=True, metadata={"topic": "greeting"}
    )
    assert created.metadata == {"topic": "greeting"}
    assert client.chat.completions.retrieve(created.id) == created


def test_streamed_completions_are_stored_whole(client: OpenAI) -> None:
    chunks = list(client.chat.completions.create(model="gpt-4o", messages=HI, max_tokens=4, store=True, stream=True))
    stored = client.chat.completions.retrieve(chunks[0].id)
    assert stored.choices[0].message.content == "".join(c.choices[0].delta.content or "" for c in chunks)
    assert stored.choices[0].finish_reason == chunks[-1].choices[0].finish_reason


def test_list_filters_by_metadata_and_orders(client: OpenAI, batch: tuple[str, list[str]]) -> None:
    name, ids = batch
    page = client.chat.completions.list(metadata={"batch": name})
    assert [completion.id for completion in page.data] == ids, "oldest first by default"
    assert page.has_more is False
    newest = client.chat.completions.list(metadata={"batch": name}, order="desc")
    assert [completion.id for completion in newest.data] == ids[::-1]
    one = client.chat.completions.list(metadata={"batch": name, "n": "1"})
    assert [completion.id for completion in one.data] == [ids[1]]
    assert client.chat.completions.list(metadata={"batch": name, "n": "7"}).data == []


def test_list_pages_with_cursors(client: OpenAI, batch: tuple[str, list[str]]) -> None:
    name, ids = batch
    first = client.chat.completions.list(metadata={"batch": name}, limit=2)
    assert [completion.id for completion in first.data] == ids[:2] and first.has_more is True
    assert [completion.id for completion in client.chat.completions.list(metadata={"batch": name}, limit=2)] == ids
    rest = client.chat.completions.list(metadata={"batch": name}, after=ids[0], order="asc")
    assert [completion.id for completion in rest.data] == ids[1:]
    empty = client.chat.completions.list(metadata={"batch": name}, after=ids[-1])
    assert empty.data == [] and empty.has_more is False


def test_list_filters_by_model(client: OpenAI, batch: tuple[str, list[str]]) -> None:
    name, ids = batch
    for model in ("gpt-4o", "smollm2-135m-instruct"):
        page = client.chat.completions.list(metadata={"batch": name}, model=model)
        assert [completion.id for completion in page.data] == ids, model
    assert client.chat.completions.list(metadata={"batch": name}, model="some-other-model").data == []


def test_list_query_errors(client: OpenAI) -> None:
    for limit in (0, 101):
        with pytest.raises(openai.BadRequestError) as caught:
            client.chat.completions.list(limit=limit)
        assert caught.value.body["param"] == "limit"  # type: ignore[index]
    with pytest.raises(openai.NotFoundError) as missing:
        client.chat.completions.list(after="chatcmpl-unknown")
    assert missing.value.body["param"] == "after"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError) as order:
        client.chat.completions.list(order="sideways")  # type: ignore[arg-type]
    assert order.value.body["param"] == "order"  # type: ignore[index]


def test_update_metadata(client: OpenAI) -> None:
    completion = _stored(client, uuid.uuid4().hex, 0)
    updated = client.chat.completions.update(completion.id, metadata={"reviewed": "yes"})
    assert updated.metadata == {"reviewed": "yes"} and updated.id == completion.id
    assert client.chat.completions.retrieve(completion.id).metadata == {"reviewed": "yes"}
    assert [c.id for c in client.chat.completions.list(metadata={"reviewed": "yes"})][-1] == completion.id
    assert client.chat.completions.update(completion.id, metadata=None).metadata == {}
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.update(completion.id, metadata={f"k{n}": "v" for n in range(17)})


def test_delete(client: OpenAI) -> None:
    completion = _stored(client, uuid.uuid4().hex, 0)
    deleted = client.chat.completions.delete(completion.id)
    assert (deleted.id, deleted.object, deleted.deleted) == (completion.id, "chat.completion.deleted", True)
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.retrieve(completion.id)
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.delete(completion.id)
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.messages.list(completion.id)
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.update(completion.id, metadata={})


def test_messages_are_listed_with_ids(server: Server, client: OpenAI) -> None:
    messages = [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": [{"type": "text", "text": "Hi"}]},
        {"role": "assistant", "content": "Hello."},
        {"role": "user", "content": "Bye"},
    ]
    completion = client.chat.completions.create(model="gpt-4o", messages=messages, max_tokens=2, store=True)  # type: ignore[arg-type]
    # The SDK types a stored message's role as "assistant" only, while OpenAI (and this server) send each
    # message's own role: this listing is read without strict validation.
    lenient = openai.OpenAI(base_url=server.base_url, api_key="unused")
    page = lenient.chat.completions.messages.list(completion.id)
    assert [message.id for message in page.data] == [f"{completion.id}-{n}" for n in range(4)]
    assert [message.role for message in page.data] == ["system", "user", "assistant", "user"]
    assert [message.content for message in page.data] == ["You are terse.", "Hi", "Hello.", "Bye"]
    assert page.data[1].content_parts is not None and page.data[1].content_parts[0].text == "Hi"  # type: ignore[union-attr]
    assert page.data[0].content_parts is None
    first = lenient.chat.completions.messages.list(completion.id, limit=3, order="desc")
    assert [message.id for message in first.data] == [f"{completion.id}-{n}" for n in (3, 2, 1)]
    assert first.has_more is True
    assert [message.id for message in lenient.chat.completions.messages.list(completion.id, limit=3)] == [
        f"{completion.id}-{n}" for n in range(4)
    ], "auto-pagination follows `after`"
    tail = lenient.chat.completions.messages.list(completion.id, after=f"{completion.id}-3")
    assert tail.data == [] and tail.has_more is False
    with pytest.raises(openai.NotFoundError):
        lenient.chat.completions.messages.list(completion.id, after="msg_unknown")
    for limit in (0, 101):
        with pytest.raises(openai.BadRequestError):
            lenient.chat.completions.messages.list(completion.id, limit=limit)
