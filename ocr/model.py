"""What a page scan yields: a table grid of cells, the text lines around it, seals;
and what the form reader tells the OCR before it reads (``ColumnHints``).

Both readers produce a ``PageScan``: the PDF text layer (confidence 1.0) and the
OCR pipeline (engine confidences). ``parsers.forms`` consumes it without caring
which one made it.
"""

from __future__ import annotations

from dataclasses import dataclass

BBox = tuple[float, float, float, float]  # x0, y0, x1, y1 in page pixels (or PDF points)


@dataclass(frozen=True)
class ColumnHints:
    """Which table columns hold digits, by their header words: the form reader's knowledge
    (``parsers.columns``), handed to ``scan_page``; the OCR itself knows no form.

    The default reads every cell as text.
    """

    numbers: tuple[str, ...] = ()  # header words of the columns that hold counts: every engine reads them
    sequence: tuple[str, ...] = ()  # header words of the column numbering the rows: digits, one engine
    header_rows: int = 1  # the header row is one of the table's first rows, this many


@dataclass(frozen=True)
class Cell:
    row: int  # 0-based grid row (the header row is a row too)
    col: int  # 0-based grid column
    text: str  # "" when the cell holds no ink
    confidence: float  # 0.0 … 1.0; 1.0 for a text layer; 1.0 for a truly empty cell
    bbox: BBox
    row_span: int = 1
    col_span: int = 1
    agreed: bool | None = None  # two engines read the same (True), differed (False), one only (None)
    alternatives: tuple[str, ...] = ()  # what the other engine(s) read, when it differs from ``text``


@dataclass(frozen=True)
class Grid:
    n_rows: int
    n_cols: int
    cells: tuple[Cell, ...]
    bbox: BBox

    def cell(self, row: int, col: int) -> Cell | None:
        for c in self.cells:
            if c.row <= row < c.row + c.row_span and c.col <= col < c.col + c.col_span:
                return c
        return None

    def row_cells(self, row: int) -> list[Cell]:
        return sorted((c for c in self.cells if c.row == row), key=lambda c: c.col)


@dataclass(frozen=True)
class TextLine:
    text: str
    confidence: float
    bbox: BBox
    agreed: bool | None = None  # as for Cell: the engines read the line the same way
    alternatives: tuple[str, ...] = ()  # the other engine(s)' reading, when different


@dataclass(frozen=True)
class Seal:
    bbox: BBox
    colour: str  # "red" when found by colour, "gray" by shape only, "ink" a seal of another colour (size and ink)
    score: float  # 0.0 … 1.0


@dataclass(frozen=True)
class PageScan:
    width: float
    height: float
    grid: Grid | None  # None when no table was found
    lines: tuple[TextLine, ...]  # text outside the table, top to bottom (title, unit line, …)
    seals: tuple[Seal, ...] = ()
    rotation: int = 0  # degrees the page was turned to read it (0, 90, 180, 270)
    turn: int = 0  # of those, the degrees turned after the ruling lines had set it upright
    notes: tuple[str, ...] = ()
