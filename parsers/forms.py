"""A ``PageScan`` → a ``PageReading``: which form it is and what it says, with confidence.

Pure functions over the scan: classify by the title keywords of the profile's form
rules, find the header row and map columns by header *text* (``parsers.columns``: never
by position, so a missing or extra column cannot shift the numbers), then read rows
until the 合计 row.

The rule at the heart of it: a value is ``confident`` only when the reader has
evidence it is right — the PDF text layer gave it, or both OCR engines read it the
same way with high confidence, and (for names) the catalogue matched it clearly.
Anything else is marked, so the decision becomes ``review``, never a silent guess.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from config.profile import FormRule, Profile
from domain.forms import (
    IncreaseForm,
    IncreaseLine,
    PageReading,
    SummaryForm,
    SummaryLine,
)
from ocr.model import Cell, Grid, PageScan
from parsers.catalog import Catalogue
from parsers.columns import NUMBER_FIELDS, Header, find_header, header_texts, key
from parsers.unit_line import read_date, read_unit, unit_in_table
from parsers.values import Value, cell_text, read_level, read_number
from templates import say, text

TOTAL_LABELS = ("合计", "总计")
_DAMAGED_TOTAL = re.compile(r"合\D|\D计|总\D")
APPLICATION_KEYWORDS = ("申报表", "申请表")  # 附件1 and other annexes: a form, but not a quota form
# Seal scores that count as a stamp. A round shape alone (gray) is weaker evidence:
# table corners and ring-like glyphs also score, so it must score high.
STAMP_MIN_SCORE = {"red": 0.5, "gray": 0.9, "ink": 0.5}  # ink: a seal of another colour (ocr.seal.coloured_seal)
# Any round mark at all on a scan leaves "no stamp" in doubt: measured gray scores of
# real seals (0.45 on a black-and-white scan) and of table corners (0.6–0.7) overlap.
STAMP_DOUBT_SCORE = 0.0


# ---------------------------------------------------------------- classification


TITLE_ROWS = 2  # a title may be a merged row inside the table, above the header


def classify(scan: PageScan, profile: Profile) -> str:
    """summary | increase (the profile's form kinds) | application | unknown."""
    for title in _title_candidates(scan):  # top to bottom: the title comes first
        for rule in profile.forms:
            if any(key(word) in title for word in rule.title_keywords):
                return rule.kind
    # A title lost under a seal or smudge: the table header still names the form,
    # when exactly one rule explains every column of it.
    if scan.grid is not None:
        fits = [rule.kind for rule in profile.forms if _explains_header(scan.grid, rule)]
        if len(fits) == 1:
            return fits[0]
    for line in scan.lines:
        if any(word in key(line.text) for word in APPLICATION_KEYWORDS):
            return "application"
    # Last resort on a damaged scan: the column names are on the page, though the
    # table grid did not hold them. Classifying lets the reader say "unreadable table"
    # (a human look) instead of "no form here" (a rejection).
    words = "".join(key(line.text) for line in scan.lines)
    if scan.grid is not None:
        words += "".join(key(c.text) for c in scan.grid.cells)
    fits = [rule.kind for rule in profile.forms if _names_all_fields(words, rule)]
    if len(fits) == 1:
        return fits[0]
    return "unknown"


def _title_candidates(scan: PageScan) -> list[str]:
    """Lines above the table, then the table's first rows when they are merged across it."""
    if scan.grid is None:
        return [key(line.text) for line in scan.lines]
    top = scan.grid.bbox[1]
    above = [key(line.text) for line in scan.lines if line.bbox[3] <= top + 5]
    merged = [key(c.text) for c in scan.grid.cells
              if c.row < TITLE_ROWS and c.col_span == scan.grid.n_cols > 1 and c.text.strip()]
    below = [key(line.text) for line in scan.lines if line.bbox[3] > top + 5]
    return above + merged + below


def _names_all_fields(words: str, rule: FormRule) -> bool:
    return all(any(key(name) in words for name in names) for names in rule.columns.values())


def _explains_header(grid: Grid, rule: FormRule) -> bool:
    header = find_header(grid, rule, by_elimination=False)
    if header is None:
        return False
    named = set(header_texts(grid, header.row))
    return named <= set(header.columns.values()) | {header.seq}


def read_stamp(scan: PageScan, source: str, absence_visible: bool = True) -> Value:
    """Stamped or not, and whether we are sure.

    A red seal, or a round gray mark scoring high (gray scans lose the colour), is a
    stamp. "No stamp" is sure only on a text layer, or on a scan where a missing seal
    is evident (``absence_visible``: colour, no red ink anywhere) and no round mark was
    seen: otherwise a seal may have been missed, and a human looks instead of the form
    being rejected for a stamp that may be there.
    """
    if any(s.score >= STAMP_MIN_SCORE.get(s.colour, 1.0) for s in scan.seals):
        return Value(True, True)
    if source == "text":
        return Value(False, True)
    doubtful = not absence_visible or any(s.score >= STAMP_DOUBT_SCORE for s in scan.seals)
    return Value(False, not doubtful)


# ---------------------------------------------------------------- rows


@dataclass(frozen=True)
class _Row:
    number: int
    certificate: Value
    certificate_read: str
    matched: bool
    level: Value
    numbers: dict[str, Value]

    @property
    def unsure(self) -> tuple[str, ...]:
        fields = {"certificate": self.certificate, "level": self.level, **self.numbers}
        return tuple(name for name, value in fields.items() if not value.confident)

    @property
    def confident(self) -> bool:
        return self.certificate.confident and self.level.confident and all(v.confident for v in self.numbers.values())


def _is_total_label(text: str) -> bool:
    """合计 or 总计, or a two-character cell OCR left half of (合记, 台计)."""
    return any(label in text for label in TOTAL_LABELS) or bool(_DAMAGED_TOTAL.fullmatch(text))


def _is_total_row(grid: Grid, row: int) -> bool:
    return any(_is_total_label(key(c.text)) for c in grid.row_cells(row)) or any(
        any(label in key(c.text) for label in TOTAL_LABELS)
        for c in grid.cells
        if c.row < row < c.row + c.row_span  # a merged 合计 cell started above
    )


def _read_rows(
    grid: Grid, header: Header, source: str, catalogue: Catalogue, number_fields: Sequence[str]
) -> tuple[list[_Row], Value | None]:
    rows: list[_Row] = []
    total: Value | None = None
    position = 0
    for r in range(header.row + 1, grid.n_rows):
        cells = {field: grid.cell(r, col) for field, col in header.columns.items()}
        if _is_total_row(grid, r):
            if "count" in cells and total is None:
                total = read_number(cells["count"], source)
            continue
        if all(not cell_text(cells[f]) for f in cells):
            continue  # blank trailing row
        position += 1
        # The school's 序号 when it was read with confidence; else the position (a misread
        # 序号 would put a right row under another row's number).
        seq = read_number(grid.cell(r, header.seq), source) if header.seq is not None else Value(None, False)
        number = seq.value if seq.confident and seq.value < 1000 else position
        name_read = cell_text(cells["certificate"])
        match = catalogue.match(name_read)
        if match.name is not None:
            certificate = Value(match.name, match.confident and (source == "text" or _name_evidence(cells["certificate"])))
        else:
            # Not in the catalogue: from a text layer the school wrote it (cert.unknown);
            # from OCR it may be a misread, so a human looks first.
            certificate = Value(name_read, source == "text" and bool(name_read))
        rows.append(
            _Row(
                number=number,
                certificate=certificate,
                certificate_read=name_read,
                matched=match.name is not None,
                level=read_level(cells["level"], source),
                numbers={f: read_number(cells[f], source) for f in number_fields},
            )
        )
    return rows, total


def _name_evidence(cell: Cell | None) -> bool:
    # The catalogue match carries the weight for names; the engine only must have seen ink.
    return cell is not None and bool(cell.text.strip())


# ---------------------------------------------------------------- page


def read_page(
    scan: PageScan,
    *,
    index: int,
    profile: Profile,
    catalogue: Catalogue,
    source: str,
    absence_visible: bool = True,
) -> PageReading:
    """Classify ``scan`` and, for a quota form of the profile, read it.

    ``absence_visible``: on this page image a missing seal would be evident (colour, no
    red ink at all); False for gray and black-and-white scans and pages with stray red.
    """
    kind = classify(scan, profile)
    notes = list(scan.notes)
    if scan.rotation:
        notes.append(say("attachments.reader.note.rotated", degrees=scan.rotation))
    if kind not in {rule.kind for rule in profile.forms}:
        return PageReading(index=index, kind=kind, form=None, source=source, notes=tuple(notes))
    rule = profile.form(kind)
    unit = read_unit(scan.lines, source)
    if not unit.value:
        unit = unit_in_table(scan, source) or unit
    date = read_date(scan.lines)
    if date:
        notes.append(say("attachments.reader.note.date", date=date))
    stamp = read_stamp(scan, source, absence_visible)
    header = find_header(scan.grid, rule) if scan.grid is not None else None
    if header is None:
        notes.append(text("attachments.reader.note.no_table" if scan.grid is None
                          else "attachments.reader.note.no_header"))
        form = _empty_form(kind, unit, stamp)
        return PageReading(index=index, kind=kind, form=form, source=source, notes=tuple(notes))

    number_fields = [f for f in rule.columns if f in NUMBER_FIELDS]
    rows, total = _read_rows(scan.grid, header, source, catalogue, number_fields)
    if not rows:
        notes.append(text("attachments.reader.note.no_rows"))
    if kind == "summary":
        form = _summary(rows, total, unit, stamp, source, notes)
    else:
        form = IncreaseForm(
            unit=unit.value,
            stamp=stamp.value,
            stamp_confident=stamp.confident,
            lines=tuple(
                IncreaseLine(
                    row=r.number,
                    certificate=r.certificate.value,
                    level=r.level.value,
                    approved=r.numbers["approved"].value,
                    requested=r.numbers["requested"].value,
                    confident=r.confident,
                    certificate_read=r.certificate_read,
                    certificate_matched=r.matched,
                    unsure=r.unsure,
                    approved_options=r.numbers["approved"].options,
                )
                for r in rows
            ),
            unit_confident=unit.confident,
            table_confident=bool(rows),
        )
    return PageReading(index=index, kind=kind, form=form, source=source, notes=tuple(notes))


def _summary(
    rows: list[_Row], total: Value | None, unit: Value, stamp: Value, source: str, notes: list[str]
) -> SummaryForm:
    rows, total = _proven_by_the_sum(rows, total, notes)
    lines = tuple(
        SummaryLine(
            row=r.number,
            certificate=r.certificate.value,
            level=r.level.value,
            count=r.numbers["count"].value,
            confident=r.confident,
            certificate_read=r.certificate_read,
            certificate_matched=r.matched,
        )
        for r in rows
    )
    total_value = total.value if total else None
    total_confident = bool(total and total.confident)
    counts = [line.count for line in lines]
    sure_sum = sum(line.count for line in lines if line.confident and line.count is not None)
    if total_confident and source != "text" and sure_sum > total_value:
        # The lines read surely already add up to more than the total: a digit of it was lost
        # (a seal over 合计), whatever the unsure lines hold.
        total_confident = False
        notes.append(say("attachments.reader.note.total_below_lines", total=total_value, sum=sure_sum))
    elif total_confident and source != "text" and None not in counts and sum(counts) != total_value:
        # On a scan we cannot tell a school's arithmetic from two engines misreading the
        # same digit: a mismatch there asks for a human, it does not reject.
        total_confident = False
        notes.append(say("attachments.reader.note.total_differs", total=total_value, sum=sum(counts)))
    if total is None:
        notes.append(text("attachments.reader.note.no_total"))
    return SummaryForm(
        unit=unit.value,
        stamp=stamp.value,
        stamp_confident=stamp.confident,
        total=total_value,
        lines=lines,
        unit_confident=unit.confident,
        total_confident=total_confident,
        table_confident=bool(lines),
    )


def _proven_by_the_sum(rows: list[_Row], total: Value | None, notes: list[str]) -> tuple[list[_Row], Value | None]:
    """The lines add up to 合计: one number the engines were unsure of is settled when one of
    its readings is exactly what the sum needs — the total and every other line read with
    confidence (or, the total unsure, when all lines were sure and a reading of it is their sum)."""
    if total is None or not rows:
        return rows, total
    counts = [r.numbers["count"] for r in rows]
    unsure = [i for i, v in enumerate(counts) if not v.confident]
    if total.confident and len(unsure) == 1:
        i = unsure[0]
        needed = total.value - sum(v.value for k, v in enumerate(counts) if k != i)
        if needed in counts[i].options:
            row = rows[i]
            rows = [*rows[:i], replace(row, numbers={**row.numbers, "count": Value(needed, True, counts[i].options)}),
                    *rows[i + 1:]]
            notes.append(say("attachments.reader.note.count_by_total", row=row.number, count=needed))
    elif not total.confident and not unsure and sum(v.value for v in counts) in total.options:
        total = Value(sum(v.value for v in counts), True, total.options)
        notes.append(say("attachments.reader.note.total_by_lines", total=total.value))
    return rows, total


def _empty_form(kind: str, unit: Value, stamp: Value):
    common = {
        "unit": unit.value,
        "stamp": stamp.value,
        "stamp_confident": stamp.confident,
        "lines": (),
        "unit_confident": unit.confident,
        "table_confident": False,
    }
    if kind == "summary":
        return SummaryForm(total=None, total_confident=False, **common)
    return IncreaseForm(**common)
