"""The season's figures: what the review site's dashboard and the department's season report show.

``tally`` counts the submissions that count (``export.counted``: each unit once) per
decision, city, application window and day. The dashboard (``review.queries.dashboard``)
and ``intake report --season`` both take their figures from it, so the two cannot disagree.
``read_season`` adds what the department's summary needs: the candidates planned on
accepted summaries per city and per certificate by level, and every unit's final quotas
with the history of their increases (which mail, when).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from config.profile import Profile
from ledger.db import reader
from ledger.export import Counted, LedgerExport, QuotaEntry, collect, counted
from ledger.models import Certificate, Message, Quota, QuotaChange, Submission, Unit

LEVELS = ("初级", "中级", "高级")  # the catalogue's levels, in the forms' order (data)


class SeasonReportError(Exception):
    """A season report cannot be made (``cli.report`` says what to do)."""


class EmptyLedger(SeasonReportError):
    """Nothing to report yet: ``missing`` is ``units`` (no roster imported) or ``submissions``."""

    def __init__(self, missing: str):
        super().__init__(f"the ledger holds no {missing}")
        self.missing = missing


@dataclass(frozen=True)
class Tallies:
    by_decision: dict[str, int]
    by_city: list[tuple[str, dict[str, int]]]  # sorted by city
    by_window: list[tuple[str, str, dict[str, int]]]  # (form name, window label, counts)
    per_day: dict[date, int]  # by arrival day in the profile's zone

    @property
    def submissions(self) -> int:
        return sum(self.by_decision.values())


def tally(entries: Iterable[Counted], profile: Profile, no_city: str) -> Tallies:
    """Counts of the submissions that count (``counted``); ``no_city`` labels units without a city."""
    rows = counted(entries)
    zone = profile.timezone
    city_counts: dict[str, Counter] = defaultdict(Counter)
    for r in rows:
        city_counts[getattr(r, "city", "") or no_city][r.decision] += 1
    by_window = []
    for rule in profile.forms:
        for w in rule.windows:
            counts = Counter(r.decision for r in rows
                             if r.kind == rule.kind and w.start <= r.received_at.astimezone(zone).date() <= w.end)
            by_window.append((rule.name, w.label(), dict(counts)))
    return Tallies(
        by_decision=dict(Counter(r.decision for r in rows)),
        by_city=sorted((c, dict(n)) for c, n in city_counts.items()),
        by_window=by_window,
        per_day=dict(Counter(r.received_at.astimezone(zone).date() for r in rows)))


# --- the department's summary --------------------------------------------------------------


@dataclass(frozen=True)
class CityTotal:
    city: str
    units: int  # units of the roster in this city
    units_accepted: int  # of which have an accepted summary that counts
    decisions: dict[str, int]  # the dashboard's 按地市 counts
    planned: dict[str, int]  # level → candidates on accepted summaries
    approved: int  # final quotas of the year, summed

    @property
    def planned_total(self) -> int:
        return sum(self.planned.values())


@dataclass(frozen=True)
class CertificateTotal:
    certificate: str
    units: int  # units whose accepted summary lists it
    planned: dict[str, int]
    approved: int

    @property
    def planned_total(self) -> int:
        return sum(self.planned.values())


@dataclass(frozen=True)
class QuotaStep:
    """One change of a quota after it was first imported: an accepted increase, or a re-import."""

    at: datetime
    old: int | None
    new: int
    cause: str  # increase | import
    actor: str  # worker | import | staff:<name>
    message_id: str  # the mail of the increase ("" for a re-import)
    subject: str
    received_at: datetime | None


@dataclass(frozen=True)
class FinalQuota:
    quota: QuotaEntry
    steps: tuple[QuotaStep, ...]


@dataclass(frozen=True)
class Season:
    year: int
    tallies: Tallies
    units_total: int
    messages_total: int
    levels: tuple[str, ...]
    cities: tuple[CityTotal, ...]
    certificates: tuple[CertificateTotal, ...]
    quotas: tuple[FinalQuota, ...]

    @property
    def increases(self) -> int:
        return sum(1 for q in self.quotas for s in q.steps if s.cause == "increase")


def read_season(engine: sa.Engine, profile: Profile, no_city: str) -> Season:
    """The season's figures for ``profile``'s year; ``EmptyLedger`` when there is nothing to report."""
    data = collect(engine)
    if not data.units:
        raise EmptyLedger("units")
    if not data.submissions:
        raise EmptyLedger("submissions")
    with Session(reader(engine)) as s, s.begin():
        messages_total = s.execute(sa.select(sa.func.count()).select_from(Message)).scalar_one()
        steps = _steps(s, profile.year)
    tallies = tally(data.submissions, profile, no_city)
    accepted = [e for e in counted(data.submissions)
                if e.kind == "summary" and e.decision == "accepted" and e.year == profile.year]
    seen = {line.level for e in accepted for line in e.lines}
    levels = LEVELS + tuple(sorted(seen - set(LEVELS)))
    quotas = [q for q in data.quotas if q.year == profile.year]
    return Season(
        year=profile.year, tallies=tallies, units_total=len(data.units), messages_total=messages_total,
        levels=levels, cities=_cities(data, tallies, accepted, quotas, no_city),
        certificates=_certificates(accepted, quotas),
        quotas=tuple(FinalQuota(q, tuple(steps.get((q.unit, q.certificate, q.level), ()))) for q in quotas))


def _cities(data: LedgerExport, tallies: Tallies, accepted, quotas, no_city: str) -> tuple[CityTotal, ...]:
    units = Counter(u.city or no_city for u in data.units)
    with_summary: dict[str, set[str]] = defaultdict(set)
    planned: dict[str, Counter] = defaultdict(Counter)
    for e in accepted:
        with_summary[e.city or no_city].add(e.unit)
        for line in e.lines:
            planned[e.city or no_city][line.level] += line.count or 0
    approved = Counter()
    for q in quotas:
        approved[q.city or no_city] += q.approved
    decisions = dict(tallies.by_city)
    return tuple(CityTotal(city, units[city], len(with_summary[city]), decisions.get(city, {}),
                           dict(planned[city]), approved[city])
                 for city in sorted(set(units) | set(decisions)))


def _certificates(accepted, quotas) -> tuple[CertificateTotal, ...]:
    units: dict[str, set[str]] = defaultdict(set)
    planned: dict[str, Counter] = defaultdict(Counter)
    for e in accepted:
        for line in e.lines:
            units[line.certificate].add(e.unit)
            planned[line.certificate][line.level] += line.count or 0
    approved = Counter()
    for q in quotas:
        approved[q.certificate] += q.approved
    return tuple(CertificateTotal(cert, len(units[cert]), dict(planned[cert]), approved[cert])
                 for cert in sorted(set(planned) | set(approved)))


def _steps(s: Session, year: int) -> dict[tuple[str, str, str], list[QuotaStep]]:
    """Every change after a quota's first import, oldest first, keyed by (unit, certificate, level)."""
    query = (sa.select(QuotaChange, Unit.name, Certificate.name, Quota.level, Message.message_id, Message.subject,
                       Message.received_at)
             .join(Quota, QuotaChange.quota_id == Quota.id).join(Unit, Quota.unit_id == Unit.id)
             .join(Certificate, Quota.certificate_id == Certificate.id)
             .outerjoin(Submission, QuotaChange.submission_id == Submission.id)
             .outerjoin(Message, Submission.message_pk == Message.id)
             .where(Quota.year == year, QuotaChange.old_approved.is_not(None))
             .order_by(QuotaChange.at, QuotaChange.id))
    steps: dict[tuple[str, str, str], list[QuotaStep]] = defaultdict(list)
    for change, unit, cert, level, message_id, subject, received_at in s.execute(query):
        steps[(unit, cert, level)].append(QuotaStep(change.at, change.old_approved, change.new_approved, change.cause,
                                                    change.actor, message_id or "", subject or "", received_at))
    return steps


@dataclass(frozen=True)
class WindowDays:
    label: str  # the window as staff read it (``Window.label``)
    days: tuple[tuple[date, int], ...]  # every day of the window, as the dashboard's chart shows it


def days_by_window(tallies: Tallies, profile: Profile) -> tuple[tuple[WindowDays, ...], int]:
    """The per-day counts of each application window (of any form, each once), and how many
    counted submissions arrived on a day outside every window."""
    windows = sorted({w for rule in profile.forms for w in rule.windows}, key=lambda w: (w.start, w.end))
    inside: set[date] = set()
    out = []
    for w in windows:
        days = [date.fromordinal(n) for n in range(w.start.toordinal(), w.end.toordinal() + 1)]
        inside.update(days)
        out.append(WindowDays(w.label(), tuple((d, tallies.per_day.get(d, 0)) for d in days)))
    return tuple(out), sum(n for d, n in tallies.per_day.items() if d not in inside)
