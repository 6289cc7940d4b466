"""Webhook endpoints get a name and an update time, as the API's endpoints have.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_endpoints") as table:
        table.add_column(sa.Column("name", sa.String(256), nullable=False, server_default=""))
        table.add_column(sa.Column("updated_at", sa.BigInteger, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("webhook_endpoints") as table:
        table.drop_column("updated_at")
        table.drop_column("name")
