"""Stored responses: the only code that reads or writes the `responses` table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, literal, select, update
from sqlalchemy.orm import aliased

from homeport.store.database import Database
from homeport.store.tables import ResponseEventRow, ResponseRow


@dataclass
class StoredResponse:
    id: str
    project: str
    body: dict[str, Any]
    input_items: list[dict[str, Any]]

    @property
    def previous_response_id(self) -> str | None:
        return self.body.get("previous_response_id")


@dataclass(frozen=True)
class ChainLink:
    """What a later response reads of an earlier one in its `previous_response_id` chain."""

    id: str
    previous_response_id: str | None
    input_items: list[dict[str, Any]]
    output: list[dict[str, Any]]


class ResponseRepository:
    def __init__(self, database: Database) -> None:
        self._sessions = database.sessions

    async def add(self, stored: StoredResponse) -> None:
        """Insert a new response (one statement: no read first)."""
        async with self._sessions.begin() as session:
            session.add(
                ResponseRow(
                    id=stored.id,
                    project=stored.project,
                    created_at=int(stored.body["created_at"]),
                    status=stored.body["status"],
                    background=bool(stored.body.get("background")),
                    previous_response_id=stored.previous_response_id,
                    body=stored.body,
                    input_items=stored.input_items,
                )
            )

    async def replace(self, stored: StoredResponse) -> None:
        """Overwrite a stored response's state whole, in one transaction: readers see the old or the new."""
        async with self._sessions.begin() as session:
            await session.execute(
                update(ResponseRow)
                .where(ResponseRow.id == stored.id, ResponseRow.project == stored.project)
                .values(status=stored.body["status"], body=stored.body, input_items=stored.input_items)
            )

    async def get(self, project: str, response_id: str) -> StoredResponse | None:
        async with self._sessions() as session:
            row = await session.scalar(
                select(ResponseRow).where(ResponseRow.id == response_id, ResponseRow.project == project)
            )
        if row is None:
            return None
        return StoredResponse(row.id, row.project, row.body, row.input_items)

    async def chain(self, project: str, response_id: str) -> list[ChainLink]:
        """The response and every response before it through `previous_response_id`, oldest first.

        One recursive query, so a 100-turn history costs one round trip rather than a hundred. A link to a response
        that is gone (deleted, or never stored) ends the list early; the caller decides whether that is an error.
        """
        links = (
            select(ResponseRow.id, ResponseRow.previous_response_id, literal(0).label("depth"))
            .where(ResponseRow.id == response_id, ResponseRow.project == project)
            .cte("links", recursive=True)
        )
        earlier = aliased(ResponseRow)
        links = links.union_all(
            select(earlier.id, earlier.previous_response_id, links.c.depth + 1).where(
                earlier.id == links.c.previous_response_id, earlier.project == project
            )
        )
        # Only the output is read out of each body: decoding whole responses was most of a long chain's cost.
        output = ResponseRow.body["output"].label("output")
        columns = select(ResponseRow.id, ResponseRow.previous_response_id, ResponseRow.input_items, output)
        async with self._sessions() as session:
            rows = await session.execute(
                columns.join(links, ResponseRow.id == links.c.id).order_by(links.c.depth.desc())
            )
            return [ChainLink(row.id, row.previous_response_id, row.input_items, row.output or []) for row in rows]

    async def delete(self, project: str, response_id: str) -> bool:
        async with self._sessions.begin() as session:
            result = await session.execute(
                delete(ResponseRow).where(ResponseRow.id == response_id, ResponseRow.project == project)
            )
            if result.rowcount:  # type: ignore[attr-defined]
                await session.execute(delete(ResponseEventRow).where(ResponseEventRow.response_id == response_id))
        return bool(result.rowcount)  # type: ignore[attr-defined]
