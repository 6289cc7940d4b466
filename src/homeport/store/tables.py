"""The SQLAlchemy tables. A response's wire JSON is kept whole, so what GET returns is exactly what was built."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class ResponseRow(Base):
    __tablename__ = "responses"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    project: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))
    background: Mapped[bool] = mapped_column(Boolean, default=False)
    previous_response_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    """The `Response` object as sent on the wire."""
    input_items: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    """This response's own input items, as `input_items` lists them (ids assigned, oldest first)."""

    __table_args__ = (Index("ix_responses_project_created", "project", "created_at"),)


class ConversationRow(Base):
    __tablename__ = "conversations"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    project: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[int] = mapped_column(BigInteger)
    metadata_: Mapped[dict[str, str]] = mapped_column("metadata", JSON)


class ConversationItemRow(Base):
    """One item of a conversation; `position` orders them (it only grows, so appends never reorder)."""

    __tablename__ = "conversation_items"

    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(String(64), ForeignKey("conversations.id", ondelete="CASCADE"))
    id: Mapped[str] = mapped_column(String(64))
    body: Mapped[dict[str, Any]] = mapped_column(JSON)

    __table_args__ = (
        UniqueConstraint("conversation_id", "id", name="uq_conversation_items_id"),
        Index("ix_conversation_items_conversation", "conversation_id", "position"),
    )


class ChatCompletionRow(Base):
    """A stored chat completion (`store: true`); `position` orders the list (it only grows)."""

    __tablename__ = "chat_completions"

    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64))
    project: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[int] = mapped_column(BigInteger)
    model: Mapped[str] = mapped_column(String(256))
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    """The `ChatCompletion` object as sent on the wire, `metadata` included."""
    messages: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    """The request's messages, as `GET …/messages` lists them (ids assigned, oldest first)."""

    __table_args__ = (
        UniqueConstraint("id", name="uq_chat_completions_id"),
        Index("ix_chat_completions_project_position", "project", "position"),
    )


class ChatCompletionMetadataRow(Base):
    """One metadata pair of a stored chat completion. Kept as rows, not read out of the JSON body, so that a list
    filters by metadata with plain indexed equality on every database, whatever characters a key holds."""

    __tablename__ = "chat_completion_metadata"

    completion_position: Mapped[int] = mapped_column(
        Integer, ForeignKey("chat_completions.position", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(512))

    __table_args__ = (Index("ix_chat_completion_metadata_pair", "key", "value"),)
