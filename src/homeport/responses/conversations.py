"""Conversations: durable histories that responses read from and append to.

A response made `conversation=…` reads every item of the conversation as its history and, once it has finished,
appends its own input and output items in order; the conversation therefore replays exactly what the model saw.
"""

from __future__ import annotations

import time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from homeport.errors import InvalidRequest, NotFound
from homeport.ids import new_id, suffix_of
from homeport.metadata import Metadata
from homeport.responses.items import Item, parse_input
from homeport.store import ConversationRepository, StoredConversation

MAX_ITEMS_PER_CALL = 20

_STRICT = ConfigDict(extra="forbid", strict=True)


class CreateConversationParams(BaseModel):
    model_config = _STRICT
    items: list[dict[str, Any]] | None = Field(None, max_length=MAX_ITEMS_PER_CALL)
    metadata: Metadata | None = None


class UpdateConversationParams(BaseModel):
    model_config = _STRICT
    metadata: Metadata


class AddItemsParams(BaseModel):
    model_config = _STRICT
    items: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_ITEMS_PER_CALL)


def conversation_object(conversation: StoredConversation) -> dict[str, Any]:
    return {
        "id": conversation.id,
        "object": "conversation",
        "created_at": conversation.created_at,
        "metadata": conversation.metadata,
    }


class ConversationService:
    def __init__(self, repository: ConversationRepository, *, accepts_images: bool) -> None:
        self._repository = repository
        self._accepts_images = accepts_images

    async def create(self, project: str, params: CreateConversationParams) -> StoredConversation:
        conversation = StoredConversation(new_id("conv"), project, int(time.time()), params.metadata or {})
        items = self._parse(params.items, conversation.id, "items")
        _check_unique(items, set())
        await self._repository.add(conversation, items)
        return conversation

    async def get(self, project: str, conversation_id: str, param: str = "conversation_id") -> StoredConversation:
        conversation = await self._repository.get(project, conversation_id)
        if conversation is None:
            raise NotFound(f"Conversation with id '{conversation_id}' not found.", param=param)
        return conversation

    async def update(self, project: str, conversation_id: str, params: UpdateConversationParams) -> StoredConversation:
        conversation = await self.get(project, conversation_id)
        conversation.metadata = params.metadata
        await self._repository.set_metadata(conversation)
        return conversation

    async def delete(self, project: str, conversation_id: str) -> None:
        if not await self._repository.delete(project, conversation_id):
            raise NotFound(f"Conversation with id '{conversation_id}' not found.", param="conversation_id")

    async def add_items(self, project: str, conversation_id: str, params: AddItemsParams) -> list[Item]:
        conversation = await self.get(project, conversation_id)
        items = self._parse(params.items, conversation.id, "items")
        await self.append(conversation.id, items)
        return items

    async def items(self, project: str, conversation_id: str) -> list[Item]:
        conversation = await self.get(project, conversation_id)
        return await self._repository.items(conversation.id)

    async def item(self, project: str, conversation_id: str, item_id: str) -> Item:
        conversation = await self.get(project, conversation_id)
        item = await self._repository.item(conversation.id, item_id)
        if item is None:
            raise NotFound(f"Item with id '{item_id}' not found in conversation '{conversation_id}'.", param="item_id")
        return item

    async def delete_item(self, project: str, conversation_id: str, item_id: str) -> StoredConversation:
        conversation = await self.get(project, conversation_id)
        if not await self._repository.delete_item(conversation.id, item_id):
            raise NotFound(f"Item with id '{item_id}' not found in conversation '{conversation_id}'.", param="item_id")
        return conversation

    async def history(self, project: str, conversation_id: str) -> list[Item]:
        """The items a response made in this conversation reads first."""
        conversation = await self.get(project, conversation_id, param="conversation")
        return await self._repository.items(conversation.id)

    async def append(self, conversation_id: str, items: list[Item], *, skip_existing: bool = False) -> None:
        """Add items after the existing ones, all or none.

        An id already in the conversation is a 400, unless `skip_existing` (a response whose input replays items
        the conversation already holds: those are not added twice).
        """
        taken = await self._repository.existing_ids(conversation_id, [item["id"] for item in items])
        if skip_existing:
            items = [item for item in items if item["id"] not in taken]
            taken = set()
        _check_unique(items, taken)
        await self._repository.append(conversation_id, items)

    def _parse(self, raw: list[dict[str, Any]] | None, conversation_id: str, param: str) -> list[Item]:
        return parse_input(raw, accepts_images=self._accepts_images, suffix=suffix_of(conversation_id), param=param)


def _check_unique(items: list[Item], taken: set[str]) -> None:
    seen = set(taken)
    for index, item in enumerate(items):
        if item["id"] in seen:
            raise InvalidRequest(f"Item id '{item['id']}' is already in this conversation.", param=f"items[{index}].id")
        seen.add(item["id"])
