"""The ledger's tables (SQLAlchemy 2 typed mappings).

The schema itself is created by the Alembic migrations in ``ledger/migrations``;
``tests/test_ledger_db.py`` checks that models and migrations agree.
Names are canonical names (units list, catalogue) so every export row reads as is.
The review site's tables (staff accounts, its signing key, staff corrections) are here
too: one metadata, one Alembic history for the whole ledger.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(sa.TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out, on SQLite (no zones) as on PostgreSQL."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the ledger stores aware datetimes only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads this class attribute as is
        datetime: UTCDateTime(), dict[str, Any]: sa.JSON(), list[Any]: sa.JSON()}


class Unit(Base):
    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    type: Mapped[str] = mapped_column(sa.String(20), default="")
    city: Mapped[str] = mapped_column(sa.String(50), default="")
    aliases: Mapped[list[Any]] = mapped_column(default=list)
    contacts: Mapped[list[Any]] = mapped_column(default=list)  # lower-cased addresses
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Certificate(Base):
    __tablename__ = "certificates"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    organization: Mapped[str] = mapped_column(sa.String(300), default="")
    batch: Mapped[str] = mapped_column(sa.String(20), default="")
    levels: Mapped[list[Any]] = mapped_column(default=list)  # subset of 初级/中级/高级
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Quota(Base):
    __tablename__ = "quotas"
    __table_args__ = (sa.UniqueConstraint("year", "unit_id", "certificate_id", "level", name="uq_quotas_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int]
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"))
    certificate_id: Mapped[int] = mapped_column(sa.ForeignKey("certificates.id"))
    level: Mapped[str] = mapped_column(sa.String(10))
    approved: Mapped[int]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class QuotaChange(Base):
    """Every change of an approved number: by import, by an accepted increase, by staff."""

    __tablename__ = "quota_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    quota_id: Mapped[int] = mapped_column(sa.ForeignKey("quotas.id"), index=True)
    old_approved: Mapped[int | None]
    new_approved: Mapped[int]
    cause: Mapped[str] = mapped_column(sa.String(20))  # import | increase | staff
    actor: Mapped[str] = mapped_column(sa.String(100))
    submission_id: Mapped[int | None] = mapped_column(sa.ForeignKey("submissions.id"))
    source: Mapped[str] = mapped_column(sa.String(500), default="")  # import file, when imported
    at: Mapped[datetime] = mapped_column(default=utcnow)


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (sa.UniqueConstraint("mailbox", "uidvalidity", "uid", name="uq_messages_location"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox: Mapped[str] = mapped_column(sa.String(200))
    uidvalidity: Mapped[int] = mapped_column(sa.BigInteger)
    uid: Mapped[int] = mapped_column(sa.BigInteger)
    message_id: Mapped[str] = mapped_column(sa.String(998), index=True)
    sha256: Mapped[str] = mapped_column(sa.String(64), unique=True)
    received_at: Mapped[datetime]  # IMAP INTERNALDATE
    sender: Mapped[str] = mapped_column(sa.String(320))
    subject: Mapped[str] = mapped_column(sa.Text)
    original_path: Mapped[str] = mapped_column(sa.String(1000))
    state: Mapped[str] = mapped_column(sa.String(20), index=True)  # stored|decided|replied|filed
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(sa.Text, default="")
    outcome: Mapped[str | None] = mapped_column(sa.String(20))  # accepted|rejected|review, None: ignored
    reasons: Mapped[list[Any]] = mapped_column(default=list)
    note: Mapped[str] = mapped_column(sa.Text, default="")
    filed_folder: Mapped[str] = mapped_column(sa.String(200), default="")
    # Filing refused by the server (CREATE/MOVE): retried with back-off, shown to operators.
    file_attempts: Mapped[int] = mapped_column(default=0)
    file_error: Mapped[str] = mapped_column(sa.Text, default="")
    file_retry_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A processing worker's claim: others skip the message until the lease expires.
    lease_owner: Mapped[str] = mapped_column(sa.String(100), default="")
    lease_until: Mapped[datetime | None]


class MessageLocation(Base):
    """Every (mailbox, UIDVALIDITY, UID) a stored message was seen at, so none is fetched twice."""

    __tablename__ = "message_locations"
    __table_args__ = (sa.UniqueConstraint("mailbox", "uidvalidity", "uid", name="uq_message_locations"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_pk: Mapped[int] = mapped_column(sa.ForeignKey("messages.id"), index=True)
    mailbox: Mapped[str] = mapped_column(sa.String(200))
    uidvalidity: Mapped[int] = mapped_column(sa.BigInteger)
    uid: Mapped[int] = mapped_column(sa.BigInteger)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class Submission(Base):
    """One form (or one formless attempt) of one message, with the message's decision."""

    __tablename__ = "submissions"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_pk: Mapped[int] = mapped_column(sa.ForeignKey("messages.id"), index=True)
    unit: Mapped[str] = mapped_column(sa.String(200), index=True)  # canonical name (Claim.unit)
    year: Mapped[int]
    kind: Mapped[str] = mapped_column(sa.String(20))  # summary | increase
    claimed_kind: Mapped[str] = mapped_column(sa.String(20))  # what the subject said
    decision: Mapped[str] = mapped_column(sa.String(20))
    reasons: Mapped[list[Any]] = mapped_column(default=list)
    stamp: Mapped[bool] = mapped_column(default=False)
    total: Mapped[int | None]
    form_unit: Mapped[str] = mapped_column(sa.String(200), default="")  # as read on the form
    received_at: Mapped[datetime]
    window_start: Mapped[date | None]
    window_end: Mapped[date | None]
    superseded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("submissions.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SubmissionLine(Base):
    __tablename__ = "submission_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(sa.ForeignKey("submissions.id"), index=True)
    position: Mapped[int]  # order on the form
    row: Mapped[int]  # the form's 序号
    certificate: Mapped[str] = mapped_column(sa.String(300))
    level: Mapped[str] = mapped_column(sa.String(20))
    count: Mapped[int | None]  # summary
    approved: Mapped[int | None]  # increase: 原批准人数
    requested: Mapped[int | None]  # increase: 调增后人数
    confident: Mapped[bool] = mapped_column(default=True)


class Reply(Base):
    """The outbox: a reply's complete bytes are fixed before it is first sent."""

    __tablename__ = "replies"

    id: Mapped[int] = mapped_column(primary_key=True)
    # None: a mail of our own, answering no message (a reminder, a staff digest; migration 0006).
    message_pk: Mapped[int | None] = mapped_column(sa.ForeignKey("messages.id"), index=True)
    to_addr: Mapped[str] = mapped_column(sa.String(320))
    reply_message_id: Mapped[str] = mapped_column(sa.String(998), unique=True)
    raw: Mapped[bytes] = mapped_column(sa.LargeBinary)
    status: Mapped[str] = mapped_column(sa.String(20), index=True)  # queued | sent | failed (refused for good)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str] = mapped_column(sa.Text, default="")
    sent_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The sender holding the reply right now, and when it began handing the data to SMTP.
    lease_owner: Mapped[str] = mapped_column(sa.String(100), default="")
    lease_until: Mapped[datetime | None]
    handed_over_at: Mapped[datetime | None]
    kind: Mapped[str] = mapped_column(sa.String(20), default="reply", server_default="reply")  # reply|reminder|digest
    reminder_id: Mapped[int | None] = mapped_column(sa.ForeignKey("reminders.id"), index=True)


class Event(Base):
    """Append-only audit trail (UPDATE and DELETE are refused by a trigger)."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(sa.String(100))  # worker | import | staff:<name>
    action: Mapped[str] = mapped_column(sa.String(100))
    subject: Mapped[str] = mapped_column(sa.String(500))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


# --- the review site's tables (migration 0002_review_staff) -----------------------------


class StaffAccount(Base):
    """A staff member of the review site (``review.auth``: argon2id hash, session epoch)."""

    __tablename__ = "staff_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    active: Mapped[bool] = mapped_column(default=True)
    # Bumped on logout and password change: every cookie issued before is void.
    session_epoch: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]


class WebKey(Base):
    """Secrets the review site signs cookies with, made on first start and kept in the ledger."""

    __tablename__ = "web_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[str] = mapped_column(sa.String(50), unique=True)
    secret: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StaffCorrection(Base):
    """One value a staff member changed on a read form (the reader's value is kept here)."""

    __tablename__ = "staff_corrections"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(sa.ForeignKey("submissions.id"), index=True)
    line_id: Mapped[int | None] = mapped_column(sa.ForeignKey("submission_lines.id"))  # None: the form's 合计
    field: Mapped[str] = mapped_column(sa.String(20))  # certificate | level | count | approved | requested | total
    old_value: Mapped[str] = mapped_column(sa.String(300))
    new_value: Mapped[str] = mapped_column(sa.String(300))
    staff: Mapped[str] = mapped_column(sa.String(100))
    at: Mapped[datetime] = mapped_column(default=utcnow)


# --- reminders, bounces and the staff digest (migration 0006_reminders) ----------------


class Reminder(Base):
    """One 催报 to one unit on one local day (the unique key makes a second one impossible)."""

    __tablename__ = "reminders"
    __table_args__ = (sa.UniqueConstraint("unit_id", "day", name="uq_reminders_unit_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), index=True)
    day: Mapped[date]  # in the profile's zone
    kind: Mapped[str] = mapped_column(sa.String(20))  # the form reminded of: summary | increase
    window_end: Mapped[date]
    addresses: Mapped[list[Any]] = mapped_column(default=list)
    thread_message_pk: Mapped[int | None] = mapped_column(sa.ForeignKey("messages.id"))  # the last rejected mail
    actor: Mapped[str] = mapped_column(sa.String(100))  # staff:<name> | worker (automatic)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class BouncedAddress(Base):
    """An address a delivery report (or a plain bounce) said cannot receive our mail."""

    __tablename__ = "bounced_addresses"
    __table_args__ = (sa.UniqueConstraint("address", "message_pk", name="uq_bounced_addresses_report"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(sa.String(320), index=True)  # lower-cased
    message_pk: Mapped[int] = mapped_column(sa.ForeignKey("messages.id"))  # the bounce itself
    status: Mapped[str] = mapped_column(sa.String(20), default="")  # DSN Status (5.1.1), "" for a plain bounce
    diagnostic: Mapped[str] = mapped_column(sa.Text, default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)


class Digest(Base):
    """The staff digest of one local day: one row per day, so two workers send it once."""

    __tablename__ = "digests"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(unique=True)
    addresses: Mapped[list[Any]] = mapped_column(default=list)
    figures: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
