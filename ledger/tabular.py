"""Reading staff spreadsheets (xlsx or csv) into rows keyed by canonical header names.

Staff prepare these files by hand in Excel or WPS, and offices send theirs as they
keep them: headers may carry full-width characters, spaces, a ``*`` for required
columns, a trailing note in brackets (``联系邮箱（多个用分号隔开）``) or another
wording of the same column (``学校名称`` for ``单位名称``, when the caller passes
synonyms); a title row may sit above the header, a merged cell may hold the city of
several schools, a merged row may head a section (``一、高职院校``), and an
instructions sheet may come first (hidden sheets are not read). CSV files saved on
Chinese Windows are GB18030 (GBK), not UTF-8. All of that is accepted; what cannot be
read is reported as ``file:row:column: 说明``.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from templates import say

HEADER_SEARCH_ROWS = 5  # a title row or two may sit above the header
_TRAILING_NOTE = re.compile(r"\([^()]*\)$")  # 所属市(州), 联系邮箱(多个用分号隔开), after NFKC
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))  # copied from web pages


class ImportFileError(Exception):
    """A file cannot be imported. ``problems`` are ``file:row:column: 说明`` lines."""

    def __init__(self, problems: Sequence[str]):
        self.problems = tuple(problems)
        shown = list(self.problems[:50])
        if len(self.problems) > 50:
            shown.append(say("imports.file.more", count=len(self.problems) - 50))
        super().__init__("\n".join(shown))


@dataclass(frozen=True)
class Row:
    number: int  # the row number staff see in Excel (1-based, header included)
    values: dict[str, str]  # canonical header -> cell text, stripped ("" for an absent optional column)


@dataclass(frozen=True)
class Table:
    source: str  # the file name as given (and the sheet, if not the first), for messages
    rows: tuple[Row, ...]
    # canonical header -> the header as the file writes it (normalised), for messages:
    # a problem in the column the file calls 学校类型 is reported as 学校类型.
    labels: dict[str, str] = field(default_factory=dict)

    def label(self, column: str) -> str:
        return self.labels.get(column, column)


def normalise_header(text: str) -> str:
    """``' 单位名称＊ '`` and ``'单位 名称'`` both name the column ``单位名称``."""
    text = "".join(unicodedata.normalize("NFKC", text).split())
    return text.strip("*")


def _header_keys(text: str) -> tuple[str, str]:
    """The header as written and without a trailing note in brackets, for matching."""
    exact = normalise_header(text).casefold()
    return exact, _TRAILING_NOTE.sub("", exact)


def cell_text(value: object) -> str:
    """A cell as text: integral floats lose their ``.0``, dates become ISO."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value).translate(_INVISIBLE).replace("\u3000", " ").strip()


# --- reading the cells --------------------------------------------------------------

Box = tuple[int, int, int, int]  # a merged range: first row, first column, last row, last column (0-based)


@dataclass(frozen=True)
class _Sheet:
    name: str  # "" for a csv; the sheet's title for an xlsx other than its first sheet
    cells: list[list[object]]
    merged: tuple[Box, ...] = ()
    note: str = ""  # added to a "header not found" message (the encoding a csv was read in)


def _read_csv(path: Path) -> list[_Sheet]:
    data = path.read_bytes()
    if data.startswith(b"PK\x03\x04"):
        raise ImportFileError([f"{path.name}: {say('imports.file.xlsx_as_csv')}"])
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportFileError([f"{path.name}: {say('imports.file.xls_as_csv')}"])
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encodings = ("utf-16",)  # Excel's "Unicode 文本"
    else:
        encodings = ("utf-8-sig", "gb18030")
    for encoding in encodings:
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ImportFileError([f"{path.name}: {say('imports.file.encoding')}"])
    head = text.splitlines()[:HEADER_SEARCH_ROWS + 1]
    delimiter = "\t" if sum(line.count("\t") for line in head) > sum(line.count(",") for line in head) else ","
    note = "" if encoding != "gb18030" else say("imports.file.gbk_note")
    return [_Sheet("", list(csv.reader(io.StringIO(text), delimiter=delimiter)), note=note)]


def _read_xlsx(path: Path) -> list[_Sheet]:
    from zipfile import BadZipFile

    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        # Not read-only: merged ranges are only known to a fully loaded sheet.
        # Staff lists are a few thousand rows at most.
        workbook = load_workbook(path, data_only=True)
    except (InvalidFileException, BadZipFile, OSError, KeyError, ValueError, TypeError) as exc:
        raise ImportFileError([f"{path.name}: {say('imports.file.not_xlsx', error=exc)}"]) from exc
    try:
        # Hidden sheets are left alone: they often hold last year's list or lookup values.
        visible = [ws for ws in workbook.worksheets if ws.sheet_state == "visible"] or workbook.worksheets[:1]
        sheets = []
        for position, ws in enumerate(visible):
            merged = tuple((r.min_row - 1, r.min_col - 1, r.max_row - 1, r.max_col - 1)
                           for r in ws.merged_cells.ranges)
            sheets.append(_Sheet(ws.title if position else "", [list(r) for r in ws.iter_rows(values_only=True)],
                                 merged))
        return sheets
    finally:
        workbook.close()


def _filled(sheet: _Sheet) -> list[list[object]]:
    """A merged cell's value goes down its first column (the city merged over its schools).

    Only down: a range merged across columns is a heading or a note (left out by
    ``_section_headings``), or one value that belongs to its first column.
    """
    cells = [list(row) for row in sheet.cells]
    for top, left, bottom, _right in sheet.merged:
        if bottom == top or top >= len(cells) or left >= len(cells[top]):
            continue
        value = cells[top][left]
        for row in cells[top + 1:bottom + 1]:
            row.extend([None] * (left + 1 - len(row)))
            row[left] = value
    return cells


# --- finding the header -------------------------------------------------------------


@dataclass(frozen=True)
class _Header:
    positions: dict[str, int]  # canonical column -> index
    problems: tuple[str, ...]  # duplicated or ambiguous columns (this row is the header, but unusable)
    missing: tuple[str, ...]  # required columns not found


def _match_header(cells: Sequence[object], columns: Sequence[str], optional: Sequence[str],
                  synonyms: Mapping[str, Sequence[str]]) -> _Header:
    """Which cell names which column: the canonical text first, then a synonym; the
    header as written before the header without a trailing note. Two cells at the same
    step (两列“单位名称”, or “学校名称” and “单位全称”) make the column ambiguous."""
    keys = [_header_keys(cell_text(c)) for c in cells]
    written = [normalise_header(cell_text(c)) for c in cells]
    positions, problems, missing = {}, [], []
    for column in columns:
        names = [normalise_header(column).casefold()]
        others = [normalise_header(s).casefold() for s in synonyms.get(column, ())]
        steps = [(names, 0), (names, 1), (others, 0), (others, 1)]
        for wanted, which in steps:
            hits = [i for i, k in enumerate(keys) if k[which] and k[which] in wanted]
            if hits:
                break
        if not hits:
            if column not in optional:
                missing.append(column)
        elif len(hits) > 1:
            found = "、".join(f"“{written[i]}”" for i in hits)
            problems.append(say("imports.header.twice", found=found, column=column))
        else:
            positions[column] = hits[0]
    return _Header(positions, tuple(problems), tuple(missing))


def _describe_missing(missing: Sequence[str], synonyms: Mapping[str, Sequence[str]]) -> str:
    parts = []
    for column in missing:
        others = synonyms.get(column, ())
        parts.append(say("imports.header.synonyms", column=column, others="、".join(others)) if others else column)
    return "、".join(parts)


def _is_repeated_header(values: Mapping[str, str], positions: Mapping[str, int], header: Sequence[object]) -> bool:
    """A second header row (a header merged over two rows, or a header repeated in the sheet)."""
    filled = [c for c, v in values.items() if v]
    return bool(filled) and all(values[c] == cell_text(header[positions[c]]) for c in filled)


def _section_headings(positions: Mapping[str, int], merged: Sequence[Box]) -> set[int]:
    """Rows that are one merged cell across every column read (一、高职院校; 注：…)."""
    used = positions.values()
    return {r for top, left, bottom, right in merged if right > left and left <= min(used) and max(used) <= right
            for r in range(top, bottom + 1)}


def _table(path: Path, sheet: _Sheet, header_index: int, header: _Header, columns: Sequence[str]) -> Table:
    cells = _filled(sheet)
    header_cells = sheet.cells[header_index]
    headings = _section_headings(header.positions, sheet.merged)
    source = f"{path.name}[{sheet.name}]" if sheet.name else path.name
    rows = []
    for index in range(header_index + 1, len(cells)):
        row = cells[index]
        values = {name: cell_text(row[pos]) if pos < len(row) else "" for name, pos in header.positions.items()}
        values.update({name: "" for name in columns if name not in header.positions})
        if not any(values.values()):  # blank rows are spacing, not data
            continue
        if index in headings or _is_repeated_header(values, header.positions, header_cells):
            continue
        rows.append(Row(index + 1, values))
    labels = {name: normalise_header(cell_text(header_cells[pos])) for name, pos in header.positions.items()}
    return Table(source=source, rows=tuple(rows), labels=labels)


def read_table(path: Path, columns: Sequence[str], *, optional: Sequence[str] = (),
               synonyms: Mapping[str, Sequence[str]] | None = None) -> Table:
    """Read the first sheet of an xlsx (or a csv) whose header names every one of ``columns``.

    ``optional`` columns may be absent (their values are then empty); ``synonyms`` maps
    a canonical column to other header texts that name it. The header is looked for in
    the first rows of each visible sheet, in order.
    """
    path = Path(path)
    synonyms = synonyms or {}
    if not path.is_file():
        raise ImportFileError([f"{path}: {say('imports.file.missing')}"])
    suffix = path.suffix.lower()
    if suffix == ".csv":
        sheets = _read_csv(path)
    elif suffix in (".xlsx", ".xlsm"):
        sheets = _read_xlsx(path)
    else:
        hint = say("imports.file.wrong_type.xls") if suffix in (".xls", ".et") else ""
        raise ImportFileError([f"{path.name}: {say('imports.file.wrong_type', suffix=path.suffix, hint=hint)}"])

    best: tuple[_Sheet, int, _Header] | None = None  # the row closest to a header, for the message
    for sheet in sheets:
        for index, cells in enumerate(sheet.cells[:HEADER_SEARCH_ROWS]):
            header = _match_header(cells, columns, optional, synonyms)
            if not header.missing:
                if header.problems:
                    where = f"{path.name}[{sheet.name}]" if sheet.name else path.name
                    raise ImportFileError([f"{where}:{index + 1}: {p}" for p in header.problems])
                return _table(path, sheet, index, header, columns)
            if best is None or len(header.positions) > len(best[2].positions):
                best = (sheet, index, header)

    wanted = [c for c in columns if c not in optional]
    if best is None or not best[2].positions:  # nothing like a header anywhere: show the first row
        first_sheet = sheets[0] if sheets else _Sheet("", [])
        first = [cell_text(c) for c in first_sheet.cells[0]] if first_sheet.cells else []
        missing, row, sheet_name, note = wanted, 1, first_sheet.name, first_sheet.note
    else:
        sheet, index, header = best
        first = [cell_text(c) for c in sheet.cells[index]]
        missing, row, sheet_name, note = list(header.missing), index + 1, sheet.name, sheet.note
    where = f"{path.name}[{sheet_name}]" if sheet_name else path.name
    shown = ",".join(h for h in first if h) or say("imports.header.empty")
    why = say("imports.header.missing", missing=_describe_missing(missing, synonyms), columns=",".join(columns),
              found=shown, note=note)
    problem = f"{where}:{row}: {why}"
    raise ImportFileError([problem])
