"""The composition root: builds the app outside-in and owns every long-lived resource through the lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from homeport.api import KeyRing, install_errors, router
from homeport.config import Settings
from homeport.engines import LlamaCppEngine, ModelCatalog, Progress, resolve_model
from homeport.files.blobs import BlobStore
from homeport.files.service import FileService
from homeport.responses import (
    ChatCompletionService,
    CompletionService,
    ConversationService,
    PromptLibrary,
    ResponseService,
)
from homeport.store import (
    ChatCompletionRepository,
    ConversationRepository,
    Database,
    FileRepository,
    ResponseRepository,
)

log = logging.getLogger("homeport")


def create_app(settings: Settings, progress: Progress | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        model_file = resolve_model(settings.model, settings.data_dir, progress)
        log.info("loading %s from %s", model_file.name, model_file.path)
        engine = LlamaCppEngine(model_file, context_size=settings.context_size, threads=settings.threads)
        database = await Database.open(settings.resolved_database_url)
        catalog = ModelCatalog(engine, settings.aliases)
        app.state.settings = settings
        app.state.keys = KeyRing(settings.api_keys)
        app.state.catalog = catalog
        conversations = ConversationService(ConversationRepository(database), accepts_images=engine.accepts_images)
        app.state.conversations = conversations
        prompts = PromptLibrary(settings.resolved_prompts_dir)
        app.state.responses = ResponseService(catalog, ResponseRepository(database), conversations, prompts)
        app.state.chat_completions = ChatCompletionService(catalog, ChatCompletionRepository(database))
        app.state.completions = CompletionService(catalog)
        app.state.files = FileService(
            FileRepository(database), BlobStore(settings.data_dir / "files"), max_bytes=settings.max_file_bytes
        )
        log.info("Homeport is ready at http://%s:%d/v1 serving %s", settings.host, settings.port, engine.model_id)
        try:
            yield
        finally:
            await database.close()
            engine.close()

    app = FastAPI(title="Homeport", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    install_errors(app)
    app.include_router(router)
    return app
