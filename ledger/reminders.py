"""Who is due a 催报 (reminder) today, and recording one: a ``reminders`` row, its outbox rows
and an event on the unit, in one transaction.

The unique key (unit, local day) of ``reminders`` is what stops a second reminder the same
day — from a second staff member, a second worker, or the automatic run after a manual one:
the insert fails and nothing of it is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from config.profile import Profile, Window
from ledger.bounces import bounced
from ledger.models import Event, Message, Reminder, Reply, Submission, Unit
from ledger.records import QUEUED, OutgoingReply

# A unit's state in the window, by its summary (``rejected`` also: its last form of any kind).
NONE, REJECTED, REVIEW, ACCEPTED = "none", "rejected", "review", "accepted"


@dataclass(frozen=True)
class RejectedMail:
    message_pk: int
    message_id: str
    subject: str
    received_at: datetime
    kind: str
    reasons: tuple[dict, ...]


@dataclass(frozen=True)
class Candidate:
    unit_id: int
    unit: str
    city: str
    state: str  # none | rejected | review | accepted
    kind: str  # the form to remind of
    window: Window | None  # that form's window open today (None: closed, no reminder)
    addresses: tuple[str, ...]  # usable: registered (or, with none registered, the last sender), not bounced
    bounced: tuple[str, ...]  # left out: a bounce said they cannot receive mail
    rejected: RejectedMail | None  # the last form, when it was rejected and nothing came after it
    reminded_today: bool
    last_reminded: date | None

    @property
    def due(self) -> bool:
        """In the default selection: nothing accepted yet (and nothing waiting for staff), or rejected."""
        return self.state in (NONE, REJECTED) and self.window is not None and not self.reminded_today

    @property
    def sendable(self) -> bool:
        """Staff may pick it: something is missing, an address works, the window is open, none sent today."""
        return self.state in (NONE, REJECTED) and bool(self.addresses) and self.window is not None \
            and not self.reminded_today


def open_window(profile: Profile, kind: str, today: date) -> Window | None:
    return next((w for w in profile.form(kind).windows if w.start <= today <= w.end), None)


def candidates(engine: sa.Engine, profile: Profile, today: date) -> list[Candidate]:
    """Every unit with its reminder state on ``today`` (the profile's local day), by city and name."""
    summary_window = open_window(profile, "summary", today)
    with Session(engine) as s:
        units = s.execute(sa.select(Unit).order_by(Unit.city, Unit.name)).scalars().all()
        rows = s.execute(sa.select(Submission, Message.message_id, Message.subject, Message.sender)
                         .join(Message, Message.id == Submission.message_pk)
                         .where(Submission.year == profile.year)
                         .order_by(Submission.received_at, Submission.id)).all()
        reminded = dict(s.execute(sa.select(Reminder.unit_id, sa.func.max(Reminder.day))
                                  .group_by(Reminder.unit_id)).all())
        gone = bounced(s)
    by_unit: dict[str, list] = {}
    for sub, message_id, subject, sender in rows:
        window = open_window(profile, sub.kind, today)
        if window is not None and window.contains(sub.received_at, profile.timezone):
            by_unit.setdefault(sub.unit, []).append((sub, message_id, subject, sender))
    return [_candidate(profile, unit, by_unit.get(unit.name, []), reminded.get(unit.id), gone, today,
                       summary_window) for unit in units]


def _candidate(profile, unit: Unit, rows, last_reminded, gone, today, summary_window) -> Candidate:
    summaries = [r for r in rows if r[0].kind == "summary"]
    accepted = any(sub.decision == ACCEPTED and sub.superseded_by_id is None for sub, *_ in summaries)
    last = rows[-1] if rows else None
    state, kind = NONE, "summary"
    if last is not None and last[0].decision == REJECTED:
        state, kind = REJECTED, last[0].kind
    elif accepted:
        state = ACCEPTED
    elif summaries:
        state = summaries[-1][0].decision
    rejected = None
    if state == REJECTED:
        sub, message_id, subject, _sender = last
        rejected = RejectedMail(sub.message_pk, message_id, subject, sub.received_at, sub.kind, tuple(sub.reasons))
    registered = list(dict.fromkeys(c.lower() for c in unit.contacts))
    if not registered and last is not None:
        registered = [last[3].lower()]  # none registered: the address the unit last wrote from
    return Candidate(
        unit_id=unit.id, unit=unit.name, city=unit.city, state=state, kind=kind,
        window=summary_window if kind == "summary" else open_window(profile, kind, today),
        addresses=tuple(a for a in registered if a not in gone), bounced=tuple(a for a in registered if a in gone),
        rejected=rejected, reminded_today=last_reminded == today, last_reminded=last_reminded)


def record_reminder(engine: sa.Engine, candidate: Candidate, day: date, mails: Sequence[OutgoingReply],
                    actor: str, now: datetime) -> bool:
    """Write the reminder, one outbox row per address and the unit's event; False (nothing written)
    when the unit was already reminded on ``day``."""
    try:
        with Session(engine) as s, s.begin():
            reminder = Reminder(unit_id=candidate.unit_id, day=day, kind=candidate.kind,
                                window_end=candidate.window.end, addresses=[m.to_addr for m in mails],
                                thread_message_pk=candidate.rejected.message_pk if candidate.rejected else None,
                                actor=actor, created_at=now)
            s.add(reminder)
            s.flush()  # the unique key (unit, day) answers here
            for mail in mails:
                s.add(Reply(message_pk=None, kind="reminder", reminder_id=reminder.id, to_addr=mail.to_addr,
                            reply_message_id=mail.reply_message_id, raw=mail.raw, status=QUEUED, attempts=0,
                            next_attempt_at=now, last_error="", created_at=now, lease_owner=""))
            s.add(Event(actor=actor, action="reminder.queued", subject=f"unit:{candidate.unit}", at=now, detail={
                "reminder": reminder.id, "day": day.isoformat(), "kind": candidate.kind,
                "to": [m.to_addr for m in mails], "window_end": candidate.window.end.isoformat(),
                "in_reply_to": candidate.rejected.message_id if candidate.rejected else None,
                "skipped_bounced": list(candidate.bounced)}))
    except sa.exc.IntegrityError:
        return False
    return True


@dataclass(frozen=True)
class SentReminder:
    day: date
    kind: str
    actor: str
    to_addr: str
    status: str  # of its outbox row: queued | sent | failed
    sent_at: datetime | None


def reminders_of(engine: sa.Engine, unit_id: int) -> list[SentReminder]:
    with Session(engine) as s:
        rows = s.execute(sa.select(Reminder.day, Reminder.kind, Reminder.actor, Reply.to_addr, Reply.status,
                                   Reply.sent_at).join(Reply, Reply.reminder_id == Reminder.id)
                         .where(Reminder.unit_id == unit_id).order_by(Reminder.day.desc(), Reply.id)).all()
    return [SentReminder(*row) for row in rows]


def reminded_after(conn: sa.Connection | Session, after_id: int) -> list[tuple[str, str]]:
    """(unit, actor) of every reminder recorded after row ``after_id`` (for the staff digest)."""
    return [tuple(r) for r in conn.execute(
        sa.select(Unit.name, Reminder.actor).join(Unit, Unit.id == Reminder.unit_id)
        .where(Reminder.id > after_id).order_by(Reminder.id)).all()]


@dataclass(frozen=True)
class UnitEvent:
    at: datetime
    actor: str
    action: str
    detail: dict


def unit_events(engine: sa.Engine, unit: str) -> list[UnitEvent]:
    """The audit trail of one unit (``unit:<name>``): imports, reminders, bounces; newest first."""
    with Session(engine) as s:
        rows = s.execute(sa.select(Event).where(Event.subject == f"unit:{unit}").order_by(Event.id.desc())).scalars()
        return [UnitEvent(e.at, e.actor, e.action, dict(e.detail)) for e in rows]


def unit_by_id(engine: sa.Engine, unit_id: int) -> Unit | None:
    with Session(engine, expire_on_commit=False) as s:
        return s.get(Unit, unit_id)
