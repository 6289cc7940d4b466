"""Vector stores, the files attached to them and file batches: the only code that reads or writes those tables.

The chunks and vectors themselves live in the retrieval index; these rows say which files a store holds and how
far each one's ingestion got. A file's status only leaves `in_progress` through `finish_file`, which refuses to
overwrite a cancellation, so a worker finishing late cannot undo a cancel.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, select, update

from homeport.store.database import Database
from homeport.store.tables import FileRow, VectorStoreFileBatchRow, VectorStoreFileRow, VectorStoreRow

STATUSES = ("in_progress", "completed", "failed", "cancelled")


@dataclass
class StoredVectorStore:
    id: str
    project: str
    created_at: int
    name: str
    description: str | None
    metadata: dict[str, str]
    expires_after_days: int | None
    last_active_at: int


@dataclass
class StoredVectorStoreFile:
    vector_store_id: str
    file_id: str
    created_at: int
    status: str
    attributes: dict[str, Any]
    max_chunk_size_tokens: int
    chunk_overlap_tokens: int
    batch_id: str | None = None
    last_error: dict[str, str] | None = None
    usage_bytes: int = 0


@dataclass(frozen=True)
class PendingFile:
    file: StoredVectorStoreFile
    filename: str


@dataclass(frozen=True)
class StoredBatch:
    id: str
    vector_store_id: str
    created_at: int
    cancelled: bool


@dataclass
class FileTally:
    """How many files are in each status, and the bytes the completed ones use."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATUSES, 0))
    usage_bytes: int = 0


class VectorStoreRepository:
    def __init__(self, database: Database) -> None:
        self._sessions = database.sessions

    async def add(self, store: StoredVectorStore, files: Sequence[StoredVectorStoreFile]) -> None:
        async with self._sessions.begin() as session:
            session.add(VectorStoreRow(**_store_columns(store)))
            await session.flush()
            session.add_all(VectorStoreFileRow(**vars(file)) for file in files)

    async def get(self, project: str, vector_store_id: str) -> StoredVectorStore | None:
        async with self._sessions() as session:
            row = await session.scalar(
                select(VectorStoreRow).where(VectorStoreRow.id == vector_store_id, VectorStoreRow.project == project)
            )
        return None if row is None else _stored_store(row)

    async def in_project(self, project: str) -> list[StoredVectorStore]:
        """Every vector store of the project, oldest first."""
        async with self._sessions() as session:
            rows = await session.scalars(
                select(VectorStoreRow).where(VectorStoreRow.project == project).order_by(VectorStoreRow.position)
            )
            return [_stored_store(row) for row in rows]

    async def save(self, store: StoredVectorStore) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                update(VectorStoreRow).where(VectorStoreRow.id == store.id).values(**_store_columns(store))
            )

    async def touch(self, vector_store_ids: Sequence[str], now: int) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                update(VectorStoreRow).where(VectorStoreRow.id.in_(vector_store_ids)).values(last_active_at=now)
            )

    async def delete(self, vector_store_id: str) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                delete(VectorStoreFileRow).where(VectorStoreFileRow.vector_store_id == vector_store_id)
            )
            await session.execute(
                delete(VectorStoreFileBatchRow).where(VectorStoreFileBatchRow.vector_store_id == vector_store_id)
            )
            await session.execute(delete(VectorStoreRow).where(VectorStoreRow.id == vector_store_id))

    async def tallies(self, vector_store_ids: Sequence[str], batch_id: str | None = None) -> dict[str, FileTally]:
        query = (
            select(
                VectorStoreFileRow.vector_store_id,
                VectorStoreFileRow.status,
                func.count(),
                func.coalesce(func.sum(VectorStoreFileRow.usage_bytes), 0),
            )
            .where(VectorStoreFileRow.vector_store_id.in_(vector_store_ids))
            .group_by(VectorStoreFileRow.vector_store_id, VectorStoreFileRow.status)
        )
        if batch_id is not None:
            query = query.where(VectorStoreFileRow.batch_id == batch_id)
        tallies = {store_id: FileTally() for store_id in vector_store_ids}
        async with self._sessions() as session:
            for store_id, status, count, usage in await session.execute(query):
                tallies[store_id].counts[status] = count
                tallies[store_id].usage_bytes += int(usage)
        return tallies

    async def put_files(self, files: Sequence[StoredVectorStoreFile], batch: StoredBatch | None = None) -> None:
        """Attach files (re-attaching one starts its ingestion over), with their batch, in one transaction."""
        async with self._sessions.begin() as session:
            for file in files:
                await session.execute(
                    delete(VectorStoreFileRow).where(
                        VectorStoreFileRow.vector_store_id == file.vector_store_id,
                        VectorStoreFileRow.file_id == file.file_id,
                    )
                )
            if batch is not None:
                session.add(VectorStoreFileBatchRow(**vars(batch)))
            await session.flush()
            session.add_all(VectorStoreFileRow(**vars(file)) for file in files)

    async def file(self, vector_store_id: str, file_id: str) -> StoredVectorStoreFile | None:
        async with self._sessions() as session:
            row = await session.scalar(
                select(VectorStoreFileRow).where(
                    VectorStoreFileRow.vector_store_id == vector_store_id, VectorStoreFileRow.file_id == file_id
                )
            )
        return None if row is None else _stored_file(row)

    async def files(
        self, vector_store_ids: Sequence[str], *, status: str | None = None, batch_id: str | None = None
    ) -> list[StoredVectorStoreFile]:
        """The files of some stores, oldest first."""
        query = (
            select(VectorStoreFileRow)
            .where(VectorStoreFileRow.vector_store_id.in_(vector_store_ids))
            .order_by(VectorStoreFileRow.position)
        )
        if status is not None:
            query = query.where(VectorStoreFileRow.status == status)
        if batch_id is not None:
            query = query.where(VectorStoreFileRow.batch_id == batch_id)
        async with self._sessions() as session:
            return [_stored_file(row) for row in await session.scalars(query)]

    async def pending(self) -> list[PendingFile]:
        """Every file still waiting for ingestion, in every project, oldest first (for the worker)."""
        async with self._sessions() as session:
            rows = await session.execute(
                select(VectorStoreFileRow, FileRow.filename)
                .outerjoin(FileRow, FileRow.id == VectorStoreFileRow.file_id)
                .where(VectorStoreFileRow.status == "in_progress")
                .order_by(VectorStoreFileRow.position)
            )
            return [PendingFile(_stored_file(row), filename or "") for row, filename in rows]

    async def holding(self, file_id: str) -> list[str]:
        """The ids of the vector stores a file is attached to."""
        async with self._sessions() as session:
            found = await session.scalars(
                select(VectorStoreFileRow.vector_store_id).where(VectorStoreFileRow.file_id == file_id)
            )
            return list(found)

    async def finish_file(self, file: StoredVectorStoreFile) -> bool:
        """Record the end of a file's ingestion; False (nothing written) if it was cancelled or removed meanwhile."""
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(VectorStoreFileRow)
                .where(
                    VectorStoreFileRow.vector_store_id == file.vector_store_id,
                    VectorStoreFileRow.file_id == file.file_id,
                    VectorStoreFileRow.status == "in_progress",
                )
                .values(status=file.status, last_error=file.last_error, usage_bytes=file.usage_bytes)
            )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def set_attributes(self, vector_store_id: str, file_id: str, attributes: dict[str, Any]) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                update(VectorStoreFileRow)
                .where(VectorStoreFileRow.vector_store_id == vector_store_id, VectorStoreFileRow.file_id == file_id)
                .values(attributes=attributes)
            )

    async def remove_file(self, vector_store_id: str, file_id: str) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                delete(VectorStoreFileRow).where(
                    VectorStoreFileRow.vector_store_id == vector_store_id, VectorStoreFileRow.file_id == file_id
                )
            )

    async def batch(self, vector_store_id: str, batch_id: str) -> StoredBatch | None:
        async with self._sessions() as session:
            row = await session.scalar(
                select(VectorStoreFileBatchRow).where(
                    VectorStoreFileBatchRow.id == batch_id, VectorStoreFileBatchRow.vector_store_id == vector_store_id
                )
            )
        return None if row is None else StoredBatch(row.id, row.vector_store_id, row.created_at, row.cancelled)

    async def cancel_batch(self, batch: StoredBatch) -> None:
        """Mark the batch cancelled and its unfinished files with it, in one transaction."""
        async with self._sessions.begin() as session:
            await session.execute(
                update(VectorStoreFileBatchRow).where(VectorStoreFileBatchRow.id == batch.id).values(cancelled=True)
            )
            await session.execute(
                update(VectorStoreFileRow)
                .where(VectorStoreFileRow.batch_id == batch.id, VectorStoreFileRow.status == "in_progress")
                .values(status="cancelled")
            )


def _store_columns(store: StoredVectorStore) -> dict[str, Any]:
    columns = vars(store).copy()
    columns["metadata_"] = columns.pop("metadata")
    return columns


def _stored_store(row: VectorStoreRow) -> StoredVectorStore:
    return StoredVectorStore(
        row.id,
        row.project,
        row.created_at,
        row.name,
        row.description,
        row.metadata_,
        row.expires_after_days,
        row.last_active_at,
    )


def _stored_file(row: VectorStoreFileRow) -> StoredVectorStoreFile:
    return StoredVectorStoreFile(
        vector_store_id=row.vector_store_id,
        file_id=row.file_id,
        created_at=row.created_at,
        status=row.status,
        attributes=row.attributes,
        max_chunk_size_tokens=row.max_chunk_size_tokens,
        chunk_overlap_tokens=row.chunk_overlap_tokens,
        batch_id=row.batch_id,
        last_error=row.last_error,
        usage_bytes=row.usage_bytes,
    )
