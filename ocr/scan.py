"""One raster page in, one ``PageScan`` out: the OCR pipeline, stage by stage.

    upright (scale, quarter turn, deskew, unwarp: ``ocr.geometry``)
    → seals lifted off, table grid, each cell cut into text lines (``ocr.prepare``)
    → the engines read side by side (``ocr.schedule``): numbers by both, text by
      Tesseract, and by RapidOCR too wherever Tesseract was unsure
    → cross-check → PageScan

Confidence is the point: a number is confident only when two engines read the same
digits with high scores. Where the engines differ the cell says so (``agreed=False``)
and its confidence drops, so the form reader sends the page to a human. Which columns
hold numbers the form reader says (``ColumnHints``): the OCR knows no form.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from PIL import Image

from ocr import third_look
from ocr.engines import (
    Engine,
    LineImage,
    LineText,
    RapidEngine,
    TesseractEngine,
    compact,
    default_engines,
    normalise_digits,
)
from ocr.errors import ImageTooLarge, OCRError
from ocr.geometry import Upright, make_upright, rotate_quarter, to_array
from ocr.model import Cell, ColumnHints, Grid, PageScan, TextLine
from ocr.prepare import CellLines, Prepared, prepare
from ocr.schedule import Line, read_all

MAX_PIXELS = 120_000_000  # the document reader enforces its own, lower limits first
DISAGREEMENT_CAP = 0.3  # confidence of a cell the engines read differently
AGREED_FLOOR = 0.5  # below this, even an agreed reading keeps the weaker engine's score
NOT_A_NUMBER_CAP = 0.3  # a number column cell that holds more than digits


def scan_page(
    image: Image.Image,
    *,
    columns: ColumnHints = ColumnHints(),  # noqa: B008 - frozen, shared safely
    engines: Sequence[Engine] | None = None,
    turn: int | None = None,
) -> PageScan:
    """Read one page image: its table cell by cell, the lines around it, its seals.

    ``columns``: which header words mark the columns that hold digits (the form reader's
    ``parsers.columns.column_hints``); by default every cell is read as text.
    ``turn``: degrees (90, 180, 270) to turn the page after it was set upright by its
    rules, instead of asking the text-direction classifier; the form reader tries the
    other orientations this way when a page with a table reads as no form.
    """
    if image.width * image.height > MAX_PIXELS:
        raise ImageTooLarge(f"page image is {image.width}x{image.height} px, more than {MAX_PIXELS} px")
    engines = tuple(engines) if engines is not None else default_engines()
    if not engines:
        raise OCRError("scan_page needs at least one engine")
    prep = prepare(make_upright(to_array(image)))
    extra = turn if turn is not None else 180 if _upside_down(prep, engines) else 0
    if extra % 360:
        turned = prep.upright
        prep = prepare(Upright(rotate_quarter(turned.pixels, extra), (turned.rotation + extra) % 360,
                               turned.skew, turned.warped, turned.scale))
    return replace(_read(prep, columns, engines), turn=extra % 360)


def upright_image(image: Image.Image) -> Image.Image:
    """The page as ``scan_page`` sees it before the 180° check (for drawing outlines on)."""
    return Image.fromarray(make_upright(to_array(image)).pixels)


def _upside_down(prep: Prepared, engines: Sequence[Engine]) -> bool:
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


def _read(prep: Prepared, columns: ColumnHints, engines: Sequence[Engine]) -> PageScan:
    """Read every line of the page with the engines (``ocr.schedule.read_all``), then combine per cell."""
    height, width = prep.gray.shape
    grid = None
    cells = list(prep.cells)
    lines: list[Line] = []
    for i, c in enumerate(cells):
        for crop in c.lines:
            lines.append(Line(crop, ("cell", i)))
    found = [r.bbox for r in prep.regions]
    for i, r in enumerate(prep.regions):
        lines.append(Line(r.pixels, ("region", i), r.below))

    def seal_near(owner: tuple[str, int]) -> bool:
        box = cells[owner[1]].bbox if owner[0] == "cell" else found[owner[1]]
        return any(_overlap(box, s.bbox) for s in prep.seals)

    numbers = read_all(lines, cells, columns, engines, seal_near)

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
        out_cells = [_combine_cell(c, reads, numbers.holds(c)) for c, reads in zip(cells, per_cell)]
        at = [i for i, (c, cell) in enumerate(zip(cells, out_cells)) if third_look.disputed(cell, numbers.holds(c), c.lines)]
        settled = third_look.settle([(out_cells[i], cells[i].lines[0]) for i in at], engines)
        for k, cell in settled.items():
            out_cells[at[k]] = cell
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


def _combine_cell(c: CellLines, reads: list[list[LineText]], numeric: bool) -> Cell:
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
        texts.append(compact(joined) if numeric else joined)
        confs.append(min((t.confidence for t in engine_lines), default=0.0))
    text, conf = texts[0], confs[0]
    agreed = None
    if len(texts) > 1:
        agreed = all(compact(t) == compact(texts[0]) for t in texts[1:])
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
        agreed = all(compact(r.text) == compact(text) for r in reads[1:])
        conf = max(r.confidence for r in reads) if agreed else conf
        others = tuple(dict.fromkeys(r.text for r in reads[1:] if r.text and r.text != text))
    return TextLine(text, round(float(conf), 4), tuple(float(v) for v in bbox), agreed, others)


def _overlap(a, b) -> bool:
    return min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])
