"""Imports of the office's reference lists: units, certificate catalogue, approved quotas.

Each import first validates the whole file (pure functions over a ``Table``) and
only then writes, in one transaction: a bad row aborts the file with every problem
listed as ``file:row:column: 说明``. Importing the same file again changes nothing.
The units roster is read in the words offices write (``config/units.toml``: 高职院校
is 高职, 学校名称 is 单位名称); a unit type no list knows is imported as written and
reported in ``ImportSummary.warnings``, since no rule reads the type.
A quota whose number in the file changed is updated with a ``quota_changes`` row and
an event; increases accepted since the last import survive a re-import of an
unchanged file (the file is compared with what was last imported, not with the
current number).
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from domain.forms import LEVELS
from domain.rules import normalise_name
from domain.state import LedgerState
from ledger.models import Certificate, Event, Quota, QuotaChange, Unit, utcnow
from ledger.tabular import ImportFileError, Row, Table, read_table
from ledger.unit_words import UNIT_COLUMNS, UnitWords, load_unit_words
from templates import say

CATALOG_COLUMNS = ("批次", "证书名称", "培训评价组织", "级别")
QUOTA_COLUMNS = ("年度", "单位名称", "证书名称", "级别", "批准人数")
UNIT_OPTIONAL_COLUMNS = ("别名",)  # a roster without aliases is common; an absent column is no alias
CERT_SUFFIX = "职业技能等级证书"
ACTOR = "import"

# Lists in a cell: the contract says ; or ；. Addresses and levels also tolerate commas
# and spaces (no address or level contains one); aliases may contain spaces.
LIST_SEPARATORS = r"[;；]+"
LOOSE_SEPARATORS = r"[;；,，、|\s]+"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

Progress = Callable[[int, int], None]  # (rows done, rows in all)

# Rules that read a unit's type, as staff know them. None does today: the type only
# labels the exports (汇总), the per-city sheets' grouping and the review page's list of
# units that have not submitted, so a type no table knows is imported as written with a
# warning. Name a rule here when one starts to depend on the type: an unknown type then
# stops the import, naming the rule.
RULES_ON_UNIT_TYPE: tuple[str, ...] = ()

# Column widths of the ledger (ledger/models.py): a longer value is refused here, with
# its row, instead of failing the transaction on PostgreSQL.
UNIT_WIDTHS = {"单位名称": 200, "单位类型": 20, "所属市": 50}
CATALOG_WIDTHS = {"批次": 20, "证书名称": 200, "培训评价组织": 300}
WARNING_ROWS_SHOWN = 10


@dataclass(frozen=True)
class UnitRow:
    row: int
    name: str
    type: str  # canonical when the table knows the wording, else as written
    city: str
    aliases: tuple[str, ...]
    contacts: tuple[str, ...]
    written_type: str = ""  # the 单位类型 cell as the file writes it


@dataclass(frozen=True)
class CertificateRow:
    row: int
    batch: str
    name: str
    organization: str
    levels: tuple[str, ...]


@dataclass(frozen=True)
class QuotaRow:
    row: int
    year: int
    unit: str  # canonical names, resolved from names or aliases in the file
    certificate: str
    level: str
    approved: int


@dataclass(frozen=True)
class ImportSummary:
    kind: str  # units | catalog | quotas
    source: str
    rows: int
    created: int
    updated: int
    unchanged: int
    # Things imported but worth a look, ``file:rows:column: 说明`` (rows comma-separated):
    # unit types no table knows, empty types. The CLI prints them; the import's event keeps them.
    warnings: tuple[str, ...] = ()


def split_list(text: str, separators: str = LIST_SEPARATORS) -> tuple[str, ...]:
    """``a；b; c`` → ``('a', 'b', 'c')``, empty items dropped, order and first spelling kept."""
    return tuple(dict.fromkeys(p.strip() for p in re.split(separators, text) if p.strip()))


def certificate_name(text: str) -> str:
    """Catalogue names are kept without the common suffix 职业技能等级证书."""
    name = text.strip()
    return name[: -len(CERT_SUFFIX)].strip() if name.endswith(CERT_SUFFIX) and name != CERT_SUFFIX else name


class _Problems:
    """Problems of one file, each naming the column as the file's header writes it."""

    def __init__(self, source: str, labels: Mapping[str, str] | None = None):
        self.source, self.labels, self.items = source, labels or {}, []

    def add(self, row: Row | int, column: str, text: str) -> None:
        number = row.number if isinstance(row, Row) else row
        self.items.append(f"{self.source}:{number}:{self.labels.get(column, column)}: {text}")

    def raise_if_any(self) -> None:
        if self.items:
            raise ImportFileError(self.items)


def _required(row: Row, column: str, problems: _Problems) -> str:
    value = row.values[column]
    if not value:
        problems.add(row, column, say("imports.cell.empty"))
    return value


def _fits(row: Row, column: str, value: str, widths: Mapping[str, int], problems: _Problems) -> None:
    if len(value) > widths[column]:
        problems.add(row, column, say("imports.cell.too_long", limit=widths[column], length=len(value)))


def _rows_text(rows: list[int]) -> str:
    shown = ",".join(map(str, rows[:WARNING_ROWS_SHOWN]))
    return shown if len(rows) <= WARNING_ROWS_SHOWN else say("imports.rows.more", rows=shown, count=len(rows))


def _integer(row: Row, column: str, problems: _Problems, *, low: int, high: int, unit: str = "") -> int | None:
    # Full-width digits (２０２５) and a trailing unit (2025年) are how people type numbers here.
    text = unicodedata.normalize("NFKC", row.values[column]).replace(" ", "")
    text = text.removesuffix(unit) if unit else text
    if not text:
        problems.add(row, column, say("imports.cell.empty"))
        return None
    if not re.fullmatch(r"-?\d+", text):
        problems.add(row, column, say("imports.cell.not_integer", value=row.values[column]))
        return None
    value = int(text)
    if not low <= value <= high:
        problems.add(row, column, say("imports.cell.out_of_range", low=low, high=high, value=value))
        return None
    return value


def _levels(row: Row, column: str, problems: _Problems, *, allow_empty: bool) -> tuple[str, ...]:
    levels = split_list(row.values[column], LOOSE_SEPARATORS)
    wrong = [lv for lv in levels if lv not in LEVELS]
    if wrong:
        problems.add(row, column, say("imports.cell.levels", levels="、".join(LEVELS), wrong="、".join(wrong)))
    elif not levels and not allow_empty:
        problems.add(row, column, say("imports.cell.empty"))
    return tuple(lv for lv in LEVELS if lv in levels)


# --- validation (pure) --------------------------------------------------------------


def parse_units(table: Table, words: UnitWords | None = None) -> tuple[list[UnitRow], tuple[str, ...]]:
    """Validate the roster; return its rows (types made canonical) and the warnings."""
    words = words or load_unit_words()
    problems = _Problems(table.source, table.labels)
    label = table.label("单位类型")
    units, seen = [], {}
    unknown: dict[str, list[int]] = defaultdict(list)  # a type as written -> its rows
    for row in table.rows:
        name = _required(row, "单位名称", problems)
        _fits(row, "单位名称", name, UNIT_WIDTHS, problems)
        written = row.values["单位类型"]
        kind = words.canonical_type(written) if written else ""
        if kind is None:
            kind = written
            if RULES_ON_UNIT_TYPE:
                problems.add(row, "单位类型", say("imports.units.type_needed", type=written,
                                                  types="、".join(words.types), rules="、".join(RULES_ON_UNIT_TYPE)))
            else:
                unknown[written].append(row.number)
                _fits(row, "单位类型", written, UNIT_WIDTHS, problems)
        elif not written:
            unknown[""].append(row.number)
        city = _required(row, "所属市", problems)
        _fits(row, "所属市", city, UNIT_WIDTHS, problems)
        contacts = tuple(unicodedata.normalize("NFKC", c).lower()
                         for c in split_list(row.values["联系邮箱"], LOOSE_SEPARATORS))
        for address in contacts:
            if not _EMAIL.match(address):
                problems.add(row, "联系邮箱", say("imports.units.email", address=address))
        aliases = tuple(a for a in split_list(row.values["别名"]) if a != name)
        for text, column in [(name, "单位名称"), *((a, "别名") for a in aliases)]:
            key = normalise_name(text)
            if key and key in seen and seen[key] != row.number:
                problems.add(row, column, say("imports.units.duplicate", name=text, row=seen[key]))
            seen.setdefault(key, row.number)
        units.append(UnitRow(row.number, name, kind, city, aliases, contacts, written))
    problems.raise_if_any()
    known = "、".join(words.types)
    warnings = []
    for written, rows in unknown.items():
        where = f"{table.source}:{_rows_text(rows)}:{label}"
        if written:
            warnings.append(f"{where}: {say('imports.units.type_unknown', type=written, types=known)}")
        else:
            warnings.append(f"{where}: {say('imports.units.type_empty', types=known)}")
    return units, tuple(warnings)


def parse_catalog(table: Table) -> list[CertificateRow]:
    problems = _Problems(table.source, table.labels)
    certificates, seen = [], {}
    for row in table.rows:
        name = certificate_name(_required(row, "证书名称", problems))
        for column, value in (("证书名称", name), ("批次", row.values["批次"]),
                              ("培训评价组织", row.values["培训评价组织"])):
            _fits(row, column, value, CATALOG_WIDTHS, problems)
        key = normalise_name(name)
        if key and key in seen:
            problems.add(row, "证书名称", say("imports.catalog.duplicate", name=name, row=seen[key]))
        seen.setdefault(key, row.number)
        levels = _levels(row, "级别", problems, allow_empty=True)
        certificates.append(CertificateRow(row.number, row.values["批次"], name, row.values["培训评价组织"], levels))
    problems.raise_if_any()
    return certificates


def parse_quotas(table: Table, state: LedgerState) -> list[QuotaRow]:
    """Validate quota rows against the units and the catalogue already in the ledger."""
    problems = _Problems(table.source, table.labels)
    unit_names = {normalise_name(n): u.name for u in state.units for n in (u.name, *u.aliases)}
    certificates = {normalise_name(c.name): c for c in state.certificates}
    quotas, seen = [], {}
    for row in table.rows:
        year = _integer(row, "年度", problems, low=2019, high=2100, unit="年")
        unit = unit_names.get(normalise_name(_required(row, "单位名称", problems)))
        if row.values["单位名称"] and unit is None:
            problems.add(row, "单位名称", say("imports.quotas.unknown_unit", unit=row.values["单位名称"]))
        written = certificate_name(_required(row, "证书名称", problems))
        certificate = certificates.get(normalise_name(written))
        if written and certificate is None:
            problems.add(row, "证书名称", say("imports.quotas.unknown_certificate", certificate=written))
        levels = _levels(row, "级别", problems, allow_empty=False)
        level = levels[0] if len(levels) == 1 else ""
        if len(levels) > 1:
            problems.add(row, "级别", say("imports.quotas.one_level"))
        elif level and certificate and certificate.levels and level not in certificate.levels:
            offered = "、".join(lv for lv in LEVELS if lv in certificate.levels)
            problems.add(row, "级别", say("imports.quotas.level", certificate=certificate.name, level=level,
                                        levels=offered))
        approved = _integer(row, "批准人数", problems, low=0, high=100_000)
        if None not in (year, unit, certificate, approved) and level:
            key = (year, unit, certificate.name, level)
            if key in seen:
                problems.add(row, "证书名称", say("imports.quotas.duplicate", row=seen[key]))
            seen.setdefault(key, row.number)
            quotas.append(QuotaRow(row.number, year, unit, certificate.name, level, approved))
    problems.raise_if_any()
    return quotas


# --- writing (one transaction per file) ---------------------------------------------


def _event(s: Session, action: str, subject: str, detail: dict) -> None:
    s.add(Event(actor=ACTOR, action=action, subject=subject, detail=detail, at=utcnow()))


def _session(engine: sa.Engine) -> Session:
    return Session(engine, expire_on_commit=False)


def _tick(progress: Progress | None, done: int, total: int) -> None:
    if progress and (done % 100 == 0 or done == total):
        progress(done, total)


def import_units(engine: sa.Engine, path: Path, *, progress: Progress | None = None,
                 words: UnitWords | None = None) -> ImportSummary:
    """Import a units roster; ``words`` replaces ``config/units.toml`` (tests, other tables)."""
    words = words or load_unit_words()
    table = read_table(path, UNIT_COLUMNS, optional=UNIT_OPTIONAL_COLUMNS, synonyms=words.headers)
    rows, warnings = parse_units(table, words)
    created = updated = 0
    with _session(engine) as s, s.begin():
        existing = {u.name: u for u in s.execute(sa.select(Unit).with_for_update()).scalars()}
        for done, row in enumerate(rows, start=1):
            values = {"type": row.type, "city": row.city, "aliases": list(row.aliases), "contacts": list(row.contacts)}
            # The ledger keeps the canonical type; the event keeps the wording it came from.
            written = {"written_type": row.written_type} if row.written_type != row.type else {}
            unit = existing.get(row.name)
            if unit is None:
                s.add(Unit(name=row.name, updated_at=utcnow(), **values))
                _event(s, "unit.created", f"unit:{row.name}",
                       {"file": table.source, "row": row.row, **values, **written})
                created += 1
            else:
                before = {k: getattr(unit, k) for k in values}
                if before != values:
                    for key, value in values.items():
                        setattr(unit, key, value)
                    unit.updated_at = utcnow()
                    _event(s, "unit.updated", f"unit:{row.name}",
                           {"file": table.source, "row": row.row, "before": before, "after": values, **written})
                    updated += 1
            _tick(progress, done, len(rows))
        summary = ImportSummary("units", table.source, len(rows), created, updated, len(rows) - created - updated,
                                warnings)
        _event(s, "import.units", table.source, summary.__dict__)
    return summary


def import_catalog(engine: sa.Engine, path: Path, *, progress: Progress | None = None) -> ImportSummary:
    table = read_table(path, CATALOG_COLUMNS)
    rows = parse_catalog(table)
    created = updated = 0
    with _session(engine) as s, s.begin():
        existing = {c.name: c for c in s.execute(sa.select(Certificate).with_for_update()).scalars()}
        for done, row in enumerate(rows, start=1):
            values = {"batch": row.batch, "organization": row.organization, "levels": list(row.levels)}
            certificate = existing.get(row.name)
            if certificate is None:
                s.add(Certificate(name=row.name, updated_at=utcnow(), **values))
                _event(s, "certificate.created", f"certificate:{row.name}",
                       {"file": table.source, "row": row.row, **values})
                created += 1
            else:
                before = {k: getattr(certificate, k) for k in values}
                if before != values:
                    for key, value in values.items():
                        setattr(certificate, key, value)
                    certificate.updated_at = utcnow()
                    _event(s, "certificate.updated", f"certificate:{row.name}",
                           {"file": table.source, "row": row.row, "before": before, "after": values})
                    updated += 1
            _tick(progress, done, len(rows))
        summary = ImportSummary("catalog", table.source, len(rows), created, updated,
                                len(rows) - created - updated)
        _event(s, "import.catalog", table.source, summary.__dict__)
    return summary


def _state_for_quotas(s: Session) -> LedgerState:
    from domain.state import CertificateRef, UnitRef

    units = tuple(UnitRef(name=u.name, aliases=tuple(u.aliases)) for u in s.execute(sa.select(Unit)).scalars())
    certificates = tuple(CertificateRef(name=c.name, levels=frozenset(c.levels))
                         for c in s.execute(sa.select(Certificate)).scalars())
    return LedgerState(units=units, certificates=certificates)


def import_quotas(engine: sa.Engine, path: Path, *, progress: Progress | None = None) -> ImportSummary:
    table = read_table(path, QUOTA_COLUMNS)
    created = updated = 0
    with _session(engine) as s, s.begin():
        rows = parse_quotas(table, _state_for_quotas(s))
        unit_ids = dict(s.execute(sa.select(Unit.name, Unit.id)).all())
        cert_ids = dict(s.execute(sa.select(Certificate.name, Certificate.id)).all())
        quotas = {(q.year, q.unit_id, q.certificate_id, q.level): q
                  for q in s.execute(sa.select(Quota).with_for_update()).scalars()}
        # What each quota was last set to by an import: the file is compared with that.
        last_import = dict(s.execute(
            sa.select(QuotaChange.quota_id, QuotaChange.new_approved)
            .where(QuotaChange.cause == "import")
            .order_by(QuotaChange.id)).all())
        now = utcnow()
        new_quotas: list[tuple[Quota, QuotaRow]] = []
        for done, row in enumerate(rows, start=1):
            key = (row.year, unit_ids[row.unit], cert_ids[row.certificate], row.level)
            subject = f"quota:{row.year}/{row.unit}/{row.certificate}/{row.level}"
            quota = quotas.get(key)
            if quota is None:
                quota = Quota(year=row.year, unit_id=key[1], certificate_id=key[2], level=row.level,
                              approved=row.approved, updated_at=now)
                s.add(quota)
                new_quotas.append((quota, row))
                _event(s, "quota.imported", subject, {"file": table.source, "row": row.row, "approved": row.approved})
                created += 1
            elif last_import.get(quota.id) != row.approved:
                old = quota.approved
                quota.approved, quota.updated_at = row.approved, now
                s.add(QuotaChange(quota_id=quota.id, old_approved=old, new_approved=row.approved, cause="import",
                                  actor=ACTOR, source=f"{table.source}:{row.row}", at=now))
                _event(s, "quota.changed", subject, {
                    "file": table.source, "row": row.row, "old": old, "new": row.approved,
                    "previously_imported": last_import.get(quota.id)})
                updated += 1
            _tick(progress, done, len(rows))
        s.flush()  # one batch of INSERTs gives every new quota its id
        for quota, row in new_quotas:
            s.add(QuotaChange(quota_id=quota.id, old_approved=None, new_approved=row.approved, cause="import",
                              actor=ACTOR, source=f"{table.source}:{row.row}", at=now))
        summary = ImportSummary("quotas", table.source, len(rows), created, updated, len(rows) - created - updated)
        _event(s, "import.quotas", table.source, summary.__dict__)
    return summary
