"""Stored files and multi-part uploads: the only code that reads or writes those tables.

Only metadata lives here; the bytes are on disk (`homeport.files.BlobStore`), written before the row that
points at them, so a row never names bytes that are not there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select, update

from homeport.store.database import Database
from homeport.store.tables import FileRow, UploadPartRow, UploadRow


@dataclass(frozen=True)
class StoredFile:
    id: str
    project: str
    created_at: int
    filename: str
    purpose: str
    bytes: int
    expires_at: int | None


@dataclass(frozen=True)
class StoredUpload:
    id: str
    project: str
    created_at: int
    expires_at: int
    filename: str
    purpose: str
    mime_type: str
    bytes: int
    status: str
    file_expires_after: int | None
    file_id: str | None


@dataclass(frozen=True)
class StoredPart:
    id: str
    upload_id: str
    created_at: int
    bytes: int


class FileRepository:
    def __init__(self, database: Database) -> None:
        self._sessions = database.sessions

    async def add(self, file: StoredFile) -> None:
        async with self._sessions.begin() as session:
            session.add(_file_row(file))

    async def get(self, project: str, file_id: str) -> StoredFile | None:
        async with self._sessions() as session:
            row = await session.scalar(select(FileRow).where(FileRow.id == file_id, FileRow.project == project))
        return None if row is None else _stored_file(row)

    async def get_many(self, project: str, file_ids: Sequence[str]) -> dict[str, StoredFile]:
        async with self._sessions() as session:
            rows = await session.scalars(select(FileRow).where(FileRow.id.in_(file_ids), FileRow.project == project))
            return {row.id: _stored_file(row) for row in rows}

    async def in_project(self, project: str, purpose: str | None) -> list[StoredFile]:
        """Every file of the project, oldest first."""
        query = select(FileRow).where(FileRow.project == project).order_by(FileRow.position)
        if purpose is not None:
            query = query.where(FileRow.purpose == purpose)
        async with self._sessions() as session:
            return [_stored_file(row) for row in await session.scalars(query)]

    async def delete(self, project: str, file_id: str) -> bool:
        async with self._sessions.begin() as session:
            result = await session.execute(delete(FileRow).where(FileRow.id == file_id, FileRow.project == project))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def expired(self, now: int) -> list[StoredFile]:
        async with self._sessions() as session:
            rows = await session.scalars(select(FileRow).where(FileRow.expires_at <= now))
            return [_stored_file(row) for row in rows]

    async def add_upload(self, upload: StoredUpload) -> None:
        async with self._sessions.begin() as session:
            session.add(UploadRow(**vars(upload)))

    async def get_upload(self, project: str, upload_id: str) -> StoredUpload | None:
        async with self._sessions() as session:
            row = await session.scalar(select(UploadRow).where(UploadRow.id == upload_id, UploadRow.project == project))
        return None if row is None else _stored_upload(row)

    async def add_part(self, part: StoredPart) -> None:
        async with self._sessions.begin() as session:
            session.add(UploadPartRow(**vars(part)))

    async def parts(self, upload_id: str) -> dict[str, StoredPart]:
        async with self._sessions() as session:
            rows = await session.scalars(select(UploadPartRow).where(UploadPartRow.upload_id == upload_id))
            return {row.id: StoredPart(row.id, row.upload_id, row.created_at, row.bytes) for row in rows}

    async def finish_upload(self, upload: StoredUpload, file: StoredFile | None) -> None:
        """Mark an upload completed (with the file it became) or cancelled, and forget its parts: one transaction."""
        async with self._sessions.begin() as session:
            if file is not None:
                session.add(_file_row(file))
            await session.execute(delete(UploadPartRow).where(UploadPartRow.upload_id == upload.id))
            await session.execute(
                update(UploadRow)
                .where(UploadRow.id == upload.id)
                .values(status=upload.status, file_id=None if file is None else file.id)
            )

    async def stale_uploads(self, now: int) -> list[StoredUpload]:
        async with self._sessions() as session:
            rows = await session.scalars(
                select(UploadRow).where(UploadRow.status == "pending", UploadRow.expires_at <= now)
            )
            return [_stored_upload(row) for row in rows]


def _file_row(file: StoredFile) -> FileRow:
    return FileRow(**vars(file))


def _stored_file(row: FileRow) -> StoredFile:
    return StoredFile(row.id, row.project, row.created_at, row.filename, row.purpose, row.bytes, row.expires_at)


def _stored_upload(row: UploadRow) -> StoredUpload:
    return StoredUpload(
        row.id,
        row.project,
        row.created_at,
        row.expires_at,
        row.filename,
        row.purpose,
        row.mime_type,
        row.bytes,
        row.status,
        row.file_expires_after,
        row.file_id,
    )
