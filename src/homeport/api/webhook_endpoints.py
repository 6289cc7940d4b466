"""HTTP for /v1/webhook_endpoints: a project's own endpoints. The behaviour lives in
`jobs.webhook_endpoints.WebhookEndpoints`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from homeport.api.auth import project
from homeport.api.body import read_json
from homeport.api.pagination import Page
from homeport.errors import InvalidRequest
from homeport.jobs.webhook_endpoints import WebhookEndpoints, endpoint_object

router = APIRouter()
_STRICT = ConfigDict(extra="forbid", strict=True)


class CreateEndpointParams(BaseModel):
    model_config = _STRICT
    name: str = Field(max_length=256)
    url: str = Field(max_length=2048)
    event_types: list[str]


class UpdateEndpointParams(BaseModel):
    model_config = _STRICT
    name: str | None = Field(None, max_length=256)
    url: str | None = Field(None, max_length=2048)
    event_types: list[str] | None = None


class RotateSecretParams(BaseModel):
    model_config = _STRICT
    keep_old_secret_active_for_24_hours: bool | None = None


class TestParams(BaseModel):
    model_config = _STRICT
    event_type: str


def _service(request: Request) -> WebhookEndpoints:
    service: WebhookEndpoints = request.app.state.webhook_endpoints
    return service


@router.post("/webhook_endpoints")
async def create_endpoint(request: Request, project: str = Depends(project)) -> Any:
    params = await read_json(request, CreateEndpointParams)
    return await _service(request).create(project, params.name, params.url, params.event_types)


@router.get("/webhook_endpoints")
async def list_endpoints(request: Request, page: Page = Depends(), project: str = Depends(project)) -> Any:
    return page.envelope(await _service(request).in_project(project))


@router.get("/webhook_endpoints/{endpoint_id}")
async def retrieve_endpoint(request: Request, endpoint_id: str, project: str = Depends(project)) -> Any:
    return endpoint_object(await _service(request).get(project, endpoint_id))


@router.post("/webhook_endpoints/{endpoint_id}")
async def update_endpoint(request: Request, endpoint_id: str, project: str = Depends(project)) -> Any:
    params = await read_json(request, UpdateEndpointParams)
    return await _service(request).update(
        project, endpoint_id, name=params.name, url=params.url, event_types=params.event_types
    )


@router.delete("/webhook_endpoints/{endpoint_id}")
async def delete_endpoint(request: Request, endpoint_id: str, project: str = Depends(project)) -> Any:
    return await _service(request).delete(project, endpoint_id)


@router.post("/webhook_endpoints/{endpoint_id}/rotate_secret")
async def rotate_secret(request: Request, endpoint_id: str, project: str = Depends(project)) -> Any:
    params = await read_json(request, RotateSecretParams)
    if params.keep_old_secret_active_for_24_hours:
        raise InvalidRequest(
            "Keeping the old secret active is not supported: the new secret replaces it at once.",
            param="keep_old_secret_active_for_24_hours",
        )
    return await _service(request).rotate_secret(project, endpoint_id)


@router.post("/webhook_endpoints/{endpoint_id}/test")
async def test_endpoint(request: Request, endpoint_id: str, project: str = Depends(project)) -> Any:
    params = await read_json(request, TestParams)
    return await _service(request).test(project, endpoint_id, params.event_type)
