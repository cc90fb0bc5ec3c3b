"""A page brought upright → its seals lifted off, its table grid, and every text line cut out.

    seals found and lifted off → table grid from ruling lines → each cell cut into text
    lines by its ink (an empty cell has none) → the free lines above and below the table

No OCR here: ``ocr.scan`` hands the line images to the engines (``ocr.schedule``).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from itertools import pairwise

import cv2
import numpy as np

from ocr.geometry import Upright, page_mask
from ocr.grid import TableLines, binarize, find_table
from ocr.model import Seal
from ocr.seal import find_seals, remove_seals

DUST_PX = 18  # at the working scale (300 dpi) a printed character is 30 px or more


@dataclass(frozen=True)
class CellLines:
    """One table cell and its text lines, cut out and ready to read."""

    row: int
    col: int
    row_span: int
    col_span: int
    bbox: tuple[int, int, int, int]
    lines: tuple[np.ndarray, ...]  # gray crops, one per text line; () when the cell has no ink


@dataclass(frozen=True)
class RegionLine:
    """One free text line above or below the table (title, unit line, contact, date)."""

    bbox: tuple[int, int, int, int]
    pixels: np.ndarray
    below: bool  # below the table


@dataclass(frozen=True)
class Prepared:
    """An upright page, ready to read: what ``scan_page`` hands the engines, line by line."""

    upright: Upright
    gray: np.ndarray  # seals lifted off, ruling lines kept
    seals: tuple[Seal, ...]
    table: TableLines | None
    notes: tuple[str, ...]
    cells: tuple[CellLines, ...] = ()  # the table's cells cut into line images
    regions: tuple[RegionLine, ...] = ()  # text lines around the table


def prepare(up: Upright) -> Prepared:
    """Seals found and lifted off, the table grid, every text line cut out (no OCR)."""
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
    prep = Prepared(up, gray, tuple(seals), table, tuple(notes + seal_notes))
    # Cells and the free text around the table are cut side by side (OpenCV and NumPy
    # release the GIL): the reading cannot start before both are done.
    with ThreadPoolExecutor(max_workers=1) as pool:
        around = pool.submit(_region_lines, prep, mask)
        cells = tuple(_cell_lines(prep)) if table is not None else ()
        return replace(prep, cells=cells, regions=tuple(around.result()))


def _region_lines(prep: Prepared, mask: np.ndarray) -> list[RegionLine]:
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
            out.append(RegionLine((x0, y0 + top, x1, y1 + top), crop, below))
    return out


def _cell_lines(prep: Prepared) -> list[CellLines]:
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
        out.append(CellLines(cb.row, cb.col, cb.row_span, cb.col_span, cb.bbox, tuple(lines)))
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
        for p, q in pairwise(cols):
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
