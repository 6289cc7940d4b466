"""HTTP: one module per OpenAI resource. Parsing, auth, pagination, SSE framing and errors; no behaviour."""

from fastapi import APIRouter

from homeport.api import (
    batches,
    chat,
    completions,
    containers,
    conversations,
    embeddings,
    errors,
    files,
    models,
    responses,
    vector_stores,
    webhook_endpoints,
)
from homeport.api.auth import KeyRing

__all__ = ["KeyRing", "install_errors", "router"]

router = APIRouter(prefix="/v1")
router.include_router(models.router)
router.include_router(responses.router)
router.include_router(conversations.router)
router.include_router(chat.router)
router.include_router(completions.router)
router.include_router(embeddings.router)
router.include_router(files.router)
router.include_router(vector_stores.router)
router.include_router(containers.router)
router.include_router(batches.router)
router.include_router(webhook_endpoints.router)

install_errors = errors.install
