"""HTTP for /v1/batches: parse, authorize, page. The behaviour lives in `responses.batches.BatchService`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from homeport.api.auth import project
from homeport.api.body import read_json
from homeport.api.pagination import Page
from homeport.responses.batches import BatchService, CreateBatchParams

router = APIRouter()


def _service(request: Request) -> BatchService:
    service: BatchService = request.app.state.batches
    return service


@router.post("/batches")
async def create_batch(request: Request, project: str = Depends(project)) -> Any:
    params = await read_json(request, CreateBatchParams)
    return await _service(request).create(params, project)


@router.get("/batches")
async def list_batches(request: Request, page: Page = Depends(), project: str = Depends(project)) -> Any:
    return page.envelope(await _service(request).in_project(project))


@router.get("/batches/{batch_id}")
async def retrieve_batch(request: Request, batch_id: str, project: str = Depends(project)) -> Any:
    return await _service(request).get(project, batch_id)


@router.post("/batches/{batch_id}/cancel")
async def cancel_batch(request: Request, batch_id: str, project: str = Depends(project)) -> Any:
    return await _service(request).cancel(project, batch_id)
