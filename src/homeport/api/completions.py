"""HTTP for /v1/completions, the legacy API. The behaviour lives in `responses.CompletionService`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from homeport.api.auth import project
from homeport.api.body import read_json
from homeport.api.disconnect import unless_disconnected
from homeport.api.sse import event_stream, sse_data_frames
from homeport.responses import CompletionService, CreateCompletionParams, wire

router = APIRouter(dependencies=[Depends(project)])


@router.post("/completions")
async def create_completion(request: Request) -> Any:
    params = await read_json(request, CreateCompletionParams)
    service: CompletionService = request.app.state.completions
    prepared = service.prepare(params)
    if params.stream:
        return event_stream(sse_data_frames(service.run(prepared)))
    answer = await unless_disconnected(request, service.create(prepared))
    return answer if isinstance(answer, Response) else JSONResponse(wire(answer))
