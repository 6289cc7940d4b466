"""Vector stores: create, read, update, delete; attach files (alone or in batches); search.

The rows say what a store holds; the index holds the chunks. Attaching only records `in_progress` rows and wakes
the ingestion worker, so a request never waits for embedding.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from anyio import to_thread

from homeport.errors import InvalidRequest, NotFound
from homeport.files.service import FileService
from homeport.ids import new_id
from homeport.retrieval.filters import parse_filter, validate_attributes
from homeport.retrieval.index import VectorIndex
from homeport.retrieval.ingestion import Ingestor
from homeport.retrieval.params import (
    AutoChunking,
    CreateFileBatchParams,
    CreateVectorStoreParams,
    SearchParams,
    StaticChunking,
    UpdateVectorStoreParams,
    chunk_sizes,
)
from homeport.retrieval.search import Searcher, SearchResult, rewrite_query
from homeport.store.vector_stores import (
    FileTally,
    StoredBatch,
    StoredVectorStore,
    StoredVectorStoreFile,
    VectorStoreRepository,
)

DAY = 86400


def new_vector_store_id() -> str:
    """`vs_` + 32 hex, as OpenAI's (the first 8 are the creation time)."""
    return new_id("vs")[:35]


def expires_at(store: StoredVectorStore) -> int | None:
    if store.expires_after_days is None:
        return None
    return store.last_active_at + store.expires_after_days * DAY


def is_expired(store: StoredVectorStore) -> bool:
    deadline = expires_at(store)
    return deadline is not None and deadline <= time.time()


def vector_store_object(store: StoredVectorStore, tally: FileTally) -> dict[str, Any]:
    """The wire `VectorStore`."""
    counts = tally.counts
    status = "expired" if is_expired(store) else "in_progress" if counts["in_progress"] else "completed"
    return {
        "id": store.id,
        "object": "vector_store",
        "created_at": store.created_at,
        "name": store.name,
        "usage_bytes": tally.usage_bytes,
        "file_counts": {**counts, "total": sum(counts.values())},
        "status": status,
        "expires_after": None
        if store.expires_after_days is None
        else {"anchor": "last_active_at", "days": store.expires_after_days},
        "expires_at": expires_at(store),
        "last_active_at": store.last_active_at,
        "metadata": store.metadata,
    }


def vector_store_file_object(file: StoredVectorStoreFile) -> dict[str, Any]:
    """The wire `VectorStoreFile`; its id is the file's id, as in OpenAI's API."""
    return {
        "id": file.file_id,
        "object": "vector_store.file",
        "created_at": file.created_at,
        "vector_store_id": file.vector_store_id,
        "status": file.status,
        "last_error": file.last_error,
        "usage_bytes": file.usage_bytes,
        "attributes": file.attributes,
        "chunking_strategy": {
            "type": "static",
            "static": {
                "max_chunk_size_tokens": file.max_chunk_size_tokens,
                "chunk_overlap_tokens": file.chunk_overlap_tokens,
            },
        },
    }


def batch_object(batch: StoredBatch, tally: FileTally) -> dict[str, Any]:
    counts = tally.counts
    if batch.cancelled:
        status = "cancelled"
    elif counts["in_progress"]:
        status = "in_progress"
    elif counts["failed"] and not counts["completed"]:
        status = "failed"
    else:
        status = "completed"
    return {
        "id": batch.id,
        "object": "vector_store.files_batch",
        "created_at": batch.created_at,
        "vector_store_id": batch.vector_store_id,
        "status": status,
        "file_counts": {**counts, "total": sum(counts.values())},
    }


class VectorStoreService:
    def __init__(
        self,
        repository: VectorStoreRepository,
        files: FileService,
        index: VectorIndex,
        ingestor: Ingestor,
        searcher: Searcher,
    ) -> None:
        self._stores = repository
        self._files = files
        self._index = index
        self._ingestor = ingestor
        self.searcher = searcher
        files.before_delete.append(self.forget_file)

    async def create(self, project: str, params: CreateVectorStoreParams) -> dict[str, Any]:
        now = int(time.time())
        store = StoredVectorStore(
            id=new_vector_store_id(),
            project=project,
            created_at=now,
            name=params.name,
            description=params.description,
            metadata=params.metadata or {},
            expires_after_days=None if params.expires_after is None else params.expires_after.days,
            last_active_at=now,
        )
        files = await self._new_files(
            project, store.id, [(file_id, None, params.chunking_strategy) for file_id in params.file_ids], None
        )
        await self._stores.add(store, files)
        self._ingestor.wake()
        return await self.wire(store)

    async def get(self, project: str, vector_store_id: str, param: str = "vector_store_id") -> StoredVectorStore:
        store = await self._stores.get(project, vector_store_id)
        if store is None:
            raise NotFound(f"No vector store found with id '{vector_store_id}'.", param=param)
        return store

    async def wire(self, store: StoredVectorStore) -> dict[str, Any]:
        tallies = await self._stores.tallies([store.id])
        return vector_store_object(store, tallies[store.id])

    async def in_project(self, project: str) -> list[dict[str, Any]]:
        stores = await self._stores.in_project(project)
        tallies = await self._stores.tallies([store.id for store in stores])
        return [vector_store_object(store, tallies[store.id]) for store in stores]

    async def update(self, project: str, vector_store_id: str, params: UpdateVectorStoreParams) -> dict[str, Any]:
        store = await self.get(project, vector_store_id)
        fields = params.model_fields_set
        if "name" in fields and params.name is not None:
            store.name = params.name
        if "metadata" in fields:
            store.metadata = params.metadata or {}
        if "expires_after" in fields:
            store.expires_after_days = None if params.expires_after is None else params.expires_after.days
        await self._stores.save(store)
        return await self.wire(store)

    async def delete(self, project: str, vector_store_id: str) -> None:
        store = await self.get(project, vector_store_id)
        await self._stores.delete(store.id)
        await to_thread.run_sync(self._index.remove_store, store.id)

    async def attach(
        self,
        project: str,
        vector_store_id: str,
        file_id: str,
        attributes: dict[str, Any] | None,
        chunking: AutoChunking | StaticChunking | None,
    ) -> dict[str, Any]:
        store = await self.usable(project, vector_store_id)
        files = await self._new_files(project, store.id, [(file_id, attributes, chunking)], None)
        await self._stores.put_files(files)
        self._ingestor.wake()
        return vector_store_file_object(files[0])

    async def attach_batch(self, project: str, vector_store_id: str, params: CreateFileBatchParams) -> dict[str, Any]:
        store = await self.usable(project, vector_store_id)
        if params.files is not None:
            entries = [(file.file_id, file.attributes, file.chunking_strategy) for file in params.files]
        else:
            entries = [(file_id, params.attributes, params.chunking_strategy) for file_id in params.file_ids or []]
        batch = StoredBatch(new_id("vsfb"), store.id, int(time.time()), cancelled=False)
        files = await self._new_files(project, store.id, entries, batch.id)
        await self._stores.put_files(files, batch)
        self._ingestor.wake()
        return await self.batch(project, store.id, batch.id)

    async def batch(self, project: str, vector_store_id: str, batch_id: str) -> dict[str, Any]:
        found = await self._batch(project, vector_store_id, batch_id)
        tallies = await self._stores.tallies([vector_store_id], batch_id=batch_id)
        return batch_object(found, tallies[vector_store_id])

    async def cancel_batch(self, project: str, vector_store_id: str, batch_id: str) -> dict[str, Any]:
        found = await self._batch(project, vector_store_id, batch_id)
        await self._stores.cancel_batch(found)
        return await self.batch(project, vector_store_id, batch_id)

    async def files(
        self, project: str, vector_store_id: str, status: str | None, batch_id: str | None = None
    ) -> list[dict[str, Any]]:
        store = await self.get(project, vector_store_id)
        if batch_id is not None:
            await self._batch(project, vector_store_id, batch_id)
        return [
            vector_store_file_object(file)
            for file in await self._stores.files([store.id], status=status, batch_id=batch_id)
        ]

    async def file(self, project: str, vector_store_id: str, file_id: str) -> StoredVectorStoreFile:
        store = await self.get(project, vector_store_id)
        file = await self._stores.file(store.id, file_id)
        if file is None:
            raise NotFound(f"No file found with id '{file_id}' in vector store '{vector_store_id}'.", param="file_id")
        return file

    async def set_attributes(
        self, project: str, vector_store_id: str, file_id: str, attributes: dict[str, Any] | None
    ) -> dict[str, Any]:
        file = await self.file(project, vector_store_id, file_id)
        checked = validate_attributes(attributes or {}, param="attributes")
        await self._stores.set_attributes(vector_store_id, file_id, checked)
        return vector_store_file_object(replace(file, attributes=checked))

    async def detach(self, project: str, vector_store_id: str, file_id: str) -> None:
        file = await self.file(project, vector_store_id, file_id)
        await self._stores.remove_file(file.vector_store_id, file.file_id)
        await to_thread.run_sync(self._index.remove_file, file.vector_store_id, file.file_id)

    async def chunks(self, project: str, vector_store_id: str, file_id: str) -> list[str]:
        file = await self.file(project, vector_store_id, file_id)
        return await to_thread.run_sync(self._index.file_chunks, file.vector_store_id, file.file_id)

    async def forget_file(self, project: str, file_id: str) -> None:
        """A file is being deleted: take it out of every vector store of its project."""
        for vector_store_id in await self._stores.holding(file_id):
            if await self._stores.get(project, vector_store_id) is not None:
                await self._stores.remove_file(vector_store_id, file_id)
                await to_thread.run_sync(self._index.remove_file, vector_store_id, file_id)

    async def usable(self, project: str, vector_store_id: str, param: str = "vector_store_id") -> StoredVectorStore:
        store = await self.get(project, vector_store_id, param)
        if is_expired(store):
            raise InvalidRequest(f"Vector store {vector_store_id} has expired.", param=param)
        return store

    async def search(
        self, project: str, vector_store_id: str, params: SearchParams
    ) -> tuple[list[str], list[SearchResult]]:
        store = await self.usable(project, vector_store_id)
        queries = [params.query] if isinstance(params.query, str) else list(params.query)
        queries = [query for query in queries if query.strip()]
        if params.rewrite_query:
            queries = [rewrite_query(query) for query in queries]
        ranking = params.ranking_options
        results = await self.searcher.search(
            project,
            [store.id],
            queries,
            limit=params.max_num_results,
            filter=None if params.filters is None else parse_filter(params.filters, param="filters"),
            ranker=ranking.ranker if ranking else "auto",
            score_threshold=ranking.score_threshold if ranking else 0.0,
        )
        await self.touch([store.id])
        return queries, results

    async def touch(self, vector_store_ids: Sequence[str]) -> None:
        await self._stores.touch(vector_store_ids, int(time.time()))

    async def _batch(self, project: str, vector_store_id: str, batch_id: str) -> StoredBatch:
        await self.get(project, vector_store_id)
        found = await self._stores.batch(vector_store_id, batch_id)
        if found is None:
            raise NotFound(f"No file batch found with id '{batch_id}'.", param="batch_id")
        return found

    async def _new_files(
        self,
        project: str,
        vector_store_id: str,
        entries: Sequence[tuple[str, dict[str, Any] | None, AutoChunking | StaticChunking | None]],
        batch_id: str | None,
    ) -> list[StoredVectorStoreFile]:
        """Rows for files about to be attached; every file must exist in the project."""
        now = int(time.time())
        known = await self._files.known(project, [file_id for file_id, _, _ in entries])
        rows = []
        for index, (file_id, attributes, chunking) in enumerate(entries):
            param = "file_id" if len(entries) == 1 else f"file_ids[{index}]"
            if file_id not in known:
                raise NotFound(f"No such File object: {file_id}", param=param)
            max_tokens, overlap = chunk_sizes(chunking)
            rows.append(
                StoredVectorStoreFile(
                    vector_store_id=vector_store_id,
                    file_id=file_id,
                    created_at=now,
                    status="in_progress",
                    attributes=validate_attributes(attributes or {}, param="attributes"),
                    max_chunk_size_tokens=max_tokens,
                    chunk_overlap_tokens=overlap,
                    batch_id=batch_id,
                )
            )
        return rows
