"""HTTP for /v1/models: the served model and the names it answers to."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from homeport.api.auth import project
from homeport.engines import ModelCatalog

router = APIRouter(dependencies=[Depends(project)])


def _model(catalog: ModelCatalog, name: str) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": catalog.created, "owned_by": "homeport"}


@router.get("/models")
async def list_models(request: Request) -> Any:
    catalog: ModelCatalog = request.app.state.catalog
    return {"object": "list", "data": [_model(catalog, name) for name in catalog.names]}


@router.get("/models/{model_id:path}")
async def retrieve_model(request: Request, model_id: str) -> Any:
    catalog: ModelCatalog = request.app.state.catalog
    catalog.resolve(model_id)
    return _model(catalog, model_id)
