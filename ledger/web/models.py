"""Tables of the review page: staff accounts, the app's signing key, staff corrections.

They share ``ledger.models.Base`` so one metadata (and one Alembic history) covers the
whole ledger; the migration ``0002_review_staff`` creates them.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ledger.models import Base, utcnow


class StaffAccount(Base):
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
    """Secrets the app signs cookies with, made on first start and kept in the ledger."""

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
