"""HTTP for /v1/chat/completions and stored completions. The behaviour lives in `responses.ChatCompletionService`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from homeport.api.auth import project
from homeport.api.body import read_json
from homeport.api.disconnect import unless_disconnected
from homeport.api.pagination import AscendingPage
from homeport.api.sse import event_stream, sse_data_frames
from homeport.responses import (
    ChatCompletionService,
    CreateChatCompletionParams,
    UpdateChatCompletionParams,
    wire,
)

router = APIRouter()


def _service(request: Request) -> ChatCompletionService:
    service: ChatCompletionService = request.app.state.chat_completions
    return service


@router.post("/chat/completions")
async def create_chat_completion(request: Request, project: str = Depends(project)) -> Any:
    params = await read_json(request, CreateChatCompletionParams)
    service = _service(request)
    prepared = await service.prepare(params, project)
    if params.stream:
        return event_stream(sse_data_frames(service.run(prepared)))
    answer = await unless_disconnected(request, service.create(prepared))
    return answer if isinstance(answer, Response) else JSONResponse(wire(answer))


@router.get("/chat/completions")
async def list_chat_completions(
    request: Request,
    page: AscendingPage = Depends(),
    model: str | None = Query(None),
    project: str = Depends(project),
) -> Any:
    # The SDK sends a metadata filter as `metadata[key]=value`, one query parameter per pair.
    metadata = {
        key[len("metadata[") : -1]: value
        for key, value in request.query_params.items()
        if key.startswith("metadata[") and key.endswith("]")
    }
    return await _service(request).page(
        project, model=model, metadata=metadata, after=page.after, limit=page.limit, order=page.order
    )


@router.get("/chat/completions/{completion_id}")
async def retrieve_chat_completion(request: Request, completion_id: str, project: str = Depends(project)) -> Any:
    return (await _service(request).get(project, completion_id)).body


@router.post("/chat/completions/{completion_id}")
async def update_chat_completion(request: Request, completion_id: str, project: str = Depends(project)) -> Any:
    params = await read_json(request, UpdateChatCompletionParams)
    return await _service(request).update(project, completion_id, params.metadata)


@router.delete("/chat/completions/{completion_id}")
async def delete_chat_completion(request: Request, completion_id: str, project: str = Depends(project)) -> Any:
    await _service(request).delete(project, completion_id)
    return {"id": completion_id, "object": "chat.completion.deleted", "deleted": True}


@router.get("/chat/completions/{completion_id}/messages")
async def list_messages(
    request: Request, completion_id: str, page: AscendingPage = Depends(), project: str = Depends(project)
) -> Any:
    return page.envelope((await _service(request).get(project, completion_id)).messages)
