"""Batches and their request results: the only code that reads or writes their tables."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from homeport.store.database import Database
from homeport.store.tables import BatchResultRow, BatchRow


class BatchRepository:
    def __init__(self, database: Database) -> None:
        self._sessions = database.sessions

    async def add(self, project: str, body: dict[str, Any]) -> None:
        async with self._sessions.begin() as session:
            session.add(BatchRow(id=body["id"], project=project, status=body["status"], body=body))

    async def get(self, project: str, batch_id: str) -> dict[str, Any] | None:
        async with self._sessions() as session:
            return await session.scalar(
                select(BatchRow.body).where(BatchRow.id == batch_id, BatchRow.project == project)
            )

    async def in_project(self, project: str) -> list[dict[str, Any]]:
        """The project's batches, oldest first."""
        async with self._sessions() as session:
            bodies = await session.scalars(
                select(BatchRow.body).where(BatchRow.project == project).order_by(BatchRow.position)
            )
            return list(bodies)

    async def replace(self, project: str, body: dict[str, Any], *, while_status: str | None = None) -> bool:
        """Write the batch whole; with `while_status`, only if its stored status is still that (a run's progress
        must not undo a cancellation made meanwhile). Whether it was written."""
        condition = [BatchRow.id == body["id"], BatchRow.project == project]
        if while_status is not None:
            condition.append(BatchRow.status == while_status)
        async with self._sessions.begin() as session:
            result = await session.execute(update(BatchRow).where(*condition).values(status=body["status"], body=body))
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def add_result(self, batch_id: str, line: int, ok: bool, body: dict[str, Any]) -> None:
        async with self._sessions.begin() as session:
            session.add(BatchResultRow(batch_id=batch_id, line=line, ok=ok, body=body))

    async def results(self, batch_id: str) -> list[tuple[int, bool, dict[str, Any]]]:
        """The results so far, in line order."""
        async with self._sessions() as session:
            rows = await session.scalars(
                select(BatchResultRow).where(BatchResultRow.batch_id == batch_id).order_by(BatchResultRow.line)
            )
            return [(row.line, row.ok, row.body) for row in rows]
