"""What a form's columns mean: which header words name which field, which columns hold
counts, and the column that only numbers the rows (序号).

The form reader owns this knowledge. ``find_header`` maps a table's columns by header
*text* (never by position, so a missing or extra column cannot shift the numbers);
``column_hints`` hands the OCR, before it reads, the words that mark its digit columns
(``ocr.ColumnHints``: the OCR itself knows no form).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz

from config.profile import FormRule, Profile
from ocr.model import ColumnHints, Grid

NUMBER_FIELDS = ("count", "approved", "requested")
# Every count column's header holds this word (拟申报人数, 原批准人数, 调增后人数, 调整后人数).
COUNT_WORD = "人数"
# The header of the column that numbers the rows: digits, but not a count. The OCR reads
# it with one engine; the form reader takes it only when two engines agree.
SEQUENCE_HEADERS = ("序号",)
# Words that say what a column holds, whatever else its header says (原批准数, 调增后总人数,
# 等级, 1+X证书): tried after the profile's own names. Only words no other column uses; a
# province's own wording (江苏's 原申报人数, 调整后人数) stays in its profile. A field's stem
# does not count in a header that also holds one of its ``STEM_EXCLUDES`` (职业技能等级证书
# names no level).
FIELD_STEMS = {
    "certificate": ("证书",),
    "level": ("级别", "等级"),
    "count": ("申报人数", "人数"),
    "approved": ("原批准", "批准"),
    "requested": ("调增后", "调增"),
}
STEM_EXCLUDES = {
    "level": ("证书",),
    "count": ("原批准", "批准", "原申报", "调增", "调整"),
    "approved": ("调增", "调整"),
}
NUMBER_STEMS = tuple(sorted({stem for field in NUMBER_FIELDS for stem in FIELD_STEMS[field]}))
# Columns a form may add that hold no field (notes, the certificate's awarding body).
OTHER_HEADERS = ("备注", "培训评价组织", "评价组织", "说明")
OCR_HEADER_ROWS = 4  # rows the OCR searches for the count headers (a title row, two header rows …)
MAX_HEADER_ROW = 4  # the header is one of the first rows of the table
HEADER_FUZZY_MIN = 80  # partial_ratio a garbled OCR header must reach to count
EXACT, STEM = 100.0, 50.0  # a profile name found beats a stem found beats any fuzzy match
# What the OCR is told of any of our quota forms, whatever the profile.
ANY_FORM = ColumnHints(numbers=NUMBER_STEMS, sequence=SEQUENCE_HEADERS, header_rows=OCR_HEADER_ROWS)


def key(text: str) -> str:
    """Comparison form of any text: NFKC (full-width → ASCII), no whitespace."""
    return "".join(unicodedata.normalize("NFKC", text).split())


def numeric_headers(profile: Profile) -> tuple[str, ...]:
    """Header texts of the number columns in any of the profile's forms (digits-only OCR)."""
    names = {COUNT_WORD, *NUMBER_STEMS}
    for rule in profile.forms:
        for field, texts in rule.columns.items():
            if field in NUMBER_FIELDS:
                names.update(texts)
    return tuple(sorted(names))


def column_hints(profile: Profile) -> ColumnHints:
    """What the OCR must know of the profile's forms before reading a page (``ocr.scan_page``)."""
    return ColumnHints(numbers=numeric_headers(profile), sequence=SEQUENCE_HEADERS, header_rows=OCR_HEADER_ROWS)


@dataclass(frozen=True)
class Header:
    row: int  # grid row of the header (data starts below it)
    columns: dict[str, int]  # field -> grid column
    seq: int | None  # the 序号 column, if any


def _score(header_text: str, names: Sequence[str], field: str = "") -> float:
    """How well a header cell names a field: longest profile name found, else a stem of the
    field's meaning, else fuzzy."""
    text = key(header_text)
    if not text:
        return 0.0
    exact = [len(key(n)) for n in names if key(n) in text]
    if exact:
        return float(max(exact)) + EXACT
    if not any(word in text for word in STEM_EXCLUDES.get(field, ())):
        stems = [len(stem) for stem in FIELD_STEMS.get(field, ()) if stem in text]
        if stems:
            return float(max(stems)) + STEM
    best = 0.0
    for name in names:
        ratio = fuzz.partial_ratio(key(name), text)
        if ratio >= HEADER_FUZZY_MIN and len(text) >= len(key(name)) - 1:
            best = max(best, len(key(name)) * ratio / 100)
    return best

def map_columns(headers: dict[int, str], rule: FormRule, *, complete: bool = True) -> dict[str, int] | None:
    """field -> column for every field of ``rule``, or None when a field has no column."""
    candidates = sorted(
        (
            (_score(text, names, field), field, col)
            for field, names in rule.columns.items()
            for col, text in headers.items()
        ),
        reverse=True,
    )
    mapping: dict[str, int] = {}
    used: set[int] = set()
    for score, field, col in candidates:
        if score <= 0 or field in mapping or col in used:
            continue
        mapping[field] = col
        used.add(col)
    return mapping if not complete or set(mapping) == set(rule.columns) else None

def find_header(grid: Grid, rule: FormRule, *, by_elimination: bool = True) -> Header | None:
    """The first row that names every field of ``rule``.

    A header may take two rows: a merged cell over several columns (人数 over 原批准人数 and
    调增后人数) heads each of them, and the row under it is the header (``header_texts``).
    A count field named by a cell still spanning several columns is no header: its numbers
    stand in the columns below. ``by_elimination``: when all fields but one are named and
    exactly one unnamed column is left (a header cell garbled by the seal), that column is
    taken for the field.
    """
    for row in range(min(grid.n_rows, MAX_HEADER_ROW)):
        headers = header_texts(grid, row)
        seq = next((col for col, text in headers.items() if any(s in key(text) for s in SEQUENCE_HEADERS)), None)
        mapping = map_columns(headers, rule)
        if mapping is None and by_elimination:
            mapping = _by_elimination(headers, rule, seq)
        if mapping is not None and not _spans_columns(grid, row, mapping):
            return Header(row=row, columns=mapping, seq=seq)
    return None


def header_texts(grid: Grid, row: int) -> dict[int, str]:
    """Each column's header text if ``row`` is the header's last row: the cell over the column
    at ``row`` (merged from above or not), after any cell above it that spans several columns
    but not the whole table (a title or unit line does). A plain cell above is a row of its
    own, never part of this header; a header cell spanning columns names only its first."""
    out: dict[int, str] = {}
    for col in range(grid.n_cols):
        here = grid.cell(row, col)
        here = here if here is not None and here.col == col else None
        parents = dict.fromkeys(
            c for c in (grid.cell(r, col) for r in range(row))
            if c is not None and 1 < c.col_span < grid.n_cols and c.row + c.row_span <= row
        )
        text = "".join(c.text for c in [*parents, here] if c is not None and c.text.strip())
        if text:
            out[col] = text
    return out


def _spans_columns(grid: Grid, row: int, mapping: dict[str, int]) -> bool:
    return any(
        (c := grid.cell(row, col)) is not None and c.col_span > 1
        for field, col in mapping.items() if field in NUMBER_FIELDS
    )


def _by_elimination(headers: dict[int, str], rule: FormRule, seq: int | None) -> dict[str, int] | None:
    partial = map_columns(headers, rule, complete=False) or {}
    missing = [f for f in rule.columns if f not in partial]
    free = [c for c, text in headers.items()
            if c not in partial.values() and c != seq and not any(w in key(text) for w in OTHER_HEADERS)]
    if len(missing) == 1 and len(free) == 1 and len(partial) >= 2:
        return {**partial, missing[0]: free[0]}
    return None
