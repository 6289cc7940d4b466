"""Files, multi-part uploads, vector stores, their files and file batches.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "files",
        sa.Column("position", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("project", sa.String(128), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("filename", sa.String(512), nullable=False),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("bytes", sa.BigInteger, nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=True),
        sa.UniqueConstraint("id", name="uq_files_id"),
    )
    op.create_index("ix_files_project_position", "files", ["project", "position"])
    op.create_table(
        "uploads",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("project", sa.String(128), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
        sa.Column("filename", sa.String(512), nullable=False),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("mime_type", sa.String(256), nullable=False),
        sa.Column("bytes", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("file_expires_after", sa.BigInteger, nullable=True),
        sa.Column("file_id", sa.String(64), nullable=True),
    )
    op.create_table(
        "upload_parts",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("upload_id", sa.String(64), sa.ForeignKey("uploads.id", ondelete="CASCADE"), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("bytes", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_upload_parts_upload", "upload_parts", ["upload_id"])
    op.create_table(
        "vector_stores",
        sa.Column("position", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("project", sa.String(128), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("name", sa.String(512), nullable=False),
        sa.Column("description", sa.String(512), nullable=True),
        sa.Column("metadata", sa.JSON, nullable=False),
        sa.Column("expires_after_days", sa.Integer, nullable=True),
        sa.Column("last_active_at", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("id", name="uq_vector_stores_id"),
    )
    op.create_index("ix_vector_stores_project_position", "vector_stores", ["project", "position"])
    op.create_table(
        "vector_store_files",
        sa.Column("position", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "vector_store_id", sa.String(64), sa.ForeignKey("vector_stores.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("file_id", sa.String(64), nullable=False),
        sa.Column("batch_id", sa.String(64), nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("last_error", sa.JSON, nullable=True),
        sa.Column("attributes", sa.JSON, nullable=False),
        sa.Column("max_chunk_size_tokens", sa.Integer, nullable=False),
        sa.Column("chunk_overlap_tokens", sa.Integer, nullable=False),
        sa.Column("usage_bytes", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("vector_store_id", "file_id", name="uq_vector_store_files_pair"),
    )
    op.create_index("ix_vector_store_files_status", "vector_store_files", ["status"])
    op.create_index("ix_vector_store_files_batch", "vector_store_files", ["batch_id"])
    op.create_table(
        "vector_store_file_batches",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column(
            "vector_store_id", sa.String(64), sa.ForeignKey("vector_stores.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("cancelled", sa.Boolean, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("vector_store_file_batches")
    op.drop_index("ix_vector_store_files_batch", "vector_store_files")
    op.drop_index("ix_vector_store_files_status", "vector_store_files")
    op.drop_table("vector_store_files")
    op.drop_index("ix_vector_stores_project_position", "vector_stores")
    op.drop_table("vector_stores")
    op.drop_index("ix_upload_parts_upload", "upload_parts")
    op.drop_table("upload_parts")
    op.drop_table("uploads")
    op.drop_index("ix_files_project_position", "files")
    op.drop_table("files")
