"""Filing a mail on the server may fail (a refused CREATE or MOVE): count it and back off.

Revision ID: 0005_filing_retries
Revises: 0004_reply_leases
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ledger.models import UTCDateTime

revision = "0005_filing_retries"
down_revision = "0004_reply_leases"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("file_attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("file_error", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("file_retry_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("file_retry_at")
        batch.drop_column("file_error")
        batch.drop_column("file_attempts")
