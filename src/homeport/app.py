"""The composition root: builds the app outside-in and owns every long-lived resource through the lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from fastapi import FastAPI

from homeport.api import KeyRing, install_errors, router
from homeport.api.internal import call
from homeport.config import Settings
from homeport.engines import LlamaCppEngine, ModelCatalog, Progress, resolve_model
from homeport.files.blobs import BlobStore
from homeport.files.remote import FetchPolicy
from homeport.files.service import FileService
from homeport.jobs.sweeper import Sweeper
from homeport.jobs.webhook_endpoints import WebhookEndpoints
from homeport.jobs.webhooks import Webhooks
from homeport.jobs.workers import Handler, WorkerPool
from homeport.outbound import OutboundPolicy
from homeport.responses import (
    ChatCompletionService,
    CompletionService,
    ConversationService,
    PromptLibrary,
    ResponseService,
)
from homeport.responses.background import BackgroundResponses
from homeport.responses.batches import BatchService
from homeport.retrieval import Embedder
from homeport.retrieval.index import VectorIndex
from homeport.retrieval.ingestion import Ingestor
from homeport.retrieval.search import Searcher
from homeport.retrieval.vector_stores import VectorStoreService
from homeport.sandbox.containers import ContainerService
from homeport.store import (
    ChatCompletionRepository,
    ContainerRepository,
    ConversationRepository,
    Database,
    FileRepository,
    ResponseRepository,
    VectorStoreRepository,
)
from homeport.store.batches import BatchRepository
from homeport.store.jobs import EventLog, JobRepository
from homeport.store.webhooks import WebhookRepository
from homeport.tools.search_providers import Searxng

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
        app.state.completions = CompletionService(catalog)
        # The embedding model shares the cores with the engine, so it takes the same thread budget.
        embedder = Embedder.packaged(threads=settings.threads)
        app.state.embedder = embedder
        blobs = BlobStore(settings.data_dir / "files")
        outbound = OutboundPolicy.parse(settings.outbound_allow)
        remote = FetchPolicy(settings.fetch_file_urls, outbound, max_bytes=settings.max_file_bytes)
        files = FileService(FileRepository(database), blobs, max_bytes=settings.max_file_bytes, remote=remote)
        app.state.files = files
        index = VectorIndex(settings.data_dir / "vectors.db", embedder.dimensions)
        vector_store_rows = VectorStoreRepository(database)
        ingestor = Ingestor(vector_store_rows, blobs, index, embedder)
        searcher = Searcher(vector_store_rows, FileRepository(database), index, embedder)
        vector_stores = VectorStoreService(vector_store_rows, files, index, ingestor, searcher)
        app.state.vector_stores = vector_stores
        containers = ContainerService(ContainerRepository(database), files, settings.data_dir / "containers")
        app.state.containers = containers
        responses = ResponseService(
            catalog, ResponseRepository(database), conversations, prompts, files, vector_stores, containers,
            outbound=outbound, connectors=settings.mcp_connectors, mcp_timeout=settings.mcp_timeout,
            search=Searxng(settings.searxng_url, outbound) if settings.searxng_url else None,
        )  # fmt: skip
        app.state.responses = responses
        jobs = JobRepository(database)
        webhooks = Webhooks(
            WebhookRepository(database), outbound, retry_base=settings.webhook_retry_base_seconds,
            retry_window=settings.webhook_retry_hours * 3600,
        )  # fmt: skip
        app.state.webhook_endpoints = WebhookEndpoints(WebhookRepository(database), webhooks)
        background = BackgroundResponses(responses, ResponseRepository(database), jobs, EventLog(database), webhooks)
        app.state.background = background
        batches = BatchService(
            BatchRepository(database), files, jobs, partial(call, app), webhooks,
            max_request_bytes=settings.max_request_bytes,
        )  # fmt: skip
        app.state.batches = batches
        handlers: dict[str, Handler] = {"response": background, "batch": batches}
        workers = WorkerPool(jobs, handlers, size=settings.background_workers, lease=settings.job_lease_seconds)
        background.attach(workers)
        batches.attach(workers)
        app.state.chat_completions = ChatCompletionService(catalog, ChatCompletionRepository(database), files)
        ingestor.loop.start()
        sweeper = Sweeper(files, containers)
        sweeper.loop.start()
        workers.loop.start()
        webhooks.loop.start()
        log.info("Homeport is ready at http://%s:%d/v1 serving %s", settings.host, settings.port, engine.model_id)
        try:
            yield
        finally:
            await workers.stop()
            await webhooks.loop.stop()
            await sweeper.loop.stop()
            await ingestor.loop.stop()
            await containers.close()
            index.close()
            await database.close()
            engine.close()

    app = FastAPI(title="Homeport", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    install_errors(app)
    app.include_router(router)
    return app
