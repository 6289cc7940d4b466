"""HTTP for /v1/files and /v1/uploads. Uploads stream to disk (`multipart.read_form`); behaviour is in `files/`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from homeport.api.auth import project
from homeport.api.body import read_json
from homeport.api.multipart import read_form
from homeport.api.pagination import FilePage
from homeport.errors import InvalidRequest
from homeport.files.service import (
    MAX_PART_BYTES,
    FileService,
    check_purpose,
    expiry_seconds,
    file_object,
    upload_object,
)

router = APIRouter()

_FILE_FIELDS = {"purpose", "expires_after[anchor]", "expires_after[seconds]"}


def _service(request: Request) -> FileService:
    service: FileService = request.app.state.files
    return service


@router.post("/files")
async def create_file(request: Request, project: str = Depends(project)) -> Any:
    service = _service(request)
    form = await read_form(request, blobs=service.blobs, file_field="file", limit=service.max_bytes)
    try:
        form.only_fields(_FILE_FIELDS)
        if form.file is None:
            raise InvalidRequest("Missing required parameter: 'file'.", param="file")
        purpose = check_purpose(form.fields.get("purpose"))
        expires = expiry_seconds(
            form.fields.get("expires_after[anchor]"),
            form.fields.get("expires_after[seconds]"),
            purpose,
            "expires_after",
        )
        return file_object(await service.create(project, form.file, form.filename or "", purpose, expires))
    except BaseException:
        form.discard()
        raise


@router.get("/files")
async def list_files(
    request: Request, page: FilePage = Depends(), purpose: str | None = Query(None), project: str = Depends(project)
) -> Any:
    files = await _service(request).in_project(project, purpose)
    return page.envelope([file_object(file) for file in files])


@router.get("/files/{file_id}")
async def retrieve_file(request: Request, file_id: str, project: str = Depends(project)) -> Any:
    return file_object(await _service(request).get(project, file_id))


@router.get("/files/{file_id}/content")
async def file_content(request: Request, file_id: str, project: str = Depends(project)) -> Any:
    file, chunks = await _service(request).content(project, file_id)
    quoted = file.filename.replace('"', "")
    return StreamingResponse(
        chunks,
        media_type="application/octet-stream",
        headers={"content-length": str(file.bytes), "content-disposition": f'attachment; filename="{quoted}"'},
    )


@router.delete("/files/{file_id}")
async def delete_file(request: Request, file_id: str, project: str = Depends(project)) -> Any:
    await _service(request).delete(project, file_id)
    return {"id": file_id, "object": "file", "deleted": True}


class _ExpiresAfter(BaseModel):
    model_config = ConfigDict(extra="forbid")
    anchor: str
    seconds: int


class CreateUploadParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    bytes: int = Field(ge=0)
    filename: str = Field(min_length=1)
    mime_type: str = Field(min_length=1)
    purpose: str
    expires_after: _ExpiresAfter | None = None


class CompleteUploadParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    part_ids: list[str]
    md5: str | None = None


@router.post("/uploads")
async def create_upload(request: Request, project: str = Depends(project)) -> Any:
    params = await read_json(request, CreateUploadParams)
    purpose = check_purpose(params.purpose)
    expires = params.expires_after
    seconds = expiry_seconds(
        None if expires is None else expires.anchor,
        None if expires is None else expires.seconds,
        purpose,
        "expires_after",
    )
    upload = await _service(request).create_upload(
        project, params.filename, purpose, params.mime_type, params.bytes, seconds
    )
    return upload_object(upload, None)


@router.post("/uploads/{upload_id}/parts")
async def add_upload_part(request: Request, upload_id: str, project: str = Depends(project)) -> Any:
    service = _service(request)
    upload = await service.pending_upload(project, upload_id)
    form = await read_form(request, blobs=service.blobs, file_field="data", limit=MAX_PART_BYTES)
    try:
        form.only_fields(set())
        if form.file is None:
            raise InvalidRequest("Missing required parameter: 'data'.", param="data")
        part = await service.add_part(upload, form.file)
    except BaseException:
        form.discard()
        raise
    return {"id": part.id, "object": "upload.part", "created_at": part.created_at, "upload_id": upload.id}


@router.post("/uploads/{upload_id}/complete")
async def complete_upload(request: Request, upload_id: str, project: str = Depends(project)) -> Any:
    params = await read_json(request, CompleteUploadParams)
    service = _service(request)
    upload = await service.pending_upload(project, upload_id)
    completed, file = await service.complete_upload(upload, params.part_ids, params.md5)
    return upload_object(completed, file)


@router.post("/uploads/{upload_id}/cancel")
async def cancel_upload(request: Request, upload_id: str, project: str = Depends(project)) -> Any:
    service = _service(request)
    upload = await service.pending_upload(project, upload_id)
    return upload_object(await service.cancel_upload(upload), None)
