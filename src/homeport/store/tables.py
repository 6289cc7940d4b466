"""The SQLAlchemy tables. A response's wire JSON is kept whole, so what GET returns is exactly what was built."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, UniqueConstraint
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


class FileRow(Base):
    """An uploaded file's metadata; its bytes live on disk under the data directory (`files.BlobStore`)."""

    __tablename__ = "files"

    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64))
    project: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[int] = mapped_column(BigInteger)
    filename: Mapped[str] = mapped_column(String(512))
    purpose: Mapped[str] = mapped_column(String(32))
    bytes: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)

    __table_args__ = (
        UniqueConstraint("id", name="uq_files_id"),
        Index("ix_files_project_position", "project", "position"),
    )


class UploadRow(Base):
    """A multi-part upload in progress; its parts are files on disk until `complete` joins them."""

    __tablename__ = "uploads"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    project: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int] = mapped_column(BigInteger)
    filename: Mapped[str] = mapped_column(String(512))
    purpose: Mapped[str] = mapped_column(String(32))
    mime_type: Mapped[str] = mapped_column(String(256))
    bytes: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))
    file_expires_after: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    file_id: Mapped[str | None] = mapped_column(String(64), nullable=True)


class UploadPartRow(Base):
    __tablename__ = "upload_parts"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    upload_id: Mapped[str] = mapped_column(String(64), ForeignKey("uploads.id", ondelete="CASCADE"))
    created_at: Mapped[int] = mapped_column(BigInteger)
    bytes: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_upload_parts_upload", "upload_id"),)


class VectorStoreRow(Base):
    """A vector store; its file counts and usage are computed from its files, never stored twice."""

    __tablename__ = "vector_stores"

    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64))
    project: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String(512))
    description: Mapped[str | None] = mapped_column(String(512), nullable=True)
    metadata_: Mapped[dict[str, str]] = mapped_column("metadata", JSON)
    expires_after_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_active_at: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        UniqueConstraint("id", name="uq_vector_stores_id"),
        Index("ix_vector_stores_project_position", "project", "position"),
    )


class VectorStoreFileRow(Base):
    """A file attached to a vector store: its ingestion state, attributes and chunking."""

    __tablename__ = "vector_store_files"

    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    vector_store_id: Mapped[str] = mapped_column(String(64), ForeignKey("vector_stores.id", ondelete="CASCADE"))
    file_id: Mapped[str] = mapped_column(String(64))
    batch_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))
    last_error: Mapped[dict[str, str] | None] = mapped_column(JSON, nullable=True)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON)
    max_chunk_size_tokens: Mapped[int] = mapped_column(Integer)
    chunk_overlap_tokens: Mapped[int] = mapped_column(Integer)
    usage_bytes: Mapped[int] = mapped_column(BigInteger, default=0)

    __table_args__ = (
        UniqueConstraint("vector_store_id", "file_id", name="uq_vector_store_files_pair"),
        Index("ix_vector_store_files_status", "status"),
        Index("ix_vector_store_files_batch", "batch_id"),
    )


class VectorStoreFileBatchRow(Base):
    __tablename__ = "vector_store_file_batches"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    vector_store_id: Mapped[str] = mapped_column(String(64), ForeignKey("vector_stores.id", ondelete="CASCADE"))
    created_at: Mapped[int] = mapped_column(BigInteger)
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)


class ContainerRow(Base):
    """A code_interpreter container's metadata; its process lives in memory and its files under the data dir."""

    __tablename__ = "containers"

    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64))
    project: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String(512))
    status: Mapped[str] = mapped_column(String(16))
    expires_after_minutes: Mapped[int] = mapped_column(Integer)
    last_active_at: Mapped[int] = mapped_column(BigInteger)
    memory_limit: Mapped[str] = mapped_column(String(8))

    __table_args__ = (
        UniqueConstraint("id", name="uq_containers_id"),
        Index("ix_containers_project_position", "project", "position"),
    )


class ContainerFileRow(Base):
    """A file in a container's /mnt/data, uploaded (`user`) or written by code (`assistant`)."""

    __tablename__ = "container_files"

    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64))
    container_id: Mapped[str] = mapped_column(String(64), ForeignKey("containers.id", ondelete="CASCADE"))
    created_at: Mapped[int] = mapped_column(BigInteger)
    path: Mapped[str] = mapped_column(String(1024))
    bytes: Mapped[int] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(String(16))

    __table_args__ = (
        UniqueConstraint("container_id", "path", name="uq_container_files_path"),
        UniqueConstraint("id", name="uq_container_files_id"),
    )


class JobRow(Base):
    """Work that outlives its request (a background response, a batch): queued, claimed by one worker of any replica
    for a lease it keeps renewing, then done. `position` orders the queue within a priority."""

    __tablename__ = "jobs"

    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    project: Mapped[str] = mapped_column(String(128))
    priority: Mapped[int] = mapped_column(Integer)
    """Lower runs first: interactive background responses before batch requests."""
    state: Mapped[str] = mapped_column(String(16))
    """`queued`, `running` or `done`."""
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    claimed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_until: Mapped[float | None] = mapped_column(Float, nullable=True)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (
        UniqueConstraint("id", name="uq_jobs_id"),
        Index("ix_jobs_state_priority_position", "state", "priority", "position"),
    )


class ResponseEventRow(Base):
    """One streaming event of a background response, as sent, for streams resumed with `starting_after`."""

    __tablename__ = "response_events"

    response_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    sequence_number: Mapped[int] = mapped_column(Integer, primary_key=True)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)


class WebhookEndpointRow(Base):
    """Where the operator wants events sent: a URL, its signing secret, the event types it takes, and the project
    whose events it gets (None: every project's)."""

    __tablename__ = "webhook_endpoints"

    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64))
    project: Mapped[str | None] = mapped_column(String(128), nullable=True)
    url: Mapped[str] = mapped_column(String(2048))
    secret: Mapped[str] = mapped_column(String(256))
    event_types: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String(256), default="")
    updated_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)

    __table_args__ = (UniqueConstraint("id", name="uq_webhook_endpoints_id"),)


class WebhookDeliveryRow(Base):
    """One event for one endpoint: `pending` until a 2xx (`delivered`) or until its retries run out (`failed`)."""

    __tablename__ = "webhook_deliveries"

    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    endpoint_id: Mapped[str] = mapped_column(String(64), ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    webhook_id: Mapped[str] = mapped_column(String(64))
    """The `webhook-id` of every attempt."""
    type: Mapped[str] = mapped_column(String(64))
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[float] = mapped_column(Float)
    next_attempt_at: Mapped[float] = mapped_column(Float)
    last_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(512), nullable=True)

    __table_args__ = (
        UniqueConstraint("endpoint_id", "webhook_id", name="uq_webhook_deliveries_webhook_id"),
        Index("ix_webhook_deliveries_due", "state", "next_attempt_at"),
    )


class BatchRow(Base):
    """A batch: its wire object kept whole (status, counts, file ids), as GET returns it."""

    __tablename__ = "batches"

    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64))
    project: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16))
    """The body's status, as a column: a run writes its progress only while the batch is still in progress."""
    body: Mapped[dict[str, Any]] = mapped_column(JSON)

    __table_args__ = (
        UniqueConstraint("id", name="uq_batches_id"),
        Index("ix_batches_project_position", "project", "position"),
    )


class BatchResultRow(Base):
    """The outcome of one request of a batch (an output or an error line), kept as it is made so a batch that a
    restart interrupted goes on from where it was."""

    __tablename__ = "batch_results"

    batch_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    line: Mapped[int] = mapped_column(Integer, primary_key=True)
    ok: Mapped[bool] = mapped_column(Boolean)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
