"""HTTP for /v1/containers and their files. Behaviour is in `sandbox.ContainerService`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from homeport.api.auth import project
from homeport.api.body import read_json
from homeport.api.multipart import read_form
from homeport.api.pagination import Page
from homeport.errors import InvalidRequest
from homeport.files.service import FileService
from homeport.sandbox.containers import (
    DEFAULT_MINUTES,
    ContainerService,
    container_file_object,
    container_object,
)

router = APIRouter()

_STRICT = ConfigDict(extra="forbid", strict=True)


class _ExpiresAfter(BaseModel):
    model_config = _STRICT
    anchor: Literal["last_active_at"]
    minutes: int = Field(ge=1, le=1440)


class _NoNetwork(BaseModel):
    """Only `disabled`: code in a container has no network at all (an allowlist would need a proxy)."""

    model_config = _STRICT
    type: Literal["disabled"]


class CreateContainerParams(BaseModel):
    model_config = _STRICT
    name: str = Field(max_length=512)
    expires_after: _ExpiresAfter | None = None
    file_ids: list[str] = Field(default_factory=list, max_length=100)
    memory_limit: Literal["1g", "4g", "16g", "64g"] = "1g"
    network_policy: _NoNetwork | None = None


class AddFileParams(BaseModel):
    model_config = _STRICT
    file_id: str


def _service(request: Request) -> ContainerService:
    service: ContainerService = request.app.state.containers
    return service


@router.post("/containers")
async def create_container(request: Request, project: str = Depends(project)) -> Any:
    params = await read_json(request, CreateContainerParams)
    minutes = params.expires_after.minutes if params.expires_after else DEFAULT_MINUTES
    container = await _service(request).create(project, params.name, minutes, params.memory_limit, params.file_ids)
    return container_object(container)


@router.get("/containers")
async def list_containers(request: Request, page: Page = Depends(), project: str = Depends(project)) -> Any:
    return page.envelope([container_object(container) for container in await _service(request).in_project(project)])


@router.get("/containers/{container_id}")
async def retrieve_container(request: Request, container_id: str, project: str = Depends(project)) -> Any:
    return container_object(await _service(request).get(project, container_id))


@router.delete("/containers/{container_id}")
async def delete_container(request: Request, container_id: str, project: str = Depends(project)) -> Any:
    await _service(request).delete(project, container_id)
    return {"id": container_id, "object": "container.deleted", "deleted": True}


@router.post("/containers/{container_id}/files")
async def add_file(request: Request, container_id: str, project: str = Depends(project)) -> Any:
    """A multipart upload (`file`), or a JSON `file_id` copying a file of the Files API."""
    service = _service(request)
    container = await service.usable(project, container_id)
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        params = await read_json(request, AddFileParams)
        return container_file_object(await service.copy_file(container, params.file_id))
    files: FileService = request.app.state.files
    form = await read_form(request, blobs=files.blobs, file_field="file", limit=files.max_bytes)
    try:
        form.only_fields(set())
        if form.file is None:
            raise InvalidRequest("Missing required parameter: 'file'.", param="file")
        return container_file_object(await service.add_upload(container, form.file, form.filename or ""))
    except BaseException:
        form.discard()
        raise


@router.get("/containers/{container_id}/files")
async def list_files(
    request: Request, container_id: str, page: Page = Depends(), project: str = Depends(project)
) -> Any:
    service = _service(request)
    container = await service.get(project, container_id)
    return page.envelope([container_file_object(file) for file in await service.files(container)])


@router.get("/containers/{container_id}/files/{file_id}")
async def retrieve_file(request: Request, container_id: str, file_id: str, project: str = Depends(project)) -> Any:
    service = _service(request)
    container = await service.get(project, container_id)
    return container_file_object(await service.file(container, file_id))


@router.get("/containers/{container_id}/files/{file_id}/content")
async def file_content(request: Request, container_id: str, file_id: str, project: str = Depends(project)) -> Any:
    service = _service(request)
    container = await service.usable(project, container_id)
    opened = service.open(await service.file(container, file_id))

    def chunks() -> Iterator[bytes]:
        with opened:
            while data := opened.read(1 << 20):
                yield data

    return StreamingResponse(chunks(), media_type="application/octet-stream")


@router.delete("/containers/{container_id}/files/{file_id}")
async def delete_file(request: Request, container_id: str, file_id: str, project: str = Depends(project)) -> Any:
    service = _service(request)
    container = await service.usable(project, container_id)
    await service.delete_file(container, file_id)
    return {"id": file_id, "object": "container.file.deleted", "deleted": True}
