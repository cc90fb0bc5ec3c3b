"""A third look at the numbers the two engines read differently.

Hand-filled digits, a seal's edge or JPEG noise make the engines disagree on a count (118 or
18). The cell's line is cleaned another way — Otsu ink, a stroke thickened, drawn larger on a
white margin — and both engines read it again. Only when both now read the same digits, and
those digits are one of the first two readings, is the number taken: three readings of four
agree, and nothing new is invented. Otherwise the cell stays as it was (a person looks).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import cv2
import numpy as np

from ocr.engines import Engine, LineImage, compact, normalise_digits
from ocr.model import Cell

HEIGHT = 64  # px: the cleaned line's height
MARGIN = 12  # px of white around it
MIN_CONFIDENCE = 0.5  # each engine's score on the cleaned line
AGREED_CONFIDENCE = 0.85  # the cell's confidence when the third look settles it
SURE = 0.8  # a cell read alike at least this surely needs no third look (the form reader's bar)


def cleaned(gray: np.ndarray) -> np.ndarray:
    """Black digits on white: Otsu ink, one pixel thicker, scaled to ``HEIGHT``, with a margin."""
    _, ink = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    ink = cv2.dilate(ink, np.ones((2, 2), np.uint8))
    ys, xs = np.nonzero(ink)
    if len(xs) == 0:
        return gray
    ink = ink[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    scale = HEIGHT / max(1, ink.shape[0])
    ink = cv2.resize(ink, (max(1, round(ink.shape[1] * scale)), HEIGHT), interpolation=cv2.INTER_CUBIC)
    page = 255 - cv2.copyMakeBorder(ink, MARGIN, MARGIN, MARGIN, MARGIN, cv2.BORDER_CONSTANT, value=0)
    return page.astype(np.uint8)


def disputed(cell: Cell, numeric: bool, crops: Sequence[np.ndarray]) -> bool:
    """A one-line number cell both engines read, but not surely alike: two different numbers, or
    the same digits scored low. A cell one engine alone reads (序号) is not one: the form reader
    numbers rows by position unless both engines read the school's own numbers."""
    unsure = cell.agreed is False or (cell.agreed is True and cell.confidence < SURE)
    return numeric and len(crops) == 1 and bool(cell.text) and unsure


def settle(cells: list[tuple[Cell, np.ndarray]], engines: Sequence[Engine]) -> dict[int, Cell]:
    """Read the disputed cells' lines again, cleaned; the cells it settles, by position in ``cells``."""
    if not cells or len(engines) < 2:
        return {}
    images = [LineImage(cleaned(crop), digits=True) for _, crop in cells]
    reads = [engine.read_lines(images) for engine in engines]
    out = {}
    for k, (cell, _) in enumerate(cells):
        texts = [compact(normalise_digits(r[k].text)) for r in reads]
        confident = all(r[k].confidence >= MIN_CONFIDENCE for r in reads)
        first = {compact(cell.text), *(compact(a) for a in cell.alternatives)}
        if confident and texts[0].isdigit() and len(set(texts)) == 1 and texts[0] in first:
            others = tuple(t for t in (cell.text, *cell.alternatives) if compact(t) != texts[0])
            out[k] = replace(cell, text=texts[0], confidence=AGREED_CONFIDENCE, agreed=True, alternatives=others)
    return out
