"""Reminders (催报), bounced addresses and the staff digest; the outbox carries our own mail too.

``replies.message_pk`` becomes nullable (a reminder or a digest answers no message) and
gains ``kind``; ``reminders`` holds one row per unit and local day (a unique key, so two
staff members or two workers can never remind one unit twice in a day); ``digests`` one
row per day.

Revision ID: 0006_reminders
Revises: 0005_filing_retries
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ledger.models import UTCDateTime

revision = "0006_reminders"
down_revision = "0005_filing_retries"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reminders",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("unit_id", sa.Integer, sa.ForeignKey("units.id"), nullable=False, index=True),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("window_end", sa.Date, nullable=False),
        sa.Column("addresses", sa.JSON, nullable=False),
        sa.Column("thread_message_pk", sa.Integer, sa.ForeignKey("messages.id"), nullable=True),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("unit_id", "day", name="uq_reminders_unit_day"),
    )
    op.create_table(
        "bounced_addresses",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("address", sa.String(320), nullable=False, index=True),
        sa.Column("message_pk", sa.Integer, sa.ForeignKey("messages.id"), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("diagnostic", sa.Text, nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("address", "message_pk", name="uq_bounced_addresses_report"),
    )
    op.create_table(
        "digests",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("day", sa.Date, nullable=False, unique=True),
        sa.Column("addresses", sa.JSON, nullable=False),
        sa.Column("figures", sa.JSON, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    with op.batch_alter_table("replies") as batch:
        batch.alter_column("message_pk", existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column("kind", sa.String(20), nullable=False, server_default="reply"))
        batch.add_column(sa.Column("reminder_id", sa.Integer(), nullable=True))
        batch.create_index("ix_replies_reminder_id", ["reminder_id"])
        batch.create_foreign_key("fk_replies_reminder_id", "reminders", ["reminder_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("replies") as batch:
        batch.drop_constraint("fk_replies_reminder_id", type_="foreignkey")
        batch.drop_index("ix_replies_reminder_id")
        batch.drop_column("reminder_id")
        batch.drop_column("kind")
        batch.alter_column("message_pk", existing_type=sa.Integer(), nullable=False)
    for table in ("digests", "bounced_addresses", "reminders"):
        op.drop_table(table)
