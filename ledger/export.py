"""Ledger exports: the contract's JSON, and an Excel workbook staff can use as is.

``collect`` reads the ledger once into frozen values; ``to_json`` and ``write_xlsx``
only format them. Times are shown in the office's zone (Asia/Shanghai by default).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from domain.decision import Outcome, ReasonCode
from ledger.db import reader
from ledger.models import (
    Certificate,
    Event,
    Message,
    Quota,
    QuotaChange,
    Submission,
    SubmissionLine,
    Unit,
)
from templates import say

OFFICE_ZONE = ZoneInfo("Asia/Shanghai")
# Words of the workbook: templates/export.txt.
DECISION_LABELS = {str(o): say(f"export.decision.{o}") for o in Outcome}
KIND_LABELS = {kind: say(f"export.kind.{kind}") for kind in ("summary", "increase")}
# Short Chinese names of the reason codes for the workbook (the JSON keeps the codes).
REASON_LABELS = {str(code): say(f"export.reason.{code}") for code in ReasonCode}


@dataclass(frozen=True)
class LineEntry:
    row: int
    certificate: str
    level: str
    count: int | None
    approved: int | None
    requested: int | None


@dataclass(frozen=True)
class SubmissionEntry:
    id: int
    message_id: str
    sender: str
    subject: str
    unit: str
    city: str
    year: int
    kind: str
    received_at: datetime
    decision: str
    reasons: tuple[str, ...]  # distinct codes, first-seen order
    reason_rows: tuple[tuple[str, int | None], ...]  # (code, 序号 or None for the whole form)
    stamp: bool
    total: int | None
    superseded: bool
    lines: tuple[LineEntry, ...]
    message_pk: int = 0
    window_start: date | None = None  # the application window the submission belongs to

    @property
    def line_count(self) -> int:
        return len(self.lines)


class _Counted(Protocol):
    id: int
    message_pk: int
    unit: str
    year: int
    kind: str
    decision: str
    received_at: datetime
    total: int | None
    superseded: bool
    window_start: date | None

    @property
    def line_count(self) -> int: ...


Counted = TypeVar("Counted", bound=_Counted)


def counted(entries: Iterable[Counted]) -> list[Counted]:
    """The submissions that count, each unit once: what tallies (汇总, city sheets, the dashboard) use.

    * A superseded summary never counts.
    * One mail counts once per form kind: ledgers written before one submission per form
      kind hold two rows for a form sent twice in one mail (a PDF and its photo) or for an
      empty 附件1 page beside the form; the row with lines (and a total) stands for the mail.
    * A unit's summaries count once per year and application window: the current one —
      the newest not rejected, or the newest rejection when nothing else is left (a
      rejected summary supersedes nothing, so an earlier rejection stays beside the
      accepted correction in the ledger, but only the correction counts).
    * Every increase request (one per mail) counts.
    Order: by arrival.
    """
    per_mail: dict[tuple[int, str], Counted] = {}
    for entry in entries:
        if entry.superseded:
            continue
        key = (entry.message_pk, entry.kind)
        if key not in per_mail or _fuller(entry) > _fuller(per_mail[key]):
            per_mail[key] = entry
    summaries: dict[tuple, Counted] = {}
    others: list[Counted] = []
    for entry in per_mail.values():
        if entry.kind != "summary":
            others.append(entry)
            continue
        key = (entry.unit, entry.year, entry.window_start)
        if key not in summaries or _current(entry) > _current(summaries[key]):
            summaries[key] = entry
    return sorted([*others, *summaries.values()], key=lambda e: (e.received_at, e.id))


def _fuller(entry: _Counted) -> tuple:
    return (entry.line_count > 0, entry.total is not None, entry.line_count, -entry.id)


def _current(entry: _Counted) -> tuple:
    return (entry.decision != "rejected", entry.received_at, entry.message_pk, entry.id)


@dataclass(frozen=True)
class QuotaEntry:
    year: int
    unit: str
    city: str
    certificate: str
    level: str
    approved: int  # now, with accepted increases applied
    imported: int | None  # as last imported
    increases: int  # accepted increases applied


@dataclass(frozen=True)
class UnitEntry:
    name: str
    type: str
    city: str


@dataclass(frozen=True)
class EventEntry:
    at: datetime
    actor: str
    action: str
    subject: str
    detail: dict[str, Any]


@dataclass(frozen=True)
class LedgerExport:
    units: tuple[UnitEntry, ...]
    submissions: tuple[SubmissionEntry, ...]
    quotas: tuple[QuotaEntry, ...]
    events: tuple[EventEntry, ...]


def collect(engine: sa.Engine) -> LedgerExport:
    """Everything the exports show, read in one transaction (a consistent picture)."""
    with Session(reader(engine)) as s, s.begin():
        # Sorted in Python, not by the database: collations differ between servers.
        units = {u.name: UnitEntry(u.name, u.type, u.city)
                 for u in sorted(s.execute(sa.select(Unit)).scalars(), key=lambda u: (u.city, u.name))}
        lines: dict[int, list[LineEntry]] = defaultdict(list)
        for line in s.execute(sa.select(SubmissionLine).order_by(SubmissionLine.submission_id,
                                                                 SubmissionLine.position)).scalars():
            lines[line.submission_id].append(LineEntry(line.row, line.certificate, line.level, line.count,
                                                       line.approved, line.requested))
        submissions = []
        for sub, message in s.execute(sa.select(Submission, Message).join(Message, Submission.message_pk == Message.id)
                                      .order_by(Submission.received_at, Submission.id)):
            unit = units.get(sub.unit)
            submissions.append(SubmissionEntry(
                id=sub.id, message_id=message.message_id, sender=message.sender, subject=message.subject,
                unit=sub.unit, city=unit.city if unit else "", year=sub.year, kind=sub.kind,
                received_at=sub.received_at, decision=sub.decision,
                reasons=tuple(dict.fromkeys(r["code"] for r in sub.reasons)),
                reason_rows=tuple((r["code"], r.get("row")) for r in sub.reasons), stamp=sub.stamp, total=sub.total,
                superseded=sub.superseded_by_id is not None, lines=tuple(lines[sub.id]),
                message_pk=sub.message_pk, window_start=sub.window_start))
        imported = dict(s.execute(sa.select(QuotaChange.quota_id, QuotaChange.new_approved)
                                  .where(QuotaChange.cause == "import").order_by(QuotaChange.id)).all())
        increases = dict(s.execute(sa.select(QuotaChange.quota_id, sa.func.count())
                                   .where(QuotaChange.cause == "increase").group_by(QuotaChange.quota_id)).all())
        level_order = {"初级": 0, "中级": 1, "高级": 2}
        quotas = tuple(sorted(
            (QuotaEntry(q.year, unit, units[unit].city, cert, q.level, q.approved, imported.get(q.id),
                        increases.get(q.id, 0))
             for q, unit, cert in s.execute(
                 sa.select(Quota, Unit.name, Certificate.name).join(Unit, Quota.unit_id == Unit.id)
                 .join(Certificate, Quota.certificate_id == Certificate.id))),
            key=lambda q: (q.year, q.city, q.unit, q.certificate, level_order.get(q.level, 9))))
        events = tuple(EventEntry(e.at, e.actor, e.action, e.subject, e.detail)
                       for e in s.execute(sa.select(Event).order_by(Event.id)).scalars())
        return LedgerExport(tuple(units.values()), tuple(submissions), quotas, events)


# --- JSON (the outside contract) ------------------------------------------------------


def _json_lines(entry: SubmissionEntry) -> list[dict[str, Any]]:
    if entry.kind == "increase":
        return [{"certificate": l.certificate, "level": l.level, "approved": l.approved, "requested": l.requested}
                for l in entry.lines]
    return [{"certificate": l.certificate, "level": l.level, "count": l.count} for l in entry.lines]


def to_json(export: LedgerExport, zone: ZoneInfo = OFFICE_ZONE) -> dict[str, Any]:
    """Exactly the contract's shape; submissions in order of arrival (superseded ones included)."""
    return {
        "submissions": [
            {"message_id": e.message_id, "unit": e.unit, "kind": e.kind, "year": e.year,
             "received_at": e.received_at.astimezone(zone).isoformat(), "decision": e.decision,
             "reasons": list(e.reasons), "stamp": e.stamp, "total": e.total, "lines": _json_lines(e)}
            for e in export.submissions
        ],
        "quotas": [
            {"year": q.year, "unit": q.unit, "certificate": q.certificate, "level": q.level, "approved": q.approved}
            for q in export.quotas
        ],
    }


def write_json(export: LedgerExport, path: Path, zone: ZoneInfo = OFFICE_ZONE) -> None:
    Path(path).write_text(json.dumps(to_json(export, zone), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


# --- Excel ------------------------------------------------------------------------------

SUMMARY_HEADERS = tuple(say("export.columns.summary").split("｜"))
DETAIL_HEADERS = tuple(say("export.columns.detail").split("｜"))
QUOTA_HEADERS = tuple(say("export.columns.quotas").split("｜"))
EVENT_HEADERS = tuple(say("export.columns.events").split("｜"))
CITY_HEADERS = tuple(say("export.columns.city").split("｜"))
NOT_RECEIVED = say("export.not_received")


def _local(moment: datetime | None, zone: ZoneInfo) -> datetime | None:
    """Excel has no time zones: show the office's wall-clock time."""
    return moment.astimezone(zone).replace(tzinfo=None) if moment else None


def summary_rows(export: LedgerExport, zone: ZoneInfo = OFFICE_ZONE) -> list[tuple]:
    """Per unit: what arrived and where its summary stands (its current summary counts, see ``counted``).

    收到表格数 counts forms received, one per mail and form kind (superseded ones included)."""
    by_unit: dict[str, list[SubmissionEntry]] = defaultdict(list)
    for entry in export.submissions:
        by_unit[entry.unit].append(entry)
    rows = []
    for unit in export.units:
        entries = by_unit.get(unit.name, [])
        current_entries = counted(entries)
        current = max((e for e in current_entries if e.kind == "summary"), key=_current, default=None)
        increases = [e for e in current_entries if e.kind == "increase"]
        rows.append((
            unit.name, unit.type, unit.city, len({(e.message_pk, e.kind) for e in entries}),
            DECISION_LABELS.get(current.decision, current.decision) if current else NOT_RECEIVED,
            current.total if current and current.decision != "rejected" else None,
            f"{sum(e.decision == 'accepted' for e in increases)}/{len(increases)}",
            _local(max((e.received_at for e in entries), default=None), zone),
            _labels(current.reasons) if current else "",
        ))
    return rows


def _labels(codes) -> str:
    return "、".join(dict.fromkeys(REASON_LABELS.get(c, c) for c in codes))


def detail_rows(export: LedgerExport, zone: ZoneInfo = OFFICE_ZONE) -> list[tuple]:
    rows = []
    for e in export.submissions:
        common = (_local(e.received_at, zone), e.unit, e.city, KIND_LABELS.get(e.kind, e.kind),
                  DECISION_LABELS.get(e.decision, e.decision), say("export.yes") if e.superseded else say("export.no"))
        for line in e.lines or (None,):
            values = ((line.row, line.certificate, line.level, line.count, line.approved, line.requested)
                      if line else (None, say("export.no_form"), "", None, None, None))
            # A line shows its own problems and those of the whole form.
            codes = [c for c, row in e.reason_rows if row is None or (line is not None and row == line.row)]
            rows.append(common + values + (_labels(codes), e.message_id))
    return rows


def quota_rows(export: LedgerExport) -> list[tuple]:
    return [(q.year, q.unit, q.city, q.certificate, q.level, q.imported, q.increases, q.approved)
            for q in export.quotas]


def event_rows(export: LedgerExport, zone: ZoneInfo = OFFICE_ZONE) -> list[tuple]:
    return [(_local(e.at, zone), e.actor, e.action, e.subject, json.dumps(e.detail, ensure_ascii=False))
            for e in export.events]


def city_rows(export: LedgerExport, city: str, zone: ZoneInfo = OFFICE_ZONE) -> list[tuple]:
    """A city's current forms, each unit's summary once (``counted``), for the bureau's preliminary review."""
    rows = []
    for e in counted(e for e in export.submissions if e.city == city):
        for line in e.lines or (None,):
            values = ((line.row, line.certificate, line.level, line.count, line.approved, line.requested)
                      if line else (None, say("export.no_form"), "", None, None, None))
            rows.append((e.unit, KIND_LABELS.get(e.kind, e.kind), DECISION_LABELS.get(e.decision, e.decision))
                        + values + (_local(e.received_at, zone),))
    return rows


def _sheet_title(city: str, taken: set[str]) -> str:
    title = "".join(ch for ch in city if ch not in '[]:*?/\\')[:31] or say("export.sheet.no_city")
    while title in taken:
        title = title[:29] + "_2"
    return title


def _display_width(value: object) -> int:
    text = value.strftime("%Y-%m-%d %H:%M") if isinstance(value, datetime) else str(value if value is not None else "")
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


def _fill_sheet(sheet, headers: tuple[str, ...], rows: list[tuple]) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    sheet.append(list(headers))
    for row in rows:
        sheet.append(list(row))
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")
    for cell in sheet[1]:
        cell.font, cell.fill = bold, fill
        cell.alignment = Alignment(horizontal="center", vertical="center")
    for column in sheet.iter_cols(min_row=2):
        for cell in column:
            if isinstance(cell.value, datetime):
                cell.number_format = "yyyy-mm-dd hh:mm"
            elif isinstance(cell.value, int) and not isinstance(cell.value, bool):
                cell.number_format = "0"
    for index, header in enumerate(headers, start=1):
        widest = max([_display_width(header)] + [_display_width(r[index - 1]) for r in rows[:2000]])
        sheet.column_dimensions[get_column_letter(index)].width = min(max(widest + 2, 8), 60)
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{max(len(rows) + 1, 1)}"


def write_xlsx(export: LedgerExport, path: Path, zone: ZoneInfo = OFFICE_ZONE) -> list[str]:
    """Write the workbook; returns its sheet names in order."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheets = [(say("export.sheet.summary"), SUMMARY_HEADERS, summary_rows(export, zone)),
              (say("export.sheet.detail"), DETAIL_HEADERS, detail_rows(export, zone)),
              (say("export.sheet.quotas"), QUOTA_HEADERS, quota_rows(export)),
              (say("export.sheet.events"), EVENT_HEADERS, event_rows(export, zone))]
    taken = {name for name, *_ in sheets}
    for city in sorted({u.city for u in export.units if u.city}):
        title = _sheet_title(city, taken)
        taken.add(title)
        sheets.append((title, CITY_HEADERS, city_rows(export, city, zone)))
    workbook.remove(workbook.active)
    for title, headers, rows in sheets:
        _fill_sheet(workbook.create_sheet(title), headers, rows)
    workbook.save(path)
    return [title for title, *_ in sheets]
