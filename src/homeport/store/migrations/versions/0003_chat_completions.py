"""Stored chat completions and their metadata pairs.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chat_completions",
        sa.Column("position", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("project", sa.String(128), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("model", sa.String(256), nullable=False),
        sa.Column("body", sa.JSON, nullable=False),
        sa.Column("messages", sa.JSON, nullable=False),
        sa.UniqueConstraint("id", name="uq_chat_completions_id"),
    )
    op.create_index("ix_chat_completions_project_position", "chat_completions", ["project", "position"])
    op.create_table(
        "chat_completion_metadata",
        sa.Column(
            "completion_position",
            sa.Integer,
            sa.ForeignKey("chat_completions.position", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.String(512), nullable=False),
    )
    op.create_index("ix_chat_completion_metadata_pair", "chat_completion_metadata", ["key", "value"])


def downgrade() -> None:
    op.drop_index("ix_chat_completion_metadata_pair", "chat_completion_metadata")
    op.drop_table("chat_completion_metadata")
    op.drop_index("ix_chat_completions_project_position", "chat_completions")
    op.drop_table("chat_completions")
