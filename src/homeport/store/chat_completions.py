"""Stored chat completions: the only code that reads or writes the `chat_completions` tables.

Lists are cut in SQL (filters, cursor, limit + 1 to learn `has_more`), so a page costs the same however many
completions a project has stored. Metadata pairs live in their own table for the filters; the body keeps them too,
and both change together.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, delete, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from homeport.store.database import Database
from homeport.store.tables import ChatCompletionMetadataRow, ChatCompletionRow


@dataclass
class StoredChatCompletion:
    id: str
    project: str
    created_at: int
    model: str
    body: dict[str, Any]
    """The `ChatCompletion` wire object; its `metadata` is what lists filter on."""
    messages: list[dict[str, Any]]


@dataclass(frozen=True)
class ChatCompletionPage:
    completions: list[StoredChatCompletion]
    has_more: bool


class ChatCompletionRepository:
    def __init__(self, database: Database) -> None:
        self._sessions = database.sessions

    async def add(self, stored: StoredChatCompletion) -> None:
        async with self._sessions.begin() as session:
            row = ChatCompletionRow(
                id=stored.id,
                project=stored.project,
                created_at=stored.created_at,
                model=stored.model,
                body=stored.body,
                messages=stored.messages,
            )
            session.add(row)
            await session.flush()
            _add_pairs(session, row.position, stored.body.get("metadata") or {})

    async def get(self, project: str, completion_id: str) -> StoredChatCompletion | None:
        async with self._sessions() as session:
            row = await session.scalar(_owned(project, completion_id))
        return None if row is None else _stored(row)

    async def page(
        self,
        project: str,
        *,
        model: str | None,
        metadata: Mapping[str, str],
        after: str | None,
        limit: int,
        newest_first: bool,
    ) -> ChatCompletionPage | None:
        """One page of the project's completions matching every filter; None if `after` names no completion."""
        position = ChatCompletionRow.position
        query = select(ChatCompletionRow).where(ChatCompletionRow.project == project)
        if model is not None:
            query = query.where(ChatCompletionRow.model == model)
        for key, value in metadata.items():
            pair = ChatCompletionMetadataRow
            query = query.where(
                exists().where(pair.completion_position == position, pair.key == key, pair.value == value)
            )
        async with self._sessions() as session:
            if after is not None:
                cursor = await session.scalar(
                    select(position).where(ChatCompletionRow.project == project, ChatCompletionRow.id == after)
                )
                if cursor is None:
                    return None
                query = query.where(position < cursor if newest_first else position > cursor)
            ordered = query.order_by(position.desc() if newest_first else position.asc())
            rows = list(await session.scalars(ordered.limit(limit + 1)))
        return ChatCompletionPage([_stored(row) for row in rows[:limit]], has_more=len(rows) > limit)

    async def set_metadata(self, project: str, completion_id: str, metadata: dict[str, str]) -> dict[str, Any] | None:
        """Replace the metadata, pairs and body together; the updated body, or None if there is no such one."""
        async with self._sessions.begin() as session:
            row = await session.scalar(_owned(project, completion_id))
            if row is None:
                return None
            await session.execute(
                delete(ChatCompletionMetadataRow).where(ChatCompletionMetadataRow.completion_position == row.position)
            )
            _add_pairs(session, row.position, metadata)
            row.body = {**row.body, "metadata": metadata}
            return row.body

    async def delete(self, project: str, completion_id: str) -> bool:
        async with self._sessions.begin() as session:
            owned = await session.scalar(
                select(ChatCompletionRow.position).where(
                    ChatCompletionRow.project == project, ChatCompletionRow.id == completion_id
                )
            )
            if owned is None:
                return False
            pairs = ChatCompletionMetadataRow.completion_position == owned
            await session.execute(delete(ChatCompletionMetadataRow).where(pairs))
            await session.execute(delete(ChatCompletionRow).where(ChatCompletionRow.position == owned))
        return True


def _owned(project: str, completion_id: str) -> Select[ChatCompletionRow]:
    return select(ChatCompletionRow).where(ChatCompletionRow.project == project, ChatCompletionRow.id == completion_id)


def _add_pairs(session: AsyncSession, position: int, metadata: Mapping[str, str]) -> None:
    session.add_all(
        ChatCompletionMetadataRow(completion_position=position, key=key, value=value) for key, value in metadata.items()
    )


def _stored(row: ChatCompletionRow) -> StoredChatCompletion:
    return StoredChatCompletion(row.id, row.project, row.created_at, row.model, row.body, row.messages)
