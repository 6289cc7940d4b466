"""HTTP for /v1/vector_stores, their files, file batches and search. Behaviour is in `retrieval.VectorStoreService`."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request

from homeport.api.auth import project
from homeport.api.body import read_json
from homeport.api.pagination import Page
from homeport.retrieval.params import (
    CreateFileBatchParams,
    CreateVectorStoreFileParams,
    CreateVectorStoreParams,
    SearchParams,
    UpdateVectorStoreFileParams,
    UpdateVectorStoreParams,
)
from homeport.retrieval.vector_stores import VectorStoreService, vector_store_file_object

router = APIRouter()

FileStatus = Literal["in_progress", "completed", "failed", "cancelled"]


def _service(request: Request) -> VectorStoreService:
    service: VectorStoreService = request.app.state.vector_stores
    return service


@router.post("/vector_stores")
async def create_vector_store(request: Request, project: str = Depends(project)) -> Any:
    params = await read_json(request, CreateVectorStoreParams)
    return await _service(request).create(project, params)


@router.get("/vector_stores")
async def list_vector_stores(request: Request, page: Page = Depends(), project: str = Depends(project)) -> Any:
    return page.envelope(await _service(request).in_project(project))


@router.get("/vector_stores/{vector_store_id}")
async def retrieve_vector_store(request: Request, vector_store_id: str, project: str = Depends(project)) -> Any:
    service = _service(request)
    return await service.wire(await service.get(project, vector_store_id))


@router.post("/vector_stores/{vector_store_id}")
async def update_vector_store(request: Request, vector_store_id: str, project: str = Depends(project)) -> Any:
    params = await read_json(request, UpdateVectorStoreParams)
    return await _service(request).update(project, vector_store_id, params)


@router.delete("/vector_stores/{vector_store_id}")
async def delete_vector_store(request: Request, vector_store_id: str, project: str = Depends(project)) -> Any:
    await _service(request).delete(project, vector_store_id)
    return {"id": vector_store_id, "object": "vector_store.deleted", "deleted": True}


@router.post("/vector_stores/{vector_store_id}/search")
async def search_vector_store(request: Request, vector_store_id: str, project: str = Depends(project)) -> Any:
    params = await read_json(request, SearchParams)
    queries, results = await _service(request).search(project, vector_store_id, params)
    return {
        "object": "vector_store.search_results.page",
        "search_query": queries,
        "data": [result.wire() for result in results],
        "has_more": False,
        "next_page": None,
    }


@router.post("/vector_stores/{vector_store_id}/files")
async def attach_file(request: Request, vector_store_id: str, project: str = Depends(project)) -> Any:
    params = await read_json(request, CreateVectorStoreFileParams)
    return await _service(request).attach(
        project, vector_store_id, params.file_id, params.attributes, params.chunking_strategy
    )


@router.get("/vector_stores/{vector_store_id}/files")
async def list_files(
    request: Request,
    vector_store_id: str,
    page: Page = Depends(),
    filter: FileStatus | None = Query(None),
    project: str = Depends(project),
) -> Any:
    return page.envelope(await _service(request).files(project, vector_store_id, filter))


@router.get("/vector_stores/{vector_store_id}/files/{file_id}")
async def retrieve_file(request: Request, vector_store_id: str, file_id: str, project: str = Depends(project)) -> Any:
    return vector_store_file_object(await _service(request).file(project, vector_store_id, file_id))


@router.post("/vector_stores/{vector_store_id}/files/{file_id}")
async def update_file(request: Request, vector_store_id: str, file_id: str, project: str = Depends(project)) -> Any:
    params = await read_json(request, UpdateVectorStoreFileParams)
    return await _service(request).set_attributes(project, vector_store_id, file_id, params.attributes)


@router.delete("/vector_stores/{vector_store_id}/files/{file_id}")
async def detach_file(request: Request, vector_store_id: str, file_id: str, project: str = Depends(project)) -> Any:
    await _service(request).detach(project, vector_store_id, file_id)
    return {"id": file_id, "object": "vector_store.file.deleted", "deleted": True}


@router.get("/vector_stores/{vector_store_id}/files/{file_id}/content")
async def file_content(request: Request, vector_store_id: str, file_id: str, project: str = Depends(project)) -> Any:
    chunks = await _service(request).chunks(project, vector_store_id, file_id)
    return {
        "object": "vector_store.file_content.page",
        "data": [{"type": "text", "text": chunk} for chunk in chunks],
        "has_more": False,
        "next_page": None,
    }


@router.post("/vector_stores/{vector_store_id}/file_batches")
async def create_batch(request: Request, vector_store_id: str, project: str = Depends(project)) -> Any:
    params = await read_json(request, CreateFileBatchParams)
    return await _service(request).attach_batch(project, vector_store_id, params)


@router.get("/vector_stores/{vector_store_id}/file_batches/{batch_id}")
async def retrieve_batch(request: Request, vector_store_id: str, batch_id: str, project: str = Depends(project)) -> Any:
    return await _service(request).batch(project, vector_store_id, batch_id)


@router.post("/vector_stores/{vector_store_id}/file_batches/{batch_id}/cancel")
async def cancel_batch(request: Request, vector_store_id: str, batch_id: str, project: str = Depends(project)) -> Any:
    return await _service(request).cancel_batch(project, vector_store_id, batch_id)


@router.get("/vector_stores/{vector_store_id}/file_batches/{batch_id}/files")
async def list_batch_files(
    request: Request,
    vector_store_id: str,
    batch_id: str,
    page: Page = Depends(),
    filter: FileStatus | None = Query(None),
    project: str = Depends(project),
) -> Any:
    return page.envelope(await _service(request).files(project, vector_store_id, filter, batch_id))
