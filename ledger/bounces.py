"""Addresses our mail bounced from: recorded once per bounce, skipped by reminders, shown to staff.

Only an address we have reason to write to is kept: one in the outbox (we sent to it) or,
for a delivery report, a unit's registered contact. A plain bounce's text names many
addresses (ours, quoted headers): only the ones we sent to count.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ledger.models import BouncedAddress, Event, Reply, Unit

ACTOR = "worker"


class Found(Protocol):  # ``intake.bounces.Bounced``
    address: str
    status: str
    diagnostic: str
    reported: bool


def record_bounces(engine: sa.Engine, message_pk: int, found: Sequence[Found], at: datetime) -> list[str]:
    """Keep the bounced addresses of one returned mail (message ``message_pk``); the addresses kept.

    Idempotent (unique per address and bounce): a retried mail records nothing twice."""
    if not found:
        return []
    kept: list[str] = []
    with Session(engine) as s, s.begin():
        sent_to = set(s.execute(sa.select(sa.func.lower(Reply.to_addr)).distinct()).scalars())
        units = s.execute(sa.select(Unit.name, Unit.contacts)).all()
        contacts = {c.lower() for _name, cs in units for c in cs}
        already = set(s.execute(sa.select(BouncedAddress.address)
                                .where(BouncedAddress.message_pk == message_pk)).scalars())
        for bounce in found:
            ours = bounce.address in sent_to or (bounce.reported and bounce.address in contacts)
            if not ours or bounce.address in already:
                continue
            s.add(BouncedAddress(address=bounce.address, message_pk=message_pk, status=bounce.status,
                                 diagnostic=bounce.diagnostic, at=at))
            already.add(bounce.address)
            kept.append(bounce.address)
            names = [name for name, cs in units if bounce.address in {c.lower() for c in cs}]
            detail = {"address": bounce.address, "status": bounce.status, "diagnostic": bounce.diagnostic,
                      "message": message_pk}
            for subject in [f"unit:{n}" for n in names] or [f"message:{message_pk}"]:
                s.add(Event(actor=ACTOR, action="address.bounced", subject=subject, detail=detail, at=at))
    return kept


def bounced(conn: sa.Connection | Session, addresses: Iterable[str] | None = None) -> dict[str, datetime]:
    """Every bounced address (or those of ``addresses``) with its latest bounce."""
    query = sa.select(BouncedAddress.address, sa.func.max(BouncedAddress.at)).group_by(BouncedAddress.address)
    if addresses is not None:
        query = query.where(BouncedAddress.address.in_([a.lower() for a in addresses]))
    return dict(conn.execute(query).all())


def bounced_after(conn: sa.Connection | Session, after_id: int) -> list[str]:
    """Addresses of the bounces recorded after row ``after_id`` (for the staff digest)."""
    return sorted(set(conn.execute(sa.select(BouncedAddress.address).where(BouncedAddress.id > after_id)).scalars()))
