"""The first ledger schema: units, catalogue, quotas, messages, submissions, outbox, events.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ledger.models import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _id() -> sa.Column:
    return sa.Column("id", sa.Integer, primary_key=True)


def _when(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, UTCDateTime(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "units",
        _id(),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("type", sa.String(20), nullable=False),
        sa.Column("city", sa.String(50), nullable=False),
        sa.Column("aliases", sa.JSON, nullable=False),
        sa.Column("contacts", sa.JSON, nullable=False),
        _when("updated_at"),
    )
    op.create_table(
        "certificates",
        _id(),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("organization", sa.String(300), nullable=False),
        sa.Column("batch", sa.String(20), nullable=False),
        sa.Column("levels", sa.JSON, nullable=False),
        _when("updated_at"),
    )
    op.create_table(
        "quotas",
        _id(),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("unit_id", sa.Integer, sa.ForeignKey("units.id"), nullable=False),
        sa.Column("certificate_id", sa.Integer, sa.ForeignKey("certificates.id"), nullable=False),
        sa.Column("level", sa.String(10), nullable=False),
        sa.Column("approved", sa.Integer, nullable=False),
        _when("updated_at"),
        sa.UniqueConstraint("year", "unit_id", "certificate_id", "level", name="uq_quotas_key"),
    )
    op.create_table(
        "messages",
        _id(),
        sa.Column("mailbox", sa.String(200), nullable=False),
        sa.Column("uidvalidity", sa.BigInteger, nullable=False),
        sa.Column("uid", sa.BigInteger, nullable=False),
        sa.Column("message_id", sa.String(998), nullable=False, index=True),
        sa.Column("sha256", sa.String(64), nullable=False, unique=True),
        _when("received_at"),
        sa.Column("sender", sa.String(320), nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("original_path", sa.String(1000), nullable=False),
        sa.Column("state", sa.String(20), nullable=False, index=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text, nullable=False),
        sa.Column("outcome", sa.String(20), nullable=True),
        sa.Column("reasons", sa.JSON, nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("filed_folder", sa.String(200), nullable=False),
        _when("created_at"),
        _when("updated_at"),
        sa.UniqueConstraint("mailbox", "uidvalidity", "uid", name="uq_messages_location"),
    )
    op.create_table(
        "message_locations",
        _id(),
        sa.Column("message_pk", sa.Integer, sa.ForeignKey("messages.id"), nullable=False, index=True),
        sa.Column("mailbox", sa.String(200), nullable=False),
        sa.Column("uidvalidity", sa.BigInteger, nullable=False),
        sa.Column("uid", sa.BigInteger, nullable=False),
        _when("seen_at"),
        sa.UniqueConstraint("mailbox", "uidvalidity", "uid", name="uq_message_locations"),
    )
    op.create_table(
        "submissions",
        _id(),
        sa.Column("message_pk", sa.Integer, sa.ForeignKey("messages.id"), nullable=False, index=True),
        sa.Column("unit", sa.String(200), nullable=False, index=True),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("claimed_kind", sa.String(20), nullable=False),
        sa.Column("decision", sa.String(20), nullable=False),
        sa.Column("reasons", sa.JSON, nullable=False),
        sa.Column("stamp", sa.Boolean, nullable=False),
        sa.Column("total", sa.Integer, nullable=True),
        sa.Column("form_unit", sa.String(200), nullable=False),
        _when("received_at"),
        sa.Column("window_start", sa.Date, nullable=True),
        sa.Column("window_end", sa.Date, nullable=True),
        sa.Column("superseded_by_id", sa.Integer, sa.ForeignKey("submissions.id"), nullable=True),
        _when("created_at"),
    )
    op.create_table(
        "submission_lines",
        _id(),
        sa.Column("submission_id", sa.Integer, sa.ForeignKey("submissions.id"), nullable=False, index=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("row", sa.Integer, nullable=False),
        sa.Column("certificate", sa.String(300), nullable=False),
        sa.Column("level", sa.String(20), nullable=False),
        sa.Column("count", sa.Integer, nullable=True),
        sa.Column("approved", sa.Integer, nullable=True),
        sa.Column("requested", sa.Integer, nullable=True),
        sa.Column("confident", sa.Boolean, nullable=False),
    )
    op.create_table(
        "quota_changes",
        _id(),
        sa.Column("quota_id", sa.Integer, sa.ForeignKey("quotas.id"), nullable=False, index=True),
        sa.Column("old_approved", sa.Integer, nullable=True),
        sa.Column("new_approved", sa.Integer, nullable=False),
        sa.Column("cause", sa.String(20), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("submission_id", sa.Integer, sa.ForeignKey("submissions.id"), nullable=True),
        sa.Column("source", sa.String(500), nullable=False),
        _when("at"),
    )
    op.create_table(
        "replies",
        _id(),
        sa.Column("message_pk", sa.Integer, sa.ForeignKey("messages.id"), nullable=False, index=True),
        sa.Column("to_addr", sa.String(320), nullable=False),
        sa.Column("reply_message_id", sa.String(998), nullable=False, unique=True),
        sa.Column("raw", sa.LargeBinary, nullable=False),
        sa.Column("status", sa.String(20), nullable=False, index=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        _when("next_attempt_at"),
        sa.Column("last_error", sa.Text, nullable=False),
        _when("sent_at", nullable=True),
        _when("created_at"),
    )
    op.create_table(
        "events",
        _id(),
        _when("at"),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("subject", sa.String(500), nullable=False),
        sa.Column("detail", sa.JSON, nullable=False),
    )
    op.create_index("ix_events_at", "events", ["at"])
    _forbid_event_changes()


def _forbid_event_changes() -> None:
    """The audit trail is append-only, enforced by the database itself."""
    if op.get_context().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'events are append-only'; END $$"
        )
        op.execute(
            "CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events "
            "FOR EACH ROW EXECUTE FUNCTION events_append_only()"
        )
    else:
        for what in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER events_no_{what.lower()} BEFORE {what} ON events "
                "BEGIN SELECT RAISE(ABORT, 'events are append-only'); END"
            )


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP TRIGGER events_append_only ON events")
        op.execute("DROP FUNCTION events_append_only()")
    for table in (
        "events", "replies", "quota_changes", "submission_lines", "submissions",
        "message_locations", "messages", "quotas", "certificates", "units",
    ):
        op.drop_table(table)
