"""Stored conversations and their items: the only code that reads or writes those tables.

Items are kept in the wire shape of the SDK's `ConversationItem`; a conversation's items never expire.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update

from homeport.store.database import Database
from homeport.store.tables import ConversationItemRow, ConversationRow


@dataclass
class StoredConversation:
    id: str
    project: str
    created_at: int
    metadata: dict[str, str]


class ConversationRepository:
    def __init__(self, database: Database) -> None:
        self._sessions = database.sessions

    async def add(self, conversation: StoredConversation, items: Sequence[dict[str, Any]]) -> None:
        """The conversation and its first items, in one transaction."""
        async with self._sessions.begin() as session:
            session.add(
                ConversationRow(
                    id=conversation.id,
                    project=conversation.project,
                    created_at=conversation.created_at,
                    metadata_=conversation.metadata,
                )
            )
            await session.flush()
            session.add_all(_rows(conversation.id, items))

    async def get(self, project: str, conversation_id: str) -> StoredConversation | None:
        async with self._sessions() as session:
            row = await session.scalar(
                select(ConversationRow).where(ConversationRow.id == conversation_id, ConversationRow.project == project)
            )
        if row is None:
            return None
        return StoredConversation(row.id, row.project, row.created_at, row.metadata_)

    async def set_metadata(self, conversation: StoredConversation) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                update(ConversationRow)
                .where(ConversationRow.id == conversation.id, ConversationRow.project == conversation.project)
                .values(metadata_=conversation.metadata)
            )

    async def delete(self, project: str, conversation_id: str) -> bool:
        async with self._sessions.begin() as session:
            owned = await session.scalar(
                select(ConversationRow.id).where(
                    ConversationRow.id == conversation_id, ConversationRow.project == project
                )
            )
            if owned is None:
                return False
            await session.execute(delete(ConversationItemRow).where(ConversationItemRow.conversation_id == owned))
            await session.execute(delete(ConversationRow).where(ConversationRow.id == owned))
        return True

    async def append(self, conversation_id: str, items: Sequence[dict[str, Any]]) -> None:
        """Add items after the existing ones, all or none."""
        async with self._sessions.begin() as session:
            session.add_all(_rows(conversation_id, items))

    async def items(self, conversation_id: str) -> list[dict[str, Any]]:
        """Every item, oldest first."""
        async with self._sessions() as session:
            bodies = await session.scalars(
                select(ConversationItemRow.body)
                .where(ConversationItemRow.conversation_id == conversation_id)
                .order_by(ConversationItemRow.position)
            )
            return list(bodies)

    async def item(self, conversation_id: str, item_id: str) -> dict[str, Any] | None:
        async with self._sessions() as session:
            body: dict[str, Any] | None = await session.scalar(
                select(ConversationItemRow.body).where(
                    ConversationItemRow.conversation_id == conversation_id, ConversationItemRow.id == item_id
                )
            )
        return body

    async def existing_ids(self, conversation_id: str, item_ids: Sequence[str]) -> set[str]:
        async with self._sessions() as session:
            found = await session.scalars(
                select(ConversationItemRow.id).where(
                    ConversationItemRow.conversation_id == conversation_id, ConversationItemRow.id.in_(item_ids)
                )
            )
            return set(found)

    async def delete_item(self, conversation_id: str, item_id: str) -> bool:
        async with self._sessions.begin() as session:
            result = await session.execute(
                delete(ConversationItemRow).where(
                    ConversationItemRow.conversation_id == conversation_id, ConversationItemRow.id == item_id
                )
            )
        return bool(result.rowcount)  # type: ignore[attr-defined]


def _rows(conversation_id: str, items: Sequence[dict[str, Any]]) -> list[ConversationItemRow]:
    return [ConversationItemRow(conversation_id=conversation_id, id=item["id"], body=item) for item in items]
