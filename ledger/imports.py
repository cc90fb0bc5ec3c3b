"""Imports of the office's reference lists: units, certificate catalogue, approved quotas.

Each import first validates the whole file (pure functions over a ``Table``) and
only then writes, in one transaction: a bad row aborts the file with every problem
listed as ``file:row:column: 说明``. Importing the same file again changes nothing.
A quota whose number in the file changed is updated with a ``quota_changes`` row and
an event; increases accepted since the last import survive a re-import of an
unchanged file (the file is compared with what was last imported, not with the
current number).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ledger.models import Certificate, Event, Quota, QuotaChange, Unit, utcnow
from ledger.reconcile import normalise_name
from ledger.state import LedgerState
from ledger.tabular import ImportFileError, Row, Table, read_table
from parsers.model import LEVELS

UNIT_COLUMNS = ("单位名称", "单位类型", "所属市", "别名", "联系邮箱")
CATALOG_COLUMNS = ("批次", "证书名称", "培训评价组织", "级别")
QUOTA_COLUMNS = ("年度", "单位名称", "证书名称", "级别", "批准人数")
UNIT_TYPES = ("高职", "本科", "中职", "市教育局")
CERT_SUFFIX = "职业技能等级证书"
ACTOR = "import"

# Lists in a cell: the contract says ; or ；. Addresses and levels also tolerate commas
# and spaces (no address or level contains one); aliases may contain spaces.
LIST_SEPARATORS = r"[;；]+"
LOOSE_SEPARATORS = r"[;；,，、|\s]+"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

Progress = Callable[[int, int], None]  # (rows done, rows in all)


@dataclass(frozen=True)
class UnitRow:
    row: int
    name: str
    type: str
    city: str
    aliases: tuple[str, ...]
    contacts: tuple[str, ...]


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


def split_list(text: str, separators: str = LIST_SEPARATORS) -> tuple[str, ...]:
    """``a；b; c`` → ``('a', 'b', 'c')``, empty items dropped, order and first spelling kept."""
    return tuple(dict.fromkeys(p.strip() for p in re.split(separators, text) if p.strip()))


def certificate_name(text: str) -> str:
    """Catalogue names are kept without the common suffix 职业技能等级证书."""
    name = text.strip()
    return name[: -len(CERT_SUFFIX)].strip() if name.endswith(CERT_SUFFIX) and name != CERT_SUFFIX else name


class _Problems:
    def __init__(self, source: str):
        self.source, self.items = source, []

    def add(self, row: Row | int, column: str, text: str) -> None:
        number = row.number if isinstance(row, Row) else row
        self.items.append(f"{self.source}:{number}:{column}: {text}")

    def raise_if_any(self) -> None:
        if self.items:
            raise ImportFileError(self.items)


def _required(row: Row, column: str, problems: _Problems) -> str:
    value = row.values[column]
    if not value:
        problems.add(row, column, "不能为空")
    return value


def _integer(row: Row, column: str, problems: _Problems, *, low: int, high: int, unit: str = "") -> int | None:
    # Full-width digits (２０２５) and a trailing unit (2025年) are how people type numbers here.
    text = unicodedata.normalize("NFKC", row.values[column]).replace(" ", "")
    text = text.removesuffix(unit) if unit else text
    if not text:
        problems.add(row, column, "不能为空")
        return None
    if not re.fullmatch(r"-?\d+", text):
        problems.add(row, column, f"应为整数，读到“{row.values[column]}”")
        return None
    value = int(text)
    if not low <= value <= high:
        problems.add(row, column, f"应在 {low} 到 {high} 之间，读到 {value}")
        return None
    return value


def _levels(row: Row, column: str, problems: _Problems, *, allow_empty: bool) -> tuple[str, ...]:
    levels = split_list(row.values[column], LOOSE_SEPARATORS)
    wrong = [lv for lv in levels if lv not in LEVELS]
    if wrong:
        problems.add(row, column, f"级别只能是 {'、'.join(LEVELS)}，读到“{'、'.join(wrong)}”")
    elif not levels and not allow_empty:
        problems.add(row, column, "不能为空")
    return tuple(lv for lv in LEVELS if lv in levels)


# --- validation (pure) --------------------------------------------------------------


def parse_units(table: Table) -> list[UnitRow]:
    problems = _Problems(table.source)
    units, seen = [], {}
    for row in table.rows:
        name = _required(row, "单位名称", problems)
        kind = _required(row, "单位类型", problems)
        if kind and kind not in UNIT_TYPES:
            problems.add(row, "单位类型", f"应为 {'、'.join(UNIT_TYPES)} 之一，读到“{kind}”")
        city = _required(row, "所属市", problems)
        contacts = tuple(unicodedata.normalize("NFKC", c).lower()
                         for c in split_list(row.values["联系邮箱"], LOOSE_SEPARATORS))
        for address in contacts:
            if not _EMAIL.match(address):
                problems.add(row, "联系邮箱", f"“{address}”不是有效的邮箱地址（多个地址用分号隔开）")
        aliases = tuple(a for a in split_list(row.values["别名"]) if a != name)
        for label, column in [(name, "单位名称"), *((a, "别名") for a in aliases)]:
            key = normalise_name(label)
            if key and key in seen and seen[key] != row.number:
                problems.add(row, column, f"“{label}”与第 {seen[key]} 行的单位名称或别名重复")
            seen.setdefault(key, row.number)
        units.append(UnitRow(row.number, name, kind, city, aliases, contacts))
    problems.raise_if_any()
    return units


def parse_catalog(table: Table) -> list[CertificateRow]:
    problems = _Problems(table.source)
    certificates, seen = [], {}
    for row in table.rows:
        name = certificate_name(_required(row, "证书名称", problems))
        key = normalise_name(name)
        if key and key in seen:
            problems.add(row, "证书名称", f"“{name}”与第 {seen[key]} 行重复")
        seen.setdefault(key, row.number)
        levels = _levels(row, "级别", problems, allow_empty=True)
        certificates.append(CertificateRow(row.number, row.values["批次"], name, row.values["培训评价组织"], levels))
    problems.raise_if_any()
    return certificates


def parse_quotas(table: Table, state: LedgerState) -> list[QuotaRow]:
    """Validate quota rows against the units and the catalogue already in the ledger."""
    problems = _Problems(table.source)
    unit_names = {normalise_name(n): u.name for u in state.units for n in (u.name, *u.aliases)}
    certificates = {normalise_name(c.name): c for c in state.certificates}
    quotas, seen = [], {}
    for row in table.rows:
        year = _integer(row, "年度", problems, low=2019, high=2100, unit="年")
        unit = unit_names.get(normalise_name(_required(row, "单位名称", problems)))
        if row.values["单位名称"] and unit is None:
            problems.add(row, "单位名称", f"“{row.values['单位名称']}”不在单位名单中，请先导入单位名单或改用名单中的名称")
        written = certificate_name(_required(row, "证书名称", problems))
        certificate = certificates.get(normalise_name(written))
        if written and certificate is None:
            problems.add(row, "证书名称", f"“{written}”不在证书目录中，请先导入证书目录或改用目录中的名称")
        levels = _levels(row, "级别", problems, allow_empty=False)
        level = levels[0] if len(levels) == 1 else ""
        if len(levels) > 1:
            problems.add(row, "级别", "每行只能填写一个级别")
        elif level and certificate and certificate.levels and level not in certificate.levels:
            offered = "、".join(lv for lv in LEVELS if lv in certificate.levels)
            problems.add(row, "级别", f"证书“{certificate.name}”没有{level}，可选：{offered}")
        approved = _integer(row, "批准人数", problems, low=0, high=100_000)
        if None not in (year, unit, certificate, approved) and level:
            key = (year, unit, certificate.name, level)
            if key in seen:
                problems.add(row, "证书名称", f"与第 {seen[key]} 行是同一年度、单位、证书和级别")
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


def import_units(engine: sa.Engine, path: Path, *, progress: Progress | None = None) -> ImportSummary:
    table = read_table(path, UNIT_COLUMNS)
    rows = parse_units(table)
    created = updated = 0
    with _session(engine) as s, s.begin():
        existing = {u.name: u for u in s.execute(sa.select(Unit).with_for_update()).scalars()}
        for done, row in enumerate(rows, start=1):
            values = {"type": row.type, "city": row.city, "aliases": list(row.aliases), "contacts": list(row.contacts)}
            unit = existing.get(row.name)
            if unit is None:
                s.add(Unit(name=row.name, updated_at=utcnow(), **values))
                _event(s, "unit.created", f"unit:{row.name}", {"file": table.source, "row": row.row, **values})
                created += 1
            else:
                before = {k: getattr(unit, k) for k in values}
                if before != values:
                    for key, value in values.items():
                        setattr(unit, key, value)
                    unit.updated_at = utcnow()
                    _event(s, "unit.updated", f"unit:{row.name}",
                           {"file": table.source, "row": row.row, "before": before, "after": values})
                    updated += 1
            _tick(progress, done, len(rows))
        summary = ImportSummary("units", table.source, len(rows), created, updated, len(rows) - created - updated)
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
    from ledger.state import CertificateRef, UnitRef

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
