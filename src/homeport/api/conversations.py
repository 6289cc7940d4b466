"""HTTP for /v1/conversations and their items. The behaviour lives in `responses.ConversationService`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from homeport.api.auth import project
from homeport.api.body import read_json
from homeport.api.includes import includes
from homeport.api.pagination import Page
from homeport.responses import (
    AddItemsParams,
    ConversationService,
    CreateConversationParams,
    UpdateConversationParams,
    conversation_object,
)
from homeport.responses.items import shown_items

router = APIRouter()


def _service(request: Request) -> ConversationService:
    service: ConversationService = request.app.state.conversations
    return service


@router.post("/conversations")
async def create_conversation(request: Request, project: str = Depends(project)) -> Any:
    params = await read_json(request, CreateConversationParams)
    return conversation_object(await _service(request).create(project, params))


@router.get("/conversations/{conversation_id}")
async def retrieve_conversation(request: Request, conversation_id: str, project: str = Depends(project)) -> Any:
    return conversation_object(await _service(request).get(project, conversation_id))


@router.post("/conversations/{conversation_id}")
async def update_conversation(request: Request, conversation_id: str, project: str = Depends(project)) -> Any:
    params = await read_json(request, UpdateConversationParams)
    return conversation_object(await _service(request).update(project, conversation_id, params))


@router.delete("/conversations/{conversation_id}")
async def delete_conversation(request: Request, conversation_id: str, project: str = Depends(project)) -> Any:
    await _service(request).delete(project, conversation_id)
    return {"id": conversation_id, "object": "conversation.deleted", "deleted": True}


@router.post("/conversations/{conversation_id}/items")
async def create_items(
    request: Request,
    conversation_id: str,
    include: list[str] = Depends(includes),
    project: str = Depends(project),
) -> Any:
    params = await read_json(request, AddItemsParams)
    items = shown_items(await _service(request).add_items(project, conversation_id, params), include)
    return {"object": "list", "data": items, "first_id": items[0]["id"], "last_id": items[-1]["id"], "has_more": False}


@router.get("/conversations/{conversation_id}/items")
async def list_items(
    request: Request,
    conversation_id: str,
    page: Page = Depends(),
    include: list[str] = Depends(includes),
    project: str = Depends(project),
) -> Any:
    return page.envelope(shown_items(await _service(request).items(project, conversation_id), include))


@router.get("/conversations/{conversation_id}/items/{item_id}")
async def retrieve_item(
    request: Request,
    conversation_id: str,
    item_id: str,
    include: list[str] = Depends(includes),
    project: str = Depends(project),
) -> Any:
    return shown_items([await _service(request).item(project, conversation_id, item_id)], include)[0]


@router.delete("/conversations/{conversation_id}/items/{item_id}")
async def delete_item(request: Request, conversation_id: str, item_id: str, project: str = Depends(project)) -> Any:
    return conversation_object(await _service(request).delete_item(project, conversation_id, item_id))
