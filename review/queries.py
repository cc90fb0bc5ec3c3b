"""Read-only views of the ledger for the pages: plain dataclasses, no ORM rows leak out.

The season's data is small (hundreds of units, a few thousand mails), so filters over
JSON reason lists and alias search run in Python after one SQL query: simple, and the
same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from math import ceil

import sqlalchemy as sa
from sqlalchemy.orm import Session

from config.profile import Profile, Window
from ledger.models import (
    Certificate,
    Event,
    Message,
    Quota,
    QuotaChange,
    Reply,
    StaffCorrection,
    Submission,
    SubmissionLine,
    Unit,
)
from ledger.season import tally
from templates import say, text

PAGE_SIZE = 25
SORTS = {
    "received": lambda r: (r.received_at, r.id),
    "unit": lambda r: (r.unit, r.received_at),
    "decision": lambda r: (r.decision, r.received_at),
    "total": lambda r: (r.total if r.total is not None else -1, r.received_at),
    "city": lambda r: (r.city, r.unit),
}


@dataclass(frozen=True)
class Row:
    id: int
    message_pk: int
    unit: str
    city: str
    kind: str
    decision: str
    reasons: tuple[str, ...]
    received_at: datetime
    total: int | None
    superseded: bool
    sender: str
    subject: str
    year: int = 0
    window_start: date | None = None
    line_count: int = 0


@dataclass(frozen=True)
class Filters:
    decision: str = ""
    reason: str = ""
    unit: str = ""  # part of a unit's name or alias
    city: str = ""
    kind: str = ""
    date_from: date | None = None
    date_to: date | None = None
    sort: str = "received"
    descending: bool = True
    page: int = 1
    include_superseded: bool = False


@dataclass(frozen=True)
class ListPage:
    rows: tuple[Row, ...]
    total: int
    page: int
    pages: int


def _units(s: Session) -> dict[str, Unit]:
    return {u.name: u for u in s.execute(sa.select(Unit)).scalars()}


def _rows(s: Session) -> list[Row]:
    units = _units(s)
    line_counts = dict(s.execute(sa.select(SubmissionLine.submission_id, sa.func.count())
                                 .group_by(SubmissionLine.submission_id)).all())
    query = (sa.select(Submission, Message.sender, Message.subject)
             .join(Message, Message.id == Submission.message_pk))
    out = []
    for sub, sender, subject in s.execute(query):
        unit = units.get(sub.unit)
        out.append(Row(
            id=sub.id, message_pk=sub.message_pk, unit=sub.unit, city=unit.city if unit else "", kind=sub.kind,
            decision=sub.decision, reasons=tuple(dict.fromkeys(r["code"] for r in sub.reasons)),
            received_at=sub.received_at, total=sub.total, superseded=sub.superseded_by_id is not None,
            sender=sender, subject=subject, year=sub.year, window_start=sub.window_start,
            line_count=line_counts.get(sub.id, 0)))
    return out


def _unit_matches(s: Session, text: str) -> set[str]:
    needle = "".join(text.split()).lower()
    return {u.name for u in _units(s).values()
            if any(needle in "".join(n.split()).lower() for n in (u.name, *u.aliases))}


def list_submissions(engine: sa.Engine, profile: Profile, f: Filters) -> ListPage:
    with Session(engine) as s:
        rows = _rows(s)
        names = _unit_matches(s, f.unit) if f.unit.strip() else None
    zone = profile.timezone

    def keep(r: Row) -> bool:
        local = r.received_at.astimezone(zone).date()
        return ((f.include_superseded or not r.superseded)
                and (not f.decision or r.decision == f.decision)
                and (not f.reason or f.reason in r.reasons)
                and (names is None or r.unit in names)
                and (not f.city or r.city == f.city)
                and (not f.kind or r.kind == f.kind)
                and (f.date_from is None or local >= f.date_from)
                and (f.date_to is None or local <= f.date_to))

    chosen = sorted(filter(keep, rows), key=SORTS.get(f.sort, SORTS["received"]), reverse=f.descending)
    pages = max(1, ceil(len(chosen) / PAGE_SIZE))
    page = min(max(1, f.page), pages)
    return ListPage(tuple(chosen[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]), len(chosen), page, pages)


def cities(engine: sa.Engine) -> list[str]:
    with Session(engine) as s:
        return sorted({c for c in s.execute(sa.select(Unit.city)).scalars() if c})


# --- dashboard ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Missing:
    unit: str
    type: str
    city: str
    contacts: tuple[str, ...]
    last_attempt: str  # decision of its latest summary in the window, "" when none
    unit_id: int  # its page: /units/{unit_id}


@dataclass(frozen=True)
class Dashboard:
    by_decision: dict[str, int]
    by_city: list[tuple[str, dict[str, int]]]
    by_window: list[tuple[str, str, dict[str, int]]]  # (form name, window label, counts)
    window: Window | None  # the window the season is in (open, next, or last)
    window_open: bool
    days_left: int | None  # days until the window closes (open) or opens (next)
    missing: list[Missing]
    per_day: list[tuple[date, int]]
    units_total: int
    messages_total: int
    other_total: int = 0  # mail that is no submission attempt (其他来信), for staff to read


def season_window(profile: Profile, today: date) -> tuple[Window | None, bool]:
    """The summary window now open, else the next one, else the last one."""
    windows = sorted(profile.form("summary").windows, key=lambda w: w.start) if profile.forms else []
    for w in windows:
        if w.start <= today <= w.end:
            return w, True
    upcoming = [w for w in windows if w.start > today]
    if upcoming:
        return upcoming[0], False
    return (windows[-1] if windows else None), False


def dashboard(engine: sa.Engine, profile: Profile, now: datetime) -> Dashboard:
    today = now.astimezone(profile.timezone).date()
    window, is_open = season_window(profile, today)
    with Session(engine) as s:
        # Each unit once: its current summary per window, one row per mail and form (``tally``).
        tallies = tally(_rows(s), profile, text("staff.dashboard.no_city"))
        units = _units(s)
        summaries = s.execute(sa.select(Submission.unit, Submission.decision, Submission.window_start,
                                        Submission.received_at, Submission.superseded_by_id)
                              .where(Submission.kind == "summary", Submission.year == profile.year)).all()
        messages_total = s.execute(sa.select(sa.func.count()).select_from(Message)).scalar_one()
        other_total = len(_ignored(s, "other"))

    accepted, latest = set(), {}
    for unit, decision, window_start, received_at, superseded in summaries:
        if window is not None and window_start not in (None, window.start):
            continue
        if decision == "accepted" and superseded is None:
            accepted.add(unit)
        if unit not in latest or received_at > latest[unit][0]:
            latest[unit] = (received_at, decision)
    missing = [Missing(u.name, u.type, u.city, tuple(u.contacts), latest.get(u.name, (None, ""))[1], u.id)
               for u in sorted(units.values(), key=lambda u: (u.city, u.name)) if u.name not in accepted]

    if window is not None:
        days = [window.start + timedelta(days=i) for i in range((window.end - window.start).days + 1)]
    else:
        days = [today - timedelta(days=i) for i in range(29, -1, -1)]
    days_left = None
    if window is not None:
        days_left = (window.end - today).days + 1 if is_open else ((window.start - today).days if window.start > today else None)
    return Dashboard(
        by_decision=tallies.by_decision, by_city=tallies.by_city,
        by_window=tallies.by_window, window=window, window_open=is_open, days_left=days_left, missing=missing,
        per_day=[(d, tallies.per_day.get(d, 0)) for d in days], units_total=len(units),
        messages_total=messages_total, other_total=other_total)


# --- mail without a submission ------------------------------------------------------------

# ``intake.pipeline`` writes these at the start of an ignored mail's note.
AUTO_NOTE = "auto-generated"
OTHER_NOTE = "not a submission attempt"
IGNORED_KINDS = {kind: text(f"staff.other.tab.{kind}") for kind in ("other", "auto", "all")}


@dataclass(frozen=True)
class IgnoredMail:
    id: int  # message
    received_at: datetime
    sender: str
    subject: str
    why: str  # for staff (staff.other.*, or the worker's note)
    auto: bool  # an auto-reply, bounce or list mail (else: a person wrote it)
    folder: str  # where it was filed on the server ("" while not yet filed)
    state: str


@dataclass(frozen=True)
class IgnoredPage:
    mails: tuple[IgnoredMail, ...]
    total: int
    page: int
    pages: int
    counts: dict[str, int]  # per IGNORED_KINDS key


def _why(note: str) -> tuple[str, bool]:
    """(the reason for staff, auto-generated?) from an ignored mail's note."""
    head, _sep, rest = note.partition(":")
    if head == AUTO_NOTE:
        return say("staff.other.auto", why=rest.strip() or text("staff.other.auto.none")), True
    if head == OTHER_NOTE:
        return rest.strip() or text("staff.other.not_attempt"), False
    return note or text("staff.other.not_attempt"), False


def _ignored(s: Session, kind: str) -> list[IgnoredMail]:
    rows = s.execute(sa.select(Message).where(Message.outcome.is_(None), Message.state != "stored")
                     .order_by(Message.received_at.desc(), Message.id.desc())).scalars()
    out = []
    for m in rows:
        why, auto = _why(m.note or "")
        if kind == "all" or (kind == "auto") == auto:
            out.append(IgnoredMail(m.id, m.received_at, m.sender, m.subject, why, auto, m.filed_folder, m.state))
    return out


def ignored_mail(engine: sa.Engine, kind: str = "other", page: int = 1) -> IgnoredPage:
    """Mail that got no reply, newest first: ``other`` (no submission attempt: staff read it),
    ``auto`` (auto-replies, bounces, lists) or ``all``."""
    kind = kind if kind in IGNORED_KINDS else "other"
    with Session(engine) as s:
        everything = _ignored(s, "all")
    counts = {"all": len(everything), "auto": sum(m.auto for m in everything)}
    counts["other"] = counts["all"] - counts["auto"]
    chosen = [m for m in everything if kind == "all" or (kind == "auto") == m.auto]
    pages = max(1, ceil(len(chosen) / PAGE_SIZE))
    page = min(max(1, page), pages)
    return IgnoredPage(tuple(chosen[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]), len(chosen), page, pages, counts)


# --- one submission -----------------------------------------------------------------------


@dataclass(frozen=True)
class LineView:
    id: int
    row: int
    certificate: str
    level: str
    count: int | None
    approved: int | None
    requested: int | None
    confident: bool


@dataclass(frozen=True)
class ReplyView:
    id: int
    to_addr: str
    status: str
    created_at: datetime
    sent_at: datetime | None
    raw: bytes
    last_error: str


@dataclass(frozen=True)
class EventView:
    at: datetime
    actor: str
    action: str
    detail: dict


@dataclass(frozen=True)
class Detail:
    submission: Submission
    message: Message
    city: str
    lines: tuple[LineView, ...]
    reasons: tuple[dict, ...]
    replies: tuple[ReplyView, ...]
    corrections: tuple[StaffCorrection, ...]
    events: tuple[EventView, ...]
    siblings: tuple[int, ...]  # other submissions of the same mail
    superseded_by: int | None
    unit_id: int | None = None  # the unit's page (/units/{unit_id}); None: no unit of that name in the ledger


def submission_detail(engine: sa.Engine, submission_id: int) -> Detail | None:
    with Session(engine, expire_on_commit=False) as s:
        sub = s.get(Submission, submission_id)
        if sub is None:
            return None
        message = s.get(Message, sub.message_pk)
        unit = s.execute(sa.select(Unit).where(Unit.name == sub.unit)).scalar_one_or_none()
        lines = tuple(LineView(l.id, l.row, l.certificate, l.level, l.count, l.approved, l.requested, l.confident)
                      for l in s.execute(sa.select(SubmissionLine).where(SubmissionLine.submission_id == sub.id)
                                         .order_by(SubmissionLine.position)).scalars())
        replies = tuple(ReplyView(r.id, r.to_addr, r.status, r.created_at, r.sent_at, r.raw, r.last_error)
                        for r in s.execute(sa.select(Reply).where(Reply.message_pk == message.id)
                                           .order_by(Reply.id)).scalars())
        corrections = tuple(s.execute(sa.select(StaffCorrection).where(StaffCorrection.submission_id == sub.id)
                                      .order_by(StaffCorrection.id)).scalars())
        events = tuple(EventView(e.at, e.actor, e.action, e.detail) for e in s.execute(
            sa.select(Event).where(Event.subject.in_([f"submission:{sub.id}", f"message:{message.id}"]))
            .order_by(Event.id)).scalars())
        siblings = tuple(s.execute(sa.select(Submission.id).where(Submission.message_pk == message.id,
                                                                  Submission.id != sub.id)).scalars())
        return Detail(sub, message, unit.city if unit else "", lines, tuple(sub.reasons), replies, corrections,
                      events, siblings, sub.superseded_by_id, unit.id if unit else None)


# --- quotas -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuotaChangeView:
    at: datetime
    old: int | None
    new: int
    cause: str
    actor: str
    submission_id: int | None
    source: str


@dataclass(frozen=True)
class QuotaView:
    year: int
    unit: str
    city: str
    certificate: str
    level: str
    approved: int
    changes: tuple[QuotaChangeView, ...] = field(default_factory=tuple)

    @property
    def increased(self) -> bool:
        return any(c.cause != "import" for c in self.changes)


def quotas(engine: sa.Engine, unit_text: str = "", only_changed: bool = False) -> list[QuotaView]:
    with Session(engine) as s:
        names = _unit_matches(s, unit_text) if unit_text.strip() else None
        changes: dict[int, list[QuotaChangeView]] = defaultdict(list)
        for c in s.execute(sa.select(QuotaChange).order_by(QuotaChange.at, QuotaChange.id)).scalars():
            changes[c.quota_id].append(QuotaChangeView(c.at, c.old_approved, c.new_approved, c.cause, c.actor,
                                                       c.submission_id, c.source))
        out = []
        for q, unit, city, cert in s.execute(
                sa.select(Quota, Unit.name, Unit.city, Certificate.name)
                .join(Unit, Quota.unit_id == Unit.id).join(Certificate, Quota.certificate_id == Certificate.id)
                .order_by(Quota.year, Unit.city, Unit.name, Certificate.name, Quota.level)):
            if names is not None and unit not in names:
                continue
            view = QuotaView(q.year, unit, city, cert, q.level, q.approved, tuple(changes.get(q.id, ())))
            if only_changed and not view.increased:
                continue
            out.append(view)
        return out
