"""Two engines, one page: who reads which line image, and when.

The interface is one call. ``scan_page`` hands over the page's line images (``Line``:
pixels, the cell or free line it belongs to, below the table or not), the table's cells
(their place in the grid), the form reader's ``ColumnHints``, the engines and which
owners a seal covers; ``read_all`` fills every line's ``reads`` (engine index → text)
and returns the ``NumberColumns`` it found on the way (header row, count columns), by
which the scanner combines each cell. The engines stay in ``ocr.engines``; what a form's
columns mean stays with the form reader (``parsers.columns``).
"""

from __future__ import annotations

import queue
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from ocr.engines import LINE_HEIGHT, Engine, LineImage, LineText, compact
from ocr.model import ColumnHints

LONG_LINE_RATIO = 8  # width/height: a longer cell line is a name, not a header word or number
SECOND_LOOK_BELOW = 0.8  # the reader's score under which a checker reads a text line again
SECOND_LOOK_PARTS = 4  # the reader's text in this many montages (second looks start after each)

Owner = tuple[str, int]  # ("cell", index in the cells) or ("region", index of the free line)


class Place(Protocol):
    """Where a cell sits in the table grid (``ocr.prepare.CellLines`` is one)."""

    @property
    def row(self) -> int: ...

    @property
    def col(self) -> int: ...

    @property
    def col_span(self) -> int: ...


@dataclass(eq=False)
class Line:
    """One line image to read, and what each engine made of it."""

    pixels: np.ndarray
    owner: Owner
    below: bool = False  # below the table (contact, signature, date): informs notes only
    digits: bool = False
    reads: dict[int, LineText] = field(default_factory=dict)  # engine index → reading


@dataclass(frozen=True)
class NumberColumns:
    """The table's header row and the columns under it that hold counts."""

    header: int
    columns: frozenset[int]

    def holds(self, c: Place) -> bool:
        """A body cell of a number column (a label spanning columns, like 合计, is not)."""
        return c.col in self.columns and c.col_span == 1 and c.row > self.header


def read_all(
    lines: list[Line],
    cells: Sequence[Place],
    hints: ColumnHints,
    engines: Sequence[Engine],
    seal_near: Callable[[Owner], bool] = lambda owner: False,
) -> NumberColumns:
    """Have the engines read ``lines`` (filling ``reads``); return the header row and number columns.

    The last engine is the *reader* (Tesseract by default: in-process it costs ~0.1 ms per
    pixel column of a line, RapidOCR ~0.25 ms), the others are *checkers*:
    - numbers: every engine — two engines reading the same digits is what makes a number
      confident; the column that numbers the rows (``hints.sequence``: 序号), the reader
      alone (one engine's 序号 is never confident, so the form reader numbers those lines
      by position);
    - text in the table (names, levels, header words): the reader; a checker reads again
      every cell or line the reader was unsure of (score under ``SECOND_LOOK_BELOW``, or
      nothing read from ink). Measured on 971 benchmark text lines: where Tesseract
      scored ≥ 0.8, RapidOCR read the same text in 841 of 842 (the other: a bracket);
    - lines below the table (contact, signature, date: they only inform notes): the reader;
    - the lines above the table (title, the unit line a seal often covers): the first
      checker, from the start (it reads them while the reader finds the header);
    - the cells holding a certificate name wait in one queue (``_Names``): the reader
      takes them from the top of the table once its other lines are read, the first
      checker from the other end whenever it has nothing else to do, so both engines
      finish together whatever the page (no estimate of either engine's speed).
    The checkers work on their own thread (both engines release the GIL): numbers first,
    then the second looks as the reader hands them over, part by part, and names in between.
    """
    reader = len(engines) - 1
    checkers = [(k, e) for k, e in enumerate(engines) if k != reader]
    # (on a page without a table, its text is shared like the table's)
    above = [ln for ln in lines if ln.owner[0] == "region" and not ln.below] if checkers and cells else []
    with ThreadPoolExecutor(max_workers=1) as pool:
        # The lines above the table (title, the unit line the seal sits on) go to the first
        # checker at once: it reads them while the reader finds the header.
        # One line at a time, so a second look at the header is not queued behind them all.
        jobs = [pool.submit(_read_into, e, k, [ln], False) for k, e in checkers[:1] for ln in above]
        header, numeric_cols = _numeric_columns(lines, cells, hints, engines)
        numbers = NumberColumns(header, frozenset(numeric_cols))
        for ln in lines:
            if ln.owner[0] == "cell":
                ln.digits = numbers.holds(cells[ln.owner[1]])
        digits = [ln for ln in lines if ln.digits]
        numbered = _sequence_columns(lines, cells, header, hints.sequence)
        checked = [ln for ln in digits if cells[ln.owner[1]].col not in numbered]
        below = [ln for ln in lines if ln.below]
        taken = {id(ln) for ln in above}
        text = [ln for ln in lines if not ln.digits and not ln.below and id(ln) not in taken]
        names = _Names(text, seal_near)
        looks: queue.SimpleQueue[list[Line] | None] = queue.SimpleQueue()
        if checkers:
            jobs.append(pool.submit(_check, checkers, checked, names, looks))
        try:
            # The reader's own text in a few parts, so the second looks start while it goes on.
            for part in _parts([ln for ln in text if not names.holds(ln)], SECOND_LOOK_PARTS):
                names.timed(True, engines[reader], reader, part)
                looks.put(_second_look(part, reader))
            _read_into(engines[reader], reader, digits + below, True)
            while part := names.take(top=True, width=names.width() / SECOND_LOOK_PARTS):
                names.timed(True, engines[reader], reader, part)
                looks.put(_second_look(part, reader))
        finally:
            looks.put(None)  # the checkers stop once they have read every second look
        for job in jobs:
            job.result()
    return numbers


def _long(crop: np.ndarray) -> bool:
    h, w = crop.shape[:2]
    return w > LONG_LINE_RATIO * h


def _check(checkers: list[tuple[int, Engine]], checked: list[Line], names: _Names, looks: queue.SimpleQueue) -> None:
    """The checkers' thread: the numbers, then second looks as they come, names in between."""
    first, engine = checkers[0]
    names.timed(False, engine, first, checked, overwrite_digits=True)
    for k, e in checkers[1:]:
        _read_into(e, k, checked, True)
    while True:
        try:
            again = looks.get_nowait()
        except queue.Empty:
            group = names.take(top=False)
            if group:
                names.timed(False, engine, first, group)
                continue
            again = looks.get()
        if again is None:
            return
        for k, e in checkers:
            _read_into(e, k, again, False)


def _columns(ln: Line) -> float:
    """Width of the line image once scaled to the engines' line height, in pixel columns."""
    h, w = ln.pixels.shape[:2]
    return w * LINE_HEIGHT / max(1, h)


class _Names:
    """Cells either engine may read alone, taken from both ends until none is left.

    Cells holding a long line (certificate names) and free lines (on a page without a
    table); levels, header words and numbers keep their readers. The reader takes from
    the top of the table down; the checker takes the cells near a seal first (RapidOCR
    reads through a seal far better), then from the bottom of the table up — but only a
    cell it would finish before the reader finished all that is left, at the pace each
    engine has shown on this page (the last cells are often the reader's: it is faster).
    """

    def __init__(self, text: list[Line], seal_near):
        groups: dict[Owner, list[Line]] = {}
        for ln in text:
            groups.setdefault(ln.owner, []).append(ln)
        movable = [g for owner, g in groups.items() if owner[0] == "region" or any(_long(ln.pixels) for ln in g)]
        movable.sort(key=lambda g: (bool(seal_near(g[0].owner)), g[0].owner[1]))
        self._owners = {g[0].owner for g in movable}
        self._groups = deque(movable)  # the reader's end first
        self._lock = threading.Lock()
        self._pace = {True: [0.0, 0.0], False: [0.0, 0.0]}  # by end (top: the reader): seconds, columns

    def holds(self, ln: Line) -> bool:
        return ln.owner in self._owners

    def width(self) -> float:
        with self._lock:
            return self._left()

    def _left(self) -> float:
        """Columns still queued (the caller holds the lock)."""
        return sum(_columns(ln) for g in self._groups for ln in g)

    def timed(self, top: bool, engine: Engine, index: int, lines: list[Line], overwrite_digits: bool = False) -> None:
        """``_read_into``, noting the engine's pace."""
        started = time.perf_counter()
        _read_into(engine, index, lines, overwrite_digits)
        with self._lock:
            self._pace[top][0] += time.perf_counter() - started
            self._pace[top][1] += sum(map(_columns, lines))

    def take(self, top: bool, width: float = 0.0) -> list[Line]:
        """Whole cells from one end, at least one (while any is left), until ``width`` columns."""
        out: list[Line] = []
        with self._lock:
            if not top and self._groups and not self._sooner(self._groups[-1]):
                return out
            while self._groups and (not out or sum(map(_columns, out)) < width):
                out += self._groups.popleft() if top else self._groups.pop()
        return out

    def _sooner(self, group: list[Line]) -> bool:
        """The checker would read ``group`` sooner than the reader would read all that is left."""
        (r_s, r_cols), (c_s, c_cols) = self._pace[True], self._pace[False]
        if not r_cols or not c_cols:
            return True  # no pace seen yet: early on, plenty is left
        return c_s / c_cols * sum(map(_columns, group)) < r_s / r_cols * self._left()


def _parts(lines: list[Line], n: int) -> list[list[Line]]:
    """``lines`` in about ``n`` parts of similar width, never splitting a cell's lines."""
    total = sum(map(_columns, lines))
    parts: list[list[Line]] = [[]]
    width = 0.0
    for ln in lines:
        if width >= total / n and parts[-1][-1].owner != ln.owner:
            parts.append([])
            width = 0.0
        parts[-1].append(ln)
        width += _columns(ln)
    return [p for p in parts if p]


# Marks no form cell holds: a ruling line's remnant read as text ("|初级", "=初").
RULE_REMNANTS = re.compile(r"[=|_~^`<>\\\[\]{}]")


def _unsure(read: LineText | None) -> bool:
    return read is None or not read.text or read.confidence < SECOND_LOOK_BELOW or bool(RULE_REMNANTS.search(read.text))


def _second_look(lines: list[Line], reader: int) -> list[Line]:
    """Lines the reader was unsure of, with every other line of their cell (a cell is one field)."""
    owners = {ln.owner for ln in lines if _unsure(ln.reads.get(reader))}
    return [ln for ln in lines if ln.owner in owners]


def _read_into(engine: Engine, index: int, lines: list[Line], overwrite_digits: bool) -> None:
    """Read ``lines`` with one engine (those it has not read yet, or read as text but now digits)."""
    todo = [ln for ln in lines if index not in ln.reads or (overwrite_digits and ln.digits)]
    if not todo:
        return
    for ln, read in zip(todo, engine.read_lines([LineImage(ln.pixels, digits=ln.digits) for ln in todo])):
        ln.reads[index] = read


# ----------------------------------------------------------------------------- number columns


def _numeric_columns(
    lines: list[Line], cells: Sequence[Place], hints: ColumnHints, engines: Sequence[Engine]
) -> tuple[int, set[int]]:
    """The header row and the columns whose header names a count (``hints.numbers``).

    The reader reads the header row's lines and the short lines of the next rows (a body
    cell that holds a plain number marks a number column too); the checkers read again
    the header cells it was unsure of (a seal over the header). Only when no header names
    a count are the next rows read whole. The lines read here are not read again.
    """
    if not cells or not hints.numbers:
        return 0, set()
    reader = len(engines) - 1
    top = [ln for ln in lines if ln.owner[0] == "cell" and cells[ln.owner[1]].row < hints.header_rows]
    spans = {(cells[ln.owner[1]].row, cells[ln.owner[1]].col): cells[ln.owner[1]].col_span for ln in top}

    def look_again(todo: list[Line]) -> None:
        again = _second_look(todo, reader)
        for k, e in enumerate(engines):
            if k != reader:
                _read_into(e, k, again, False)

    def texts(best: bool) -> dict[tuple[int, int], str]:
        """Each cell's text: the leading reading, or (``best=False``) every engine's, joined by '|'."""
        out: dict[tuple[int, int], str] = {}
        for ln in top:
            if not ln.reads:
                continue
            c = cells[ln.owner[1]]
            if best:
                text = ln.reads[reader].text if not _unsure(ln.reads.get(reader)) else ln.reads[min(ln.reads)].text
            else:
                text = "|".join(r.text for r in ln.reads.values())
            out[(c.row, c.col)] = out.get((c.row, c.col), "") + text
        return out

    first = [ln for ln in top if cells[ln.owner[1]].row == 0 or not _long(ln.pixels)]
    _read_into(engines[reader], reader, first, False)
    header, cols = _header_row(texts(False), hints, spans)
    # The checkers read again what the reader was unsure of: when a header was found, in
    # its cells over columns that may still hold counts (a second count column may hide
    # under a misread); else in all the first lines.
    if cols:
        known = cols | _text_columns(top, cells, header, reader)
        look_again([ln for ln in first if cells[ln.owner[1]].row == header and cells[ln.owner[1]].col not in known])
    else:
        look_again(first)
    header, cols = _header_row(texts(False), hints, spans)
    if not cols:
        _read_into(engines[reader], reader, top, False)
        look_again(top)
        header, cols = _header_row(texts(False), hints, spans)
    # A seal over the header can hide its words: a column whose first body rows read as
    # plain numbers is a number column too (the row numbers' column included, which only helps).
    body = [(col, compact(text)) for (r, col), text in texts(True).items() if r > header]
    for col in {c for c, _ in body}:
        values = [t for c, t in body if c == col and t]
        if values and all(t.isdigit() for t in values):
            cols.add(col)
    return header, cols


def _sequence_columns(lines: list[Line], cells: Sequence[Place], header: int, words: Sequence[str]) -> set[int]:
    """Columns whose header cell reads one of ``words`` (序号), by any engine."""
    out = set()
    for ln in lines:
        if (
            ln.owner[0] == "cell"
            and cells[ln.owner[1]].row == header
            and any(h in compact(r.text) for r in ln.reads.values() for h in words)
        ):
            out.add(cells[ln.owner[1]].col)
    return out


def _text_columns(top: list[Line], cells: Sequence[Place], header: int, reader: int) -> set[int]:
    """Columns that surely hold text below the header: a long line (a name), or words the reader was sure of."""
    out = set()
    for ln in top:
        c = cells[ln.owner[1]]
        if c.row <= header:
            continue
        read = ln.reads.get(reader)
        if _long(ln.pixels) or (not _unsure(read) and not any(ch.isdigit() for ch in read.text)):
            out.add(c.col)
    return out


def _header_row(
    texts: dict[tuple[int, int], str], hints: ColumnHints, spans: dict[tuple[int, int], int] | None = None
) -> tuple[int, set[int]]:
    """The last of the first rows whose cells name a count, and the columns they head. A
    two-row header counts as one: a merged 人数 over 原批准 and 调增后 heads both columns."""
    spans = spans or {}
    width = max((col + spans.get((r, col), 1) for r, col in texts), default=0)
    header, cols = 0, set()
    for row in range(hints.header_rows):
        named = [col for (r, col), text in texts.items() if r == row and any(h in compact(text) for h in hints.numbers)
                 and not (col == 0 and spans.get((r, col), 1) >= width > 1)]  # a title across the table
        if not named:
            if cols:
                break
            continue
        header = row
        cols |= {c for col in named for c in range(col, col + spans.get((row, col), 1))}
    return header, cols
