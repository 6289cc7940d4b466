"""Containers and their files.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "containers",
        sa.Column("position", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("project", sa.String(128), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("name", sa.String(512), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("expires_after_minutes", sa.Integer, nullable=False),
        sa.Column("last_active_at", sa.BigInteger, nullable=False),
        sa.Column("memory_limit", sa.String(8), nullable=False),
        sa.UniqueConstraint("id", name="uq_containers_id"),
    )
    op.create_index("ix_containers_project_position", "containers", ["project", "position"])
    op.create_table(
        "container_files",
        sa.Column("position", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("container_id", sa.String(64), sa.ForeignKey("containers.id", ondelete="CASCADE"), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("path", sa.String(1024), nullable=False),
        sa.Column("bytes", sa.BigInteger, nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.UniqueConstraint("container_id", "path", name="uq_container_files_path"),
        sa.UniqueConstraint("id", name="uq_container_files_id"),
    )


def downgrade() -> None:
    op.drop_table("container_files")
    op.drop_index("ix_containers_project_position", "containers")
    op.drop_table("containers")
