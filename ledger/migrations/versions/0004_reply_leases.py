"""Leases on outgoing replies, and the moment a reply was handed to the SMTP server.

Several send workers never send the same reply at once, and a reply whose sender died
after the SMTP server began receiving it is known to be in doubt.

Revision ID: 0004_reply_leases
Revises: 0003_leases
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ledger.models import UTCDateTime

revision = "0004_reply_leases"
down_revision = "0003_leases"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("replies") as batch:
        batch.add_column(sa.Column("lease_owner", sa.String(100), nullable=False, server_default=""))
        batch.add_column(sa.Column("lease_until", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("handed_over_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("replies") as batch:
        batch.drop_column("handed_over_at")
        batch.drop_column("lease_until")
        batch.drop_column("lease_owner")
