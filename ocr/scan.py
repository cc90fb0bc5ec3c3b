"""One raster page in, one ``PageScan`` out: the OCR pipeline, stage by stage.

    upright (scale, quarter turn, deskew, unwarp) → seals found and lifted off
    → table grid → each cell cut into text lines (empty cells by ink)
    → the engines read side by side (``_schedule``): numbers by both, text by
      Tesseract, and by RapidOCR too wherever Tesseract was unsure
    → cross-check → PageScan

Confidence is the point: a number is confident only when two engines read the same
digits with high scores. Where the engines differ the cell says so (``agreed=False``)
and its confidence drops, so the form reader sends the page to a human.
"""

from __future__ import annotations

import queue
import re
import threading
import time
import unicodedata
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Sequence

import cv2
import numpy as np
from PIL import Image

from ocr.engines import (
    LINE_HEIGHT,
    Engine,
    LineImage,
    LineText,
    RapidEngine,
    TesseractEngine,
    default_engines,
    normalise_digits,
)
from ocr.errors import ImageTooLarge, OCRError
from ocr.geometry import Upright, make_upright, page_mask, rotate_quarter, to_array
from ocr.grid import TableLines, binarize, find_table
from ocr.model import SEQUENCE_HEADERS, Cell, Grid, PageScan, Seal, TextLine
from ocr.seal import find_seals, remove_seals

MAX_PIXELS = 120_000_000  # the document reader enforces its own, lower limits first
DISAGREEMENT_CAP = 0.3  # confidence of a cell the engines read differently
AGREED_FLOOR = 0.5  # below this, even an agreed reading keeps the weaker engine's score
NOT_A_NUMBER_CAP = 0.3  # a number column cell that holds more than digits
HEADER_ROWS_SEARCHED = 3
LONG_LINE_RATIO = 8  # width/height: a longer cell line is a name, not a header word or number
SECOND_LOOK_BELOW = 0.8  # the reader's score under which a checker reads a text line again
SECOND_LOOK_PARTS = 4  # the reader's text in this many montages (second looks start after each)
DUST_PX = 18  # at the working scale (300 dpi) a printed character is 30 px or more


@dataclass(frozen=True)
class _CellLines:
    row: int
    col: int
    row_span: int
    col_span: int
    bbox: tuple[int, int, int, int]
    lines: tuple[np.ndarray, ...]  # gray crops, one per text line; () when the cell has no ink


@dataclass(frozen=True)
class _RegionLine:
    bbox: tuple[int, int, int, int]
    pixels: np.ndarray
    below: bool  # below the table


@dataclass(frozen=True)
class _Prepared:
    upright: Upright
    gray: np.ndarray  # seals lifted off, ruling lines kept
    seals: tuple[Seal, ...]
    table: TableLines | None
    notes: tuple[str, ...]
    cells: tuple[_CellLines, ...] = ()  # the table's cells cut into line images
    regions: tuple[_RegionLine, ...] = ()  # text lines around the table


def scan_page(
    image: Image.Image,
    *,
    numeric_headers: Sequence[str] = ("人数",),
    engines: Sequence[Engine] | None = None,
) -> PageScan:
    """Read one page image: its table cell by cell, the lines around it, its seals."""
    if image.width * image.height > MAX_PIXELS:
        raise ImageTooLarge(f"page image is {image.width}x{image.height} px, more than {MAX_PIXELS} px")
    engines = tuple(engines) if engines is not None else default_engines()
    if not engines:
        raise OCRError("scan_page needs at least one engine")
    prep = _prepare(make_upright(to_array(image)))
    if _upside_down(prep, engines):
        turned = prep.upright
        prep = _prepare(Upright(rotate_quarter(turned.pixels, 180), (turned.rotation + 180) % 360,
                                turned.skew, turned.warped, turned.scale))
    return _read(prep, numeric_headers, engines)


def upright_image(image: Image.Image) -> Image.Image:
    """The page as ``scan_page`` sees it before the 180° check (for drawing outlines on)."""
    return Image.fromarray(make_upright(to_array(image)).pixels)


# ----------------------------------------------------------------------------- stages


def _prepare(up: Upright) -> _Prepared:
    seals = find_seals(up.pixels)
    gray, seal_notes = remove_seals(up.pixels, seals)
    mask = page_mask(gray)
    table = find_table(gray, mask)
    notes = []
    if up.rotation:
        notes.append(f"page turned {up.rotation}°")
    if abs(up.skew) >= 0.1:
        notes.append(f"deskewed {up.skew:+.1f}°")
    if up.warped:
        notes.append("perspective corrected")
    if seals:
        notes.append(f"{len(seals)} seal(s) found ({', '.join(s.colour for s in seals)})")
    if table is None:
        notes.append("no ruled table found")
    prep = _Prepared(up, gray, tuple(seals), table, tuple(notes + seal_notes))
    # Cells and the free text around the table are cut side by side (OpenCV and NumPy
    # release the GIL): the reading cannot start before both are done.
    with ThreadPoolExecutor(max_workers=1) as pool:
        around = pool.submit(_region_lines, prep, mask)
        cells = tuple(_cell_lines(prep)) if table is not None else ()
        return replace(prep, cells=cells, regions=tuple(around.result()))


def _region_lines(prep: _Prepared, mask: np.ndarray) -> list[_RegionLine]:
    """Free text lines (title, unit line, contact, date) above and below the table, by ink."""
    height = prep.gray.shape[0]
    ink = cv2.bitwise_and(binarize(prep.gray), mask)
    regions = [(0, height, False)]  # top, bottom, below the table
    if prep.table is not None:
        ink[cv2.dilate(prep.table.rules, np.ones((5, 5), np.uint8)) > 0] = 0
        _, y0, _, y1 = prep.table.bbox
        regions = [(0, max(0, y0 - 2), False), (min(height, y1 + 2), height, True)]
    out = []
    for top, bottom, below in regions:
        if bottom - top < 20:
            continue
        for (x0, y0, x1, y1), crop in _text_lines(ink[top:bottom], prep.gray[top:bottom]):
            out.append(_RegionLine((x0, y0 + top, x1, y1 + top), crop, below))
    return out


def _cell_lines(prep: _Prepared) -> list[_CellLines]:
    """Cut every cell into text-line crops by its ink; ruling lines are painted out first."""
    table = prep.table
    assert table is not None
    rules = cv2.dilate(table.rules, np.ones((9, 9), np.uint8))
    clean = prep.gray.copy()
    # Paint the rules out with the paper around them (not white: a photo's paper is gray,
    # and a white band would read as an edge).
    paper = cv2.dilate(prep.gray, np.ones((15, 15), np.uint8))
    clean[rules > 0] = paper[rules > 0]
    ink = binarize(clean)
    ink[rules > 0] = 0
    out = []
    for cb in table.cells:
        x0, y0, x1, y1 = cb.bbox
        inset = max(4, min(x1 - x0, y1 - y0) // 20)
        box = (x0 + inset, y0 + inset, x1 - inset, y1 - inset)
        lines = _split_lines(ink[box[1]:box[3], box[0]:box[2]], clean[box[1]:box[3], box[0]:box[2]])
        out.append(_CellLines(cb.row, cb.col, cb.row_span, cb.col_span, cb.bbox, tuple(lines)))
    return out


def _split_lines(ink: np.ndarray, gray: np.ndarray) -> list[np.ndarray]:
    """Text lines of one cell by the horizontal ink profile; [] for an empty cell."""
    if ink.size == 0:
        return []
    n, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    keep = np.zeros(n, bool)
    H, W = ink.shape
    min_h = max(3, H // 25)
    for i in range(1, n):
        x, y, w, h, area = (int(v) for v in stats[i, :5])
        if area < 12 or (h < min_h and w < min_h):
            continue  # specks and JPEG dust are not ink
        touches = x == 0 or y == 0 or x + w == W or y + h == H
        if touches and max(w, h) < min(H * 0.35, 40):
            continue  # a crumb of a ruling line at the cell's edge
        near_edge = x + w < W * 0.1 or x > W * 0.9 or y + h < H * 0.15 or y > H * 0.85
        if near_edge and max(w, h) < DUST_PX:
            continue  # dust along a slightly slanted rule
        if (h <= max(6, H // 8) and w >= W * 0.5) or (w <= max(6, W // 8) and h >= H * 0.7):
            continue  # what is left of a (blurred, thick) ruling line
        keep[i] = True
    solid = keep[labels]
    if solid.sum() < 30:
        return []
    rows = solid.any(axis=1)
    bands = []
    y = 0
    while y < len(rows):
        if rows[y]:
            start = y
            while y < len(rows) and rows[y]:
                y += 1
            bands.append([start, y])
        y += 1
    # Merge bands split inside a line (a character's parts), drop slivers.
    tallest = max(b - a for a, b in bands)
    merged: list[list[int]] = []
    for a, b in bands:
        if merged and a - merged[-1][1] < tallest * 0.35 and (b - a < tallest * 0.6 or merged[-1][1] - merged[-1][0] < tallest * 0.6):
            merged[-1][1] = b
        else:
            merged.append([a, b])
    crops = []
    for a, b in merged:
        if b - a < tallest * 0.45:
            continue  # a sliver next to a real line of text
        cols = solid[a:b].any(axis=0)
        xs = np.flatnonzero(cols)
        # Small strokes at either end (the dots of 氵, a comma) were not kept as solid ink:
        # widen the crop over any ink that continues the line without a real gap.
        raw = ink[a:b].any(axis=0)
        left, right, gap = xs[0], xs[-1], max(6, (b - a) // 2)
        while left > 0 and raw[max(0, left - gap):left].any():
            left = max(0, left - gap) + int(np.flatnonzero(raw[max(0, left - gap):left])[0])
        while right < len(raw) - 1 and raw[right + 1:right + 1 + gap].any():
            right = right + 1 + int(np.flatnonzero(raw[right + 1:right + 1 + gap])[-1])
        xs = np.array([left, right])
        pad = max(4, (b - a) // 4)
        ya, yb = max(0, a - pad), min(gray.shape[0], b + pad)
        xa, xb = max(0, xs[0] - pad), min(gray.shape[1], xs[-1] + 1 + pad)
        crops.append(gray[ya:yb, xa:xb])
    return crops


def _text_lines(ink: np.ndarray, gray: np.ndarray) -> list[tuple[tuple[int, int, int, int], np.ndarray]]:
    """Text lines of a free region: ink bands, each cut where a wide gap separates phrases."""
    out = []
    n, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    big = np.zeros(n, bool)
    for i in range(1, n):
        w, h, area = stats[i, cv2.CC_STAT_WIDTH], stats[i, cv2.CC_STAT_HEIGHT], stats[i, cv2.CC_STAT_AREA]
        big[i] = area >= 20 and max(w, h) >= 8 and h < ink.shape[0] * 0.5
    solid = big[labels]
    rows = solid.any(axis=1)
    y = 0
    while y < len(rows):
        if not rows[y]:
            y += 1
            continue
        a = y
        while y < len(rows) and (rows[y] or (y + 6 < len(rows) and rows[y:y + 6].any())):
            y += 1
        b = y
        if b - a < 12:
            continue
        cols = np.flatnonzero(solid[a:b].any(axis=0))
        if cols.size == 0:
            continue
        gap = max(60, 3 * (b - a))
        starts = [cols[0]]
        ends = []
        for p, q in zip(cols[:-1], cols[1:]):
            if q - p > gap:
                ends.append(p + 1)
                starts.append(q)
        ends.append(cols[-1] + 1)
        pad = max(4, (b - a) // 4)
        for xa, xb in zip(starts, ends):
            ya, yb = max(0, a - pad), min(gray.shape[0], b + pad)
            xa2, xb2 = max(0, xa - pad), min(gray.shape[1], xb + pad)
            out.append(((xa2, ya, xb2, yb), gray[ya:yb, xa2:xb2]))
    return out


def _upside_down(prep: _Prepared, engines: Sequence[Engine]) -> bool:
    """Ask the text-direction classifier about the widest cell lines (OSD if RapidOCR is missing)."""
    rapid = next((e for e in engines if isinstance(e, RapidEngine)), None)
    if prep.table is None:
        return False
    cells = [c for c in prep.cells if c.lines]
    cells.sort(key=lambda c: -sum(ln.size for ln in c.lines))
    sample = [ln for c in cells[:8] for ln in c.lines[:1]]
    if not sample:
        return False
    if rapid is not None:
        return rapid.upside_down([LineImage(s) for s in sample]) > 0.5
    tess = next((e for e in engines if isinstance(e, TesseractEngine)), None)
    if tess is None:
        return False
    osd = tess.orientation(prep.upright.pixels[::2, ::2])
    return osd is not None and osd[0] == 180 and osd[1] >= 2.0


@dataclass(eq=False)
class _Line:
    """One line image to read, and what each engine made of it."""

    pixels: np.ndarray
    owner: tuple[str, int]  # ("cell", index in cells) or ("region", index in found)
    below: bool = False  # below the table (contact, signature, date): informs notes only
    digits: bool = False
    reads: dict[int, LineText] = field(default_factory=dict)  # engine index → reading


def _read(prep: _Prepared, numeric_headers: Sequence[str], engines: Sequence[Engine]) -> PageScan:
    """Read every line of the page with the engines (see ``_schedule``), then combine per cell."""
    height, width = prep.gray.shape
    grid = None
    cells = list(prep.cells)
    lines: list[_Line] = []
    for i, c in enumerate(cells):
        for crop in c.lines:
            lines.append(_Line(crop, ("cell", i)))
    found = [r.bbox for r in prep.regions]
    for i, r in enumerate(prep.regions):
        lines.append(_Line(r.pixels, ("region", i), r.below))

    def seal_near(owner: tuple[str, int]) -> bool:
        box = cells[owner[1]].bbox if owner[0] == "cell" else found[owner[1]]
        return any(_overlap(box, s.bbox) for s in prep.seals)

    header, numeric_cols = _schedule(lines, cells, numeric_headers, engines, seal_near)

    n = len(engines)
    per_cell: list[list[list[LineText | None]]] = [[[] for _ in engines] for _ in cells]
    per_region: list[list[LineText | None]] = [[None] * n for _ in found]
    for ln in lines:
        what, idx = ln.owner
        for e in range(n):
            read = ln.reads.get(e)
            if read is not None and ln.digits:
                read = LineText(normalise_digits(read.text), read.confidence)
            if what == "cell":
                per_cell[idx][e].append(read)
            else:
                per_region[idx][e] = read

    if prep.table is not None:
        out_cells = []
        for c, reads in zip(cells, per_cell):
            out_cells.append(_combine_cell(c, reads, _numeric(c, numeric_cols, header)))
        tb = prep.table
        grid = Grid(n_rows=tb.n_rows, n_cols=tb.n_cols, cells=tuple(out_cells), bbox=tuple(float(v) for v in tb.bbox))

    text_lines = [_combine_line(bbox, reads) for bbox, reads in zip(found, per_region)]
    text_lines = [ln for ln in text_lines if ln.text]
    text_lines.sort(key=lambda t: (t.bbox[1], t.bbox[0]))
    return PageScan(
        width=float(width),
        height=float(height),
        grid=grid,
        lines=tuple(text_lines),
        seals=prep.seals,
        rotation=prep.upright.rotation,
        notes=prep.notes,
    )


def _long(crop: np.ndarray) -> bool:
    h, w = crop.shape[:2]
    return w > LONG_LINE_RATIO * h


def _schedule(
    lines: list[_Line],
    cells: list[_CellLines],
    numeric_headers: Sequence[str],
    engines: Sequence[Engine],
    seal_near=lambda owner: False,
) -> tuple[int, set[int]]:
    """Have the engines read ``lines`` (filling ``reads``); return the header row and number columns.

    The last engine is the *reader* (Tesseract by default: in-process it costs ~0.1 ms per
    pixel column of a line, RapidOCR ~0.25 ms), the others are *checkers*:
    - numbers: every engine — two engines reading the same digits is what makes a number
      confident; 序号, which only numbers the rows, the reader alone (one engine's 序号 is
      never confident, so the form reader numbers those lines by position);
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
        header, numeric_cols = _numeric_columns(lines, cells, numeric_headers, engines)
        for ln in lines:
            if ln.owner[0] == "cell":
                ln.digits = _numeric(cells[ln.owner[1]], numeric_cols, header)
        digits = [ln for ln in lines if ln.digits]
        numbered = _sequence_columns(lines, cells, header)
        checked = [ln for ln in digits if cells[ln.owner[1]].col not in numbered]
        below = [ln for ln in lines if ln.below]
        taken = {id(ln) for ln in above}
        text = [ln for ln in lines if not ln.digits and not ln.below and id(ln) not in taken]
        names = _Names(text, seal_near)
        looks: queue.SimpleQueue[list[_Line] | None] = queue.SimpleQueue()
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
    return header, numeric_cols


def _check(checkers: list[tuple[int, Engine]], checked: list[_Line], names: "_Names", looks: queue.SimpleQueue) -> None:
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


def _columns(ln: _Line) -> float:
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

    def __init__(self, text: list[_Line], seal_near):
        groups: dict[tuple[str, int], list[_Line]] = {}
        for ln in text:
            groups.setdefault(ln.owner, []).append(ln)
        movable = [g for owner, g in groups.items() if owner[0] == "region" or any(_long(ln.pixels) for ln in g)]
        movable.sort(key=lambda g: (bool(seal_near(g[0].owner)), g[0].owner[1]))
        self._owners = {g[0].owner for g in movable}
        self._groups = deque(movable)  # the reader's end first
        self._lock = threading.Lock()
        self._pace = {True: [0.0, 0.0], False: [0.0, 0.0]}  # by end (top: the reader): seconds, columns

    def holds(self, ln: _Line) -> bool:
        return ln.owner in self._owners

    def width(self) -> float:
        with self._lock:
            return self._left()

    def _left(self) -> float:
        """Columns still queued (the caller holds the lock)."""
        return sum(_columns(ln) for g in self._groups for ln in g)

    def timed(self, top: bool, engine: Engine, index: int, lines: list[_Line], overwrite_digits: bool = False) -> None:
        """``_read_into``, noting the engine's pace."""
        started = time.perf_counter()
        _read_into(engine, index, lines, overwrite_digits)
        with self._lock:
            self._pace[top][0] += time.perf_counter() - started
            self._pace[top][1] += sum(map(_columns, lines))

    def take(self, top: bool, width: float = 0.0) -> list[_Line]:
        """Whole cells from one end, at least one (while any is left), until ``width`` columns."""
        out: list[_Line] = []
        with self._lock:
            if not top and self._groups and not self._sooner(self._groups[-1]):
                return out
            while self._groups and (not out or sum(map(_columns, out)) < width):
                out += self._groups.popleft() if top else self._groups.pop()
        return out

    def _sooner(self, group: list[_Line]) -> bool:
        """The checker would read ``group`` sooner than the reader would read all that is left."""
        (r_s, r_cols), (c_s, c_cols) = self._pace[True], self._pace[False]
        if not r_cols or not c_cols:
            return True  # no pace seen yet: early on, plenty is left
        return c_s / c_cols * sum(map(_columns, group)) < r_s / r_cols * self._left()


def _parts(lines: list[_Line], n: int) -> list[list[_Line]]:
    """``lines`` in about ``n`` parts of similar width, never splitting a cell's lines."""
    total = sum(map(_columns, lines))
    parts: list[list[_Line]] = [[]]
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


def _second_look(lines: list[_Line], reader: int) -> list[_Line]:
    """Lines the reader was unsure of, with every other line of their cell (a cell is one field)."""
    owners = {ln.owner for ln in lines if _unsure(ln.reads.get(reader))}
    return [ln for ln in lines if ln.owner in owners]


def _read_into(engine: Engine, index: int, lines: list[_Line], overwrite_digits: bool) -> None:
    """Read ``lines`` with one engine (those it has not read yet, or read as text but now digits)."""
    todo = [ln for ln in lines if index not in ln.reads or (overwrite_digits and ln.digits)]
    if not todo:
        return
    for ln, read in zip(todo, engine.read_lines([LineImage(ln.pixels, digits=ln.digits) for ln in todo])):
        ln.reads[index] = read


def _numeric_columns(
    lines: list[_Line], cells: list[_CellLines], numeric_headers: Sequence[str], engines: Sequence[Engine]
) -> tuple[int, set[int]]:
    """The header row and the columns whose header names a count.

    The reader reads the header row's lines and the short lines of the next rows (a body
    cell that holds a plain number marks a number column too); the checkers read again
    the header cells it was unsure of (a seal over the header). Only when no header names
    a count are the next rows read whole. The lines read here are not read again.
    """
    if not cells or not numeric_headers:
        return 0, set()
    reader = len(engines) - 1
    top = [ln for ln in lines if ln.owner[0] == "cell" and cells[ln.owner[1]].row < HEADER_ROWS_SEARCHED]

    def look_again(todo: list[_Line]) -> None:
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
    header, cols = _header_row(texts(False), numeric_headers)
    # The checkers read again what the reader was unsure of: when a header was found, in
    # its cells over columns that may still hold counts (a second count column may hide
    # under a misread); else in all the first lines.
    if cols:
        known = cols | _text_columns(top, cells, header, reader)
        look_again([ln for ln in first if cells[ln.owner[1]].row == header and cells[ln.owner[1]].col not in known])
    else:
        look_again(first)
    header, cols = _header_row(texts(False), numeric_headers)
    if not cols:
        _read_into(engines[reader], reader, top, False)
        look_again(top)
        header, cols = _header_row(texts(False), numeric_headers)
    # A seal over the header can hide its words: a column whose first body rows read as
    # plain numbers is a number column too (序号 included, which only helps).
    body = [(col, _norm(text)) for (r, col), text in texts(True).items() if r > header]
    for col in {c for c, _ in body}:
        values = [t for c, t in body if c == col and t]
        if values and all(t.isdigit() for t in values):
            cols.add(col)
    return header, cols


def _sequence_columns(lines: list[_Line], cells: list[_CellLines], header: int) -> set[int]:
    """Columns whose header cell reads 序号 (by any engine)."""
    out = set()
    for ln in lines:
        if ln.owner[0] == "cell" and cells[ln.owner[1]].row == header:
            if any(h in _norm(r.text) for r in ln.reads.values() for h in SEQUENCE_HEADERS):
                out.add(cells[ln.owner[1]].col)
    return out


def _text_columns(top: list[_Line], cells: list[_CellLines], header: int, reader: int) -> set[int]:
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


def _header_row(texts: dict[tuple[int, int], str], numeric_headers: Sequence[str]) -> tuple[int, set[int]]:
    for row in range(HEADER_ROWS_SEARCHED):
        cols = {col for (r, col), text in texts.items() if r == row and any(h in _norm(text) for h in numeric_headers)}
        if cols:
            return row, cols
    return 0, set()


def _numeric(c: _CellLines, numeric_cols: set[int], header: int) -> bool:
    """A body cell of a number column (a label spanning columns, like 合计, is not)."""
    return c.col in numeric_cols and c.col_span == 1 and c.row > header


def _combine_cell(c: _CellLines, reads: list[list[LineText]], numeric: bool) -> Cell:
    bbox = tuple(float(v) for v in c.bbox)
    if not c.lines:
        return Cell(c.row, c.col, "", 1.0, bbox, c.row_span, c.col_span, None)
    # Only engines that read every line of the cell take part in it.
    complete = [r for r in reads if all(t is not None for t in r)]
    if not complete:  # no engine read every line: the one that read most, gaps as unread
        best = max(reads, key=lambda r: sum(t is not None for t in r))
        complete = [[t if t is not None else LineText("", 0.0) for t in best]]
    reads = complete
    # A line no engine could read next to lines that were read is a speck, not a field.
    n_lines = len(c.lines)
    blank = [k for k in range(n_lines) if not any(r[k].text for r in reads)]
    if len(blank) < n_lines:
        reads = [[r[k] for k in range(n_lines) if k not in blank] for r in reads]
    texts = []
    confs = []
    for engine_lines in reads:
        joined = "".join(t.text for t in engine_lines)
        texts.append(_norm(joined) if numeric else joined)
        confs.append(min((t.confidence for t in engine_lines), default=0.0))
    text, conf = texts[0], confs[0]
    agreed = None
    if len(texts) > 1:
        agreed = all(_norm(t) == _norm(texts[0]) for t in texts[1:])
        if agreed:
            # The same digits from two engines are the evidence. Tesseract's own score for
            # a lone short number is poorly calibrated (0.6 for a clean "7"), so the pair
            # counts at the better score unless the weaker one is really unsure.
            conf = max(confs) if min(confs) >= AGREED_FLOOR else min(confs)
        else:
            conf = min(conf, DISAGREEMENT_CAP) if numeric else conf
    if numeric and not text.isdigit():
        conf = min(conf, NOT_A_NUMBER_CAP)
    if not text:
        conf = 0.0  # ink we could not read is never an empty value
    others = tuple(dict.fromkeys(t for t in texts[1:] if t != text))
    return Cell(c.row, c.col, text, round(float(conf), 4), bbox, c.row_span, c.col_span, agreed, others)


def _combine_line(bbox, reads: list[LineText | None]) -> TextLine:
    reads = [r for r in reads if r is not None] or [LineText("", 0.0)]
    text, conf = reads[0].text, reads[0].confidence
    agreed = None
    others: tuple[str, ...] = ()
    if len(reads) > 1:
        agreed = all(_norm(r.text) == _norm(text) for r in reads[1:])
        conf = max(r.confidence for r in reads) if agreed else conf
        others = tuple(dict.fromkeys(r.text for r in reads[1:] if r.text and r.text != text))
    return TextLine(text, round(float(conf), 4), tuple(float(v) for v in bbox), agreed, others)


def _overlap(a, b) -> bool:
    return min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text).replace(" ", "")
