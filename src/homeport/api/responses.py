"""HTTP for /v1/responses: parse, authorize, frame. The behaviour lives in `responses.ResponseService`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from homeport.api.auth import project
from homeport.api.body import read_json
from homeport.api.disconnect import unless_disconnected
from homeport.api.includes import includes
from homeport.api.pagination import Page
from homeport.api.sse import event_stream, sse_frames
from homeport.errors import InvalidRequest
from homeport.responses import CreateResponseParams, ResponseService, wire
from homeport.responses.background import BackgroundResponses
from homeport.responses.items import shown_items

router = APIRouter()

# The fields of `InputTokenCountParams`: a token count takes what shapes the prompt and nothing else.
_INPUT_TOKEN_FIELDS = frozenset(
    {
        "model",
        "input",
        "instructions",
        "previous_response_id",
        "tools",
        "text",
        "reasoning",
        "conversation",
        "truncation",
        "parallel_tool_calls",
        "tool_choice",
    }
)


def _service(request: Request) -> ResponseService:
    service: ResponseService = request.app.state.responses
    return service


def _background(request: Request) -> BackgroundResponses:
    background: BackgroundResponses = request.app.state.background
    return background


@router.post("/responses")
async def create_response(request: Request, project: str = Depends(project)) -> Any:
    params = await read_json(request, CreateResponseParams)
    service = _service(request)
    if params.background:
        background = _background(request)
        queued = await background.submit(params, project)
        if params.stream:
            return event_stream(sse_frames(await background.follow(project, queued.id, None)))
        return JSONResponse(wire(queued))
    if params.stream:
        prepared = await service.prepare(params, project)
        return event_stream(sse_frames(service.run(prepared)))
    answer = await unless_disconnected(request, service.create(params, project))
    return answer if isinstance(answer, Response) else JSONResponse(wire(answer))


@router.post("/responses/input_tokens")
async def count_input_tokens(request: Request, project: str = Depends(project)) -> Any:
    params = await read_json(request, CreateResponseParams)
    extra = sorted(params.model_fields_set - _INPUT_TOKEN_FIELDS)
    if extra:
        raise InvalidRequest(f"Unknown parameter: '{extra[0]}'.", param=extra[0], code="unknown_parameter")
    tokens = await _service(request).count_input_tokens(params, project)
    return {"object": "response.input_tokens", "input_tokens": tokens}


@router.get("/responses/{response_id}")
async def retrieve_response(
    request: Request,
    response_id: str,
    include: list[str] = Depends(includes),
    stream: bool = Query(False),
    starting_after: int | None = Query(None),
    include_obfuscation: bool | None = Query(None),
    project: str = Depends(project),
) -> Any:
    if stream:
        events = await _background(request).follow(project, response_id, starting_after)
        return event_stream(sse_frames(_shown_events(events, include_obfuscation is not False)))
    if starting_after is not None or include_obfuscation is not None:
        param = "starting_after" if starting_after is not None else "include_obfuscation"
        raise InvalidRequest(f"'{param}' applies to a stream: set stream=true.", param=param)
    stored = await _service(request).get(project, response_id)
    return {**stored.body, "output": shown_items(stored.body.get("output", []), include)}


async def _shown_events(events: AsyncIterator[dict[str, Any]], obfuscated: bool) -> AsyncIterator[dict[str, Any]]:
    """The logged events; without their obfuscation padding when the client turned it off."""
    async for event in events:
        yield event if obfuscated else {key: value for key, value in event.items() if key != "obfuscation"}


@router.delete("/responses/{response_id}")
async def delete_response(request: Request, response_id: str, project: str = Depends(project)) -> Any:
    await _service(request).delete(project, response_id)
    return {"id": response_id, "object": "response.deleted", "deleted": True}


@router.post("/responses/{response_id}/cancel")
async def cancel_response(request: Request, response_id: str, project: str = Depends(project)) -> Any:
    return await _background(request).cancel(project, response_id)


@router.get("/responses/{response_id}/input_items")
async def list_input_items(
    request: Request,
    response_id: str,
    page: Page = Depends(),
    include: list[str] = Depends(includes),
    project: str = Depends(project),
) -> Any:
    stored = await _service(request).get(project, response_id)
    return page.envelope(shown_items(stored.input_items, include))
