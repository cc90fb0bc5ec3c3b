"""Review site: staff accounts, signing keys, staff corrections.

Revision ID: 0002_review
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ledger.models import UTCDateTime

revision = "0002_review"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff_accounts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("session_epoch", sa.Integer, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_login_at", UTCDateTime(), nullable=True),
    )
    op.create_table(
        "web_keys",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("purpose", sa.String(50), nullable=False, unique=True),
        sa.Column("secret", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "staff_corrections",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("submission_id", sa.Integer, sa.ForeignKey("submissions.id"), nullable=False, index=True),
        sa.Column("line_id", sa.Integer, sa.ForeignKey("submission_lines.id"), nullable=True),
        sa.Column("field", sa.String(20), nullable=False),
        sa.Column("old_value", sa.String(300), nullable=False),
        sa.Column("new_value", sa.String(300), nullable=False),
        sa.Column("staff", sa.String(100), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    for table in ("staff_corrections", "web_keys", "staff_accounts"):
        op.drop_table(table)
