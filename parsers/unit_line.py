"""The unit line (学校名称（校章）：…, 填报单位（盖章）：… above the table or merged into it)
and the date under the form."""

from __future__ import annotations

import re
from collections.abc import Sequence

from ocr.model import Cell, PageScan, TextLine
from parsers.columns import key
from parsers.values import TEXT_MIN_CONFIDENCE, Value

# How forms name the unit line: 学校名称（校章）：, 填报单位（盖章）：, 申报学校（盖章）：, 单位名称（公章）： …
UNIT_LABELS = ("学校名称", "单位名称", "填报单位", "申报单位", "填报学校", "申报学校", "校章", "学校（校章）")
# What may follow the unit on its line (a date, the filler, a phone): the name ends there.
_TRAILING = re.compile(r"\d|填表|填报|日期|联系|电话|时间")
FREE_UNIT_LABELS = ("学校名称", "单位名称", "校章", "学校（校章）")  # never part of a form's title
STAMP_WORD = r"\(.{1,2}章\)"  # （校章）（盖章）（公章）… after a unit label, as NFKC leaves the brackets
_DATE = re.compile(r"(20\d\d)\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")


def read_unit(lines: Sequence[TextLine], source: str) -> Value:
    """The unit after 学校名称（校章）：, on the same line or (split by OCR) just right of it."""
    for line in lines:
        text = key(line.text)
        label = _unit_label(text)
        if label is None:
            continue
        unit = re.split(r"[:：]", text, maxsplit=1)[1] if re.search(r"[:：]", text) else ""
        if not unit:  # label without a colon: take what follows the label
            unit = text.split(label, 1)[1]
        unit = _unit_name(unit)
        read_as = [line]
        if not unit:
            beside = _right_of(line, lines)
            if beside is not None:
                unit, read_as = key(beside.text).strip("()（）:： "), [line, beside]
        return Value(unit, bool(unit) and _sure(source, read_as))
    return Value("", False)


def _sure(source: str, read_as: Sequence[TextLine | Cell]) -> bool:
    """A unit name read by OCR is sure only when both engines read it alike: a name one engine
    alone was sure of (a seal's characters run into it) may make a school's form "another
    unit's", and a school is never rejected on one engine's word."""
    return source == "text" or all(r.agreed is True and r.confidence >= TEXT_MIN_CONFIDENCE for r in read_as)


def _unit_name(after_label: str) -> str:
    """The name in what follows a unit label: no stamp word before it, no date or phone after it."""
    unit = re.sub(rf"^(?:{STAMP_WORD})+", "", after_label)
    return _TRAILING.split(unit.strip("()（）:： "), maxsplit=1)[0].strip("()（）:： ")


def _unit_label(text: str) -> str | None:
    """The unit label in a line: 学校名称 / 单位名称 / 校章 anywhere (as OCR splits them); the
    others (填报单位, 申报学校 …) only before a stamp word, a colon or the line's end, because a
    title says 申报学校汇总表 too."""
    for label in UNIT_LABELS:
        at = text.find(label)
        if at < 0:
            continue
        if label in FREE_UNIT_LABELS or re.match(rf"({STAMP_WORD})?([:：]|$)", text[at + len(label):]):
            return label
    return None


def unit_in_table(scan: PageScan, source: str) -> Value | None:
    """Some forms put the unit line inside the table, as a merged row above the header. Only a
    cell of the first rows that holds a label, a colon and a name counts: a header cell
    学校名称 over a column of schools is no unit line."""
    if scan.grid is None:
        return None
    labels = "|".join(re.escape(key(label)) for label in UNIT_LABELS)
    for row in range(min(2, scan.grid.n_rows)):
        cells = scan.grid.row_cells(row)
        # A merged row whose rules were lost comes back as the row's cells: read them as one.
        for written, read_as in [*((key(c.text), [c]) for c in cells), (key("".join(c.text for c in cells)), cells)]:
            found = re.search(rf"(?:{labels})(?:{STAMP_WORD})?[:：](.+)", written)
            unit = _unit_name(found.group(1)) if found else ""
            if unit:
                return Value(unit, _sure(source, read_as))
    return None


def _right_of(label: TextLine, lines: Sequence[TextLine]) -> TextLine | None:
    middle = (label.bbox[1] + label.bbox[3]) / 2
    beside = [
        other
        for other in lines
        if other is not label and other.bbox[0] >= label.bbox[2] - 5 and other.bbox[1] <= middle <= other.bbox[3]
    ]
    return min(beside, key=lambda o: o.bbox[0]) if beside else None


def read_date(lines: Sequence[TextLine]) -> str:
    for line in reversed(lines):  # the date is at the bottom
        match = _DATE.search(key(line.text))
        if match:
            y, m, d = (int(v) for v in match.groups())
            return f"{y:04d}-{m:02d}-{d:02d}"
    return ""
