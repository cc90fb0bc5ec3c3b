"""One cell → a value with confidence: numbers, levels, text as the form reader takes them.

A value is ``confident`` only with evidence: the PDF text layer gave it, or both OCR
engines read it the same with high confidence (numbers), or one engine was sure (text).
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.forms import LEVELS
from ocr.model import Cell
from parsers.columns import key

# OCR evidence needed to trust a value (engine confidence is 0..1).
NUMBER_MIN_CONFIDENCE = 0.80  # and both engines must agree on the digits
TEXT_MIN_CONFIDENCE = 0.80  # a level or unit line read by one engine


@dataclass(frozen=True)
class Value:
    value: object
    confident: bool
    options: tuple[int, ...] = ()  # a number's readings by every engine, for the sum to choose from


def cell_text(cell: Cell | None) -> str:
    """The cell's text with wrapped lines joined (CJK text wraps without a space)."""
    if cell is None:
        return ""
    return "".join(cell.text.split())


def _trusted(cell: Cell | None, source: str, *, number: bool) -> bool:
    if cell is None:
        return False
    if source == "text":
        return True
    if number:  # digits must be confirmed by both engines
        return cell.agreed is True and cell.confidence >= NUMBER_MIN_CONFIDENCE
    return cell.agreed is True or cell.confidence >= TEXT_MIN_CONFIDENCE


def read_number(cell: Cell | None, source: str) -> Value:
    """An integer cell. Empty or unreadable → None, never confident (a human must look)."""
    options = _readings(cell)
    value = _number(cell_text(cell))
    if value is None:
        return Value(None, False, options)
    return Value(value, _trusted(cell, source, number=True), options)


def _number(written: str) -> int | None:
    """A count as written (12, 1,200, 30人), or None when it is none."""
    text = key(written).removesuffix("人").replace(",", "")
    return int(text) if text.isdigit() and len(text) <= 6 else None


def _readings(cell: Cell | None) -> tuple[int, ...]:
    """Every engine's reading of a number cell that is a number."""
    if cell is None:
        return ()
    numbers = (_number(t) for t in (cell.text, *cell.alternatives))
    return tuple(dict.fromkeys(n for n in numbers if n is not None))


def read_level(cell: Cell | None, source: str) -> Value:
    """初级 | 中级 | 高级. A single 初/中/高 is completed; anything else is kept as read."""
    text = key(cell_text(cell))
    if text in LEVELS:
        return Value(text, _trusted(cell, source, number=False))
    if len(text) == 1 and text + "级" in LEVELS:
        return Value(text + "级", _trusted(cell, source, number=False))
    # Kept as written: from a text layer that is the school's own (invalid) level,
    # from OCR it is more likely a misread, so it needs a look.
    return Value(cell_text(cell), source == "text" and bool(text))
