"""Conversations and their items.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conversations",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("project", sa.String(128), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("metadata", sa.JSON, nullable=False),
    )
    op.create_table(
        "conversation_items",
        sa.Column("position", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "conversation_id", sa.String(64), sa.ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("body", sa.JSON, nullable=False),
        sa.UniqueConstraint("conversation_id", "id", name="uq_conversation_items_id"),
    )
    op.create_index("ix_conversation_items_conversation", "conversation_items", ["conversation_id", "position"])


def downgrade() -> None:
    op.drop_index("ix_conversation_items_conversation", "conversation_items")
    op.drop_table("conversation_items")
    op.drop_table("conversations")
