"""Containers and their files: the only code that reads or writes those tables.

The rows are the containers' metadata and the index of their files; the bytes are in each container's directory
under the data dir, and the running process is memory the sandbox owns. An expired container keeps its row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select, update

from homeport.store.database import Database
from homeport.store.tables import ContainerFileRow, ContainerRow


@dataclass
class StoredContainer:
    id: str
    project: str
    created_at: int
    name: str
    status: str
    expires_after_minutes: int
    last_active_at: int
    memory_limit: str


@dataclass(frozen=True)
class StoredContainerFile:
    id: str
    container_id: str
    created_at: int
    path: str
    bytes: int
    source: str


class ContainerRepository:
    def __init__(self, database: Database) -> None:
        self._sessions = database.sessions

    async def add(self, container: StoredContainer) -> None:
        async with self._sessions.begin() as session:
            session.add(ContainerRow(**vars(container)))

    async def get(self, project: str, container_id: str) -> StoredContainer | None:
        async with self._sessions() as session:
            row = await session.scalar(
                select(ContainerRow).where(ContainerRow.id == container_id, ContainerRow.project == project)
            )
        return None if row is None else _stored(row)

    async def in_project(self, project: str) -> list[StoredContainer]:
        """Every container of the project, oldest first."""
        async with self._sessions() as session:
            rows = await session.scalars(
                select(ContainerRow).where(ContainerRow.project == project).order_by(ContainerRow.position)
            )
            return [_stored(row) for row in rows]

    async def running(self) -> list[StoredContainer]:
        async with self._sessions() as session:
            rows = await session.scalars(select(ContainerRow).where(ContainerRow.status == "running"))
            return [_stored(row) for row in rows]

    async def touch(self, container_id: str, now: int) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                update(ContainerRow).where(ContainerRow.id == container_id).values(last_active_at=now)
            )

    async def expire(self, container_id: str) -> None:
        """The container's files are gone: its metadata stays, marked expired, and it lists no files."""
        async with self._sessions.begin() as session:
            await session.execute(delete(ContainerFileRow).where(ContainerFileRow.container_id == container_id))
            await session.execute(update(ContainerRow).where(ContainerRow.id == container_id).values(status="expired"))

    async def delete(self, container_id: str) -> None:
        async with self._sessions.begin() as session:
            await session.execute(delete(ContainerFileRow).where(ContainerFileRow.container_id == container_id))
            await session.execute(delete(ContainerRow).where(ContainerRow.id == container_id))

    async def files(self, container_id: str) -> list[StoredContainerFile]:
        """The container's files, oldest first."""
        async with self._sessions() as session:
            rows = await session.scalars(
                select(ContainerFileRow)
                .where(ContainerFileRow.container_id == container_id)
                .order_by(ContainerFileRow.position)
            )
            return [_stored_file(row) for row in rows]

    async def put_files(self, files: Sequence[StoredContainerFile]) -> None:
        """Record files; one written again at the same path replaces the earlier record."""
        async with self._sessions.begin() as session:
            for file in files:
                await session.execute(
                    delete(ContainerFileRow).where(
                        ContainerFileRow.container_id == file.container_id, ContainerFileRow.path == file.path
                    )
                )
            await session.flush()
            session.add_all(ContainerFileRow(**vars(file)) for file in files)

    async def remove_files(self, container_id: str, file_ids: Sequence[str]) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                delete(ContainerFileRow).where(
                    ContainerFileRow.container_id == container_id, ContainerFileRow.id.in_(file_ids)
                )
            )


def _stored(row: ContainerRow) -> StoredContainer:
    return StoredContainer(
        row.id,
        row.project,
        row.created_at,
        row.name,
        row.status,
        row.expires_after_minutes,
        row.last_active_at,
        row.memory_limit,
    )


def _stored_file(row: ContainerFileRow) -> StoredContainerFile:
    return StoredContainerFile(row.id, row.container_id, row.created_at, row.path, row.bytes, row.source)
