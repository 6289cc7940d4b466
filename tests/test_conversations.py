"""The Conversations API, and responses that read from and append to a conversation."""

from __future__ import annotations

import re

import openai
import pytest
from openai import OpenAI

CONV_ID = re.compile(r"^conv_[0-9a-f]{48}$")


def test_create_retrieve_update_delete(client: OpenAI) -> None:
    conversation = client.conversations.create(
        metadata={"topic": "demo"},
        items=[{"type": "message", "role": "user", "content": "Hello, my name is Yunna. How are you doing"}],
    )
    assert CONV_ID.match(conversation.id) and conversation.object == "conversation"
    assert conversation.metadata == {"topic": "demo"}
    assert client.conversations.retrieve(conversation.id) == conversation
    updated = client.conversations.update(conversation.id, metadata={"topic": "renamed"})
    assert updated.metadata == {"topic": "renamed"} and updated.id == conversation.id
    deleted = client.conversations.delete(conversation.id)
    assert deleted.deleted is True and deleted.object == "conversation.deleted" and deleted.id == conversation.id
    with pytest.raises(openai.NotFoundError):
        client.conversations.retrieve(conversation.id)
    with pytest.raises(openai.NotFoundError):
        client.conversations.items.list(conversation.id)


def test_empty_conversation_has_an_empty_item_list(client: OpenAI) -> None:
    conversation = client.conversations.create()
    assert conversation.metadata == {}
    page = client.conversations.items.list(conversation.id)
    assert page.data == [] and page.has_more is False


def test_items_crud_and_pagination(client: OpenAI) -> None:
    conversation = client.conversations.create(items=[{"role": "user", "content": "first"}])
    added = client.conversations.items.create(
        conversation.id, items=[{"role": "user", "content": f"item {n}"} for n in range(3)]
    )
    assert [item.content[0].text for item in added.data] == ["item 0", "item 1", "item 2"]  # type: ignore[union-attr]
    newest_first = client.conversations.items.list(conversation.id, limit=2)
    assert [item.content[0].text for item in newest_first.data] == ["item 2", "item 1"]  # type: ignore[union-attr]
    assert newest_first.has_more is True
    every = [item.content[0].text for item in client.conversations.items.list(conversation.id, order="asc", limit=2)]  # type: ignore[union-attr]
    assert every == ["first", "item 0", "item 1", "item 2"], "iteration follows `after` across pages"
    one = client.conversations.items.retrieve(added.data[1].id, conversation_id=conversation.id)
    assert one == added.data[1]
    after_delete = client.conversations.items.delete(added.data[1].id, conversation_id=conversation.id)
    assert after_delete.id == conversation.id
    with pytest.raises(openai.NotFoundError):
        client.conversations.items.retrieve(added.data[1].id, conversation_id=conversation.id)
    with pytest.raises(openai.NotFoundError) as caught:
        client.conversations.items.list(conversation.id, after="msg_unknown")
    assert caught.value.body["param"] == "after"  # type: ignore[index]


@pytest.mark.parametrize("limit", [0, 101])
def test_item_list_limit_bounds(client: OpenAI, limit: int) -> None:
    conversation = client.conversations.create()
    with pytest.raises(openai.BadRequestError):
        client.conversations.items.list(conversation.id, limit=limit)


def test_item_limits_and_validation(client: OpenAI) -> None:
    too_many = [{"role": "user", "content": str(n)} for n in range(21)]
    with pytest.raises(openai.BadRequestError) as caught:
        client.conversations.create(items=too_many)  # type: ignore[arg-type]
    assert caught.value.body["param"] == "items"  # type: ignore[index]
    conversation = client.conversations.create()
    with pytest.raises(openai.BadRequestError):
        client.conversations.items.create(conversation.id, items=too_many)  # type: ignore[arg-type]
    with pytest.raises(openai.BadRequestError) as caught:
        client.conversations.items.create(conversation.id, items=[{"role": "robot", "content": "x"}])  # type: ignore[list-item]
    assert caught.value.body["param"] == "items[0].role"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError) as caught:
        client.conversations.create(metadata={f"k{n}": "v" for n in range(17)})
    assert caught.value.body["param"] == "metadata"  # type: ignore[index]
    duplicate = [{"type": "message", "id": "msg_same", "role": "user", "content": "x"}] * 2
    with pytest.raises(openai.BadRequestError):
        client.conversations.create(items=duplicate)  # type: ignore[arg-type]
    assert client.conversations.items.list(conversation.id).data == [], "a refused call adds nothing"


def test_response_in_a_conversation_reads_and_appends(client: OpenAI) -> None:
    conversation = client.conversations.create(items=[{"role": "user", "content": "My name is Yunna."}])
    response = client.responses.create(
        model="gpt-4.1",
        input=[{"role": "user", "content": "What is my name?"}],
        conversation=conversation.id,
        max_output_tokens=16,
    )
    assert response.conversation is not None and response.conversation.id == conversation.id
    assert response.id[-16:] == conversation.id[-16:]
    items = client.conversations.items.list(conversation.id, order="asc").data
    assert [item.role for item in items] == ["user", "user", "assistant"]  # type: ignore[union-attr]
    assert items[2].id == response.output[0].id
    assert items[2].content[0].text == response.output_text  # type: ignore[union-attr]
    follow_up = client.responses.create(
        model="gpt-4.1", input="And again?", conversation={"id": conversation.id}, max_output_tokens=16
    )
    assert response.usage is not None and follow_up.usage is not None
    assert follow_up.usage.input_tokens > response.usage.input_tokens, "the second turn reads the first"
    assert len(client.conversations.items.list(conversation.id).data) == 5


def test_conversation_errors(client: OpenAI) -> None:
    earlier = client.responses.create(model="gpt-4o", input="Hi", max_output_tokens=16)
    conversation = client.conversations.create()
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(
            model="gpt-4o", input="Hi", conversation=conversation.id, previous_response_id=earlier.id
        )
    assert caught.value.body["param"] == "conversation"  # type: ignore[index]
    with pytest.raises(openai.NotFoundError) as caught:
        client.responses.create(model="gpt-4o", input="Hi", conversation="conv_" + "0" * 48)
    assert caught.value.body["param"] == "conversation"  # type: ignore[index]
    client.conversations.delete(conversation.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.create(model="gpt-4o", input="Hi", conversation=conversation.id)
