"""The season report's workbook: per-city and per-certificate totals, final quotas, increases.

Rows are built from ``ledger.season.Season`` (the figures the dashboard shows) and laid
out by ``ledger.export``'s sheet helper, so the report looks like the staff workbook:
bold frozen header row, filter, widths fitted to the Chinese text, times in the office's zone.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from config.profile import Profile
from ledger.export import DECISION_LABELS, _fill_sheet, _local  # the staff workbook's own sheet layout
from ledger.season import FinalQuota, QuotaStep, Season, days_by_window
from templates import say, text

DECISIONS = ("accepted", "rejected", "review")


def headers(key: str, season: Season | None = None) -> tuple[str, ...]:
    """A sheet's column titles (``report.columns.<key>``); ``{levels}`` stands for one column per level."""
    out: list[str] = []
    for title in text(f"report.columns.{key}").split("｜"):
        out.extend(season.levels if title == "{levels}" and season else [title])
    return tuple(out)


def overview_rows(season: Season, made_at: datetime, zone: ZoneInfo) -> list[tuple]:
    t = season.tallies
    return [
        (text("report.overview.year"), season.year),
        (text("report.overview.units"), season.units_total),
        (text("report.overview.messages"), season.messages_total),
        (text("report.overview.submissions"), t.submissions),
        *((DECISION_LABELS[d], t.by_decision.get(d, 0)) for d in DECISIONS),
        (text("report.overview.units_accepted"), sum(c.units_accepted for c in season.cities)),
        (text("report.overview.planned"), sum(c.planned_total for c in season.cities)),
        (text("report.overview.approved"), sum(c.approved for c in season.cities)),
        (text("report.overview.increases"), season.increases),
        (text("report.overview.made_at"), _local(made_at, zone)),
    ]


def city_rows(season: Season) -> list[tuple]:
    rows = [(c.city, c.units, c.units_accepted, *(c.decisions.get(d, 0) for d in DECISIONS),
             *(c.planned.get(level, 0) for level in season.levels), c.planned_total, c.approved)
            for c in season.cities]
    return rows + [_sum_row(text("report.total"), rows)] if rows else []


def certificate_rows(season: Season) -> list[tuple]:
    rows = [(c.certificate, c.units, *(c.planned.get(level, 0) for level in season.levels), c.planned_total,
             c.approved) for c in season.certificates]
    if not rows:
        return []
    total = _sum_row(text("report.total"), rows)
    # Units are not additive across certificates: the total is the units with an accepted summary.
    return rows + [(total[0], sum(c.units_accepted for c in season.cities), *total[2:])]


def _sum_row(label: str, rows: list[tuple]) -> tuple:
    return (label, *(sum(r[i] or 0 for r in rows) for i in range(1, len(rows[0]))))


def window_rows(season: Season) -> list[tuple]:
    return [(name, label, *(counts.get(d, 0) for d in DECISIONS)) for name, label, counts in season.tallies.by_window]


def day_rows(season: Season, profile: Profile) -> list[tuple]:
    windows, _outside = days_by_window(season.tallies, profile)
    days = {d: n for w in windows for d, n in w.days} | season.tallies.per_day
    return sorted(days.items())


def _actor(actor: str) -> str:
    if actor.startswith("staff:"):
        return say("report.actor.staff", name=actor.removeprefix("staff:"))
    return text(f"report.actor.{actor}") if actor in ("worker", "import") else actor


def _step_text(step: QuotaStep, zone: ZoneInfo) -> str:
    return say("report.step", old=step.old, new=step.new, at=_local(step.received_at or step.at, zone))


def quota_rows(season: Season, zone: ZoneInfo) -> list[tuple]:
    def row(f: FinalQuota) -> tuple:
        q = f.quota
        increases = [s for s in f.steps if s.cause == "increase"]
        return (q.city, q.unit, q.certificate, q.level, q.imported, len(increases), q.approved,
                text("report.history.separator").join(_step_text(s, zone) for s in f.steps))
    return [row(f) for f in season.quotas]


def step_rows(season: Season, zone: ZoneInfo) -> list[tuple]:
    rows = [(_local(s.received_at, zone), _local(s.at, zone), f.quota.city, f.quota.unit, f.quota.certificate,
             f.quota.level, s.old, s.new, text(f"report.cause.{s.cause}"), _actor(s.actor), s.subject, s.message_id)
            for f in season.quotas for s in f.steps]
    return sorted(rows, key=lambda r: (r[0] or r[1], r[1]))  # by the mail's arrival, then by the change


def write_workbook(season: Season, profile: Profile, path: Path, made_at: datetime) -> list[str]:
    """Write the season workbook; returns its sheet names in order."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    zone = profile.timezone
    sheets = [
        ("overview", headers("overview"), overview_rows(season, made_at, zone), False),
        ("cities", headers("cities", season), city_rows(season), True),
        ("certificates", headers("certificates", season), certificate_rows(season), True),
        ("windows", headers("windows"), window_rows(season), False),
        ("days", headers("days"), day_rows(season, profile), False),
        ("quotas", headers("quotas"), quota_rows(season, zone), False),
        ("increases", headers("increases"), step_rows(season, zone), False),
    ]
    workbook = Workbook()
    workbook.remove(workbook.active)
    names = []
    for key, titles, rows, total_row in sheets:
        sheet = workbook.create_sheet(text(f"report.sheet.{key}"))
        _fill_sheet(sheet, titles, rows)
        if total_row and rows:
            for cell in sheet[len(rows) + 1]:
                cell.font = Font(bold=True)
        if key == "days":
            for (cell,) in sheet.iter_rows(min_row=2, max_col=1):
                cell.number_format = "yyyy-mm-dd"
        names.append(sheet.title)
    workbook.save(path)
    return names
