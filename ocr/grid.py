"""Table grid from ruling lines: morphology, no model (the img2table way).

Horizontal and vertical strokes are isolated with long thin kernels; broken lines are
bridged by grouping collinear pieces; a separator missing between two neighbouring
cells makes them one merged cell (the 合计 row, a name spanning two rows).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

BBox = tuple[int, int, int, int]
RuleGroup = tuple[int, float, tuple[int, int]]  # position, length covered, (start, end) along the rule
WORK_WIDTH = 1800  # px: wider pages are searched for rules on a smaller copy
CANDIDATES = 4  # largest ruled components weighed as the table
FULL_RULE = 0.45  # a rule spans this share of the table at least, or it is a partial one


@dataclass(frozen=True)
class CellBox:
    row: int
    col: int
    row_span: int
    col_span: int
    bbox: BBox  # inside the ruling lines, page pixels


@dataclass(frozen=True)
class TableLines:
    ys: tuple[int, ...]  # horizontal rule positions, top to bottom
    xs: tuple[int, ...]  # vertical rule positions, left to right
    cells: tuple[CellBox, ...]
    bbox: BBox
    rules: np.ndarray  # uint8 mask of the ruling lines (255 = line), page-sized

    @property
    def n_rows(self) -> int:
        return len(self.ys) - 1

    @property
    def n_cols(self) -> int:
        return len(self.xs) - 1


def binarize(gray: np.ndarray) -> np.ndarray:
    """Ink = 255. Adaptive, so shadows and uneven light in photos do not turn black."""
    block = max(15, (min(gray.shape) // 60) | 1)
    return cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, block, 15)


def rule_masks(ink: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Horizontal and vertical stroke masks; short gaps in a line are closed."""
    h, w = ink.shape
    k_h = max(25, w // 35)
    k_v = max(25, h // 60)
    horiz = cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (k_h, 1)))
    vert = cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, k_v)))
    # Bridge small breaks (worn toner, JPEG) and thicken by one pixel against slight skew.
    horiz = cv2.morphologyEx(horiz, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (k_h // 2, 3)))
    vert = cv2.morphologyEx(vert, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (3, k_v // 2)))
    return horiz, vert


def find_table(gray: np.ndarray, mask: np.ndarray | None = None) -> TableLines | None:
    """The largest ruled table on the page (inside ``mask``, the sheet of paper), or None.

    Rules are found on a copy at most ``WORK_WIDTH`` wide (a quarter of the pixels of a
    300 dpi page, where a ruling line is still 2–3 px); positions come back in page pixels.
    """
    f = min(1.0, WORK_WIDTH / gray.shape[1])
    if f == 1.0:
        return _find_table(gray, mask)
    small = cv2.resize(gray, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
    if mask is not None:
        mask = cv2.resize(mask, (small.shape[1], small.shape[0]), interpolation=cv2.INTER_NEAREST)
    found = _find_table(small, mask)
    if found is None:
        return None

    def up(v: int) -> int:
        return int(round(v / f))

    cells = tuple(
        CellBox(c.row, c.col, c.row_span, c.col_span, tuple(up(v) for v in c.bbox)) for c in found.cells
    )
    rules = cv2.resize(found.rules, (gray.shape[1], gray.shape[0]), interpolation=cv2.INTER_NEAREST)
    ys, xs = tuple(map(up, found.ys)), tuple(map(up, found.xs))
    return TableLines(ys, xs, cells, (xs[0], ys[0], xs[-1], ys[-1]), rules)


def _find_table(gray: np.ndarray, mask: np.ndarray | None) -> TableLines | None:
    ink = binarize(gray)
    if mask is not None:
        ink = cv2.bitwise_and(ink, mask)
    horiz, vert = rule_masks(ink)
    rules = cv2.bitwise_or(horiz, vert)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(
        cv2.dilate(rules, np.ones((5, 5), np.uint8)), connectivity=8
    )
    if n <= 1:
        return None
    page_h, page_w = gray.shape
    found = _table_box(stats[1:, :4], horiz, vert, page_w, page_h)
    if found is None:
        return None
    box, ys, xs, rows = found
    ys = sorted(ys + _partial_rules(rows, box, ys, xs))
    cells = _cells(ys, xs, horiz, vert)
    return TableLines(tuple(ys), tuple(xs), tuple(cells), (xs[0], ys[0], xs[-1], ys[-1]), rules)


def _table_box(
    boxes: np.ndarray, horiz: np.ndarray, vert: np.ndarray, page_w: int, page_h: int
) -> tuple[BBox, list[int], list[int], list[RuleGroup]] | None:
    """The table: of the largest ruled components, the one with the most cells — a photo's
    sheet edge is a large ruled box with none — joined with its neighbours beside it (a
    fold breaks the rules of a photographed table into pieces side by side). With its box:
    its full rules, rows and columns, and every group of horizontal rule pieces in it."""
    order = np.argsort(-(boxes[:, 2] * boxes[:, 3]))[:CANDIDATES]
    best = None
    for i in order:
        x, y, w, h = (int(v) for v in boxes[i])
        if w < page_w * 0.25 or h < page_h * 0.04:
            continue
        box = _joined((x, y, x + w, y + h), boxes, gap=max(10, page_w // 25))
        rows = _rule_groups(horiz, box, axis=0)
        ys, xs = _full(rows, box, axis=0), _positions(vert, box, axis=1)
        cells = (len(ys) - 1) * (len(xs) - 1)
        if len(ys) >= 3 and len(xs) >= 3 and (best is None or cells > best[0]):
            best = (cells, box, ys, xs, rows)
    return best[1:] if best else None


def _joined(box: BBox, boxes: np.ndarray, gap: int) -> BBox:
    """``box`` grown by every component that shares most of its rows and lies within ``gap`` beside it."""
    x0, y0, x1, y1 = box
    grown = True
    while grown:
        grown = False
        for x, y, w, h in boxes:
            bx0, by0, bx1, by1 = int(x), int(y), int(x + w), int(y + h)
            rows_shared = min(y1, by1) - max(y0, by0)
            beside = -gap <= max(bx0 - x1, x0 - bx1) <= gap  # near, not inside or around
            joined = (min(x0, bx0), min(y0, by0), max(x1, bx1), max(y1, by1))
            if beside and rows_shared >= 0.8 * max(y1 - y0, by1 - by0) and joined != (x0, y0, x1, y1):
                x0, y0, x1, y1 = joined
                grown = True
    return x0, y0, x1, y1


def _positions(mask: np.ndarray, box: BBox, axis: int) -> list[int]:
    """Rule positions: collinear pieces grouped; a rule must span half the table."""
    return _full(_rule_groups(mask, box, axis), box, axis)


def _full(groups: list[RuleGroup], box: BBox, axis: int) -> list[int]:
    return [pos for pos, covered, _ in groups if covered >= _span(box, axis) * FULL_RULE]


def _span(box: BBox, axis: int) -> int:
    return (box[2] - box[0]) if axis == 0 else (box[3] - box[1])


def _rule_groups(mask: np.ndarray, box: BBox, axis: int) -> list[RuleGroup]:
    """Collinear pieces of rule grouped: (position, length covered, (start, end) along the rule)."""
    x0, y0, x1, y1 = box
    sub = mask[y0:y1, x0:x1]
    n, _, stats, centroids = cv2.connectedComponentsWithStats(sub, connectivity=8)
    span = _span(box, axis)
    pieces = []  # (position, length, start)
    for i in range(1, n):
        length = stats[i, cv2.CC_STAT_WIDTH] if axis == 0 else stats[i, cv2.CC_STAT_HEIGHT]
        thick = stats[i, cv2.CC_STAT_HEIGHT] if axis == 0 else stats[i, cv2.CC_STAT_WIDTH]
        if length < span * 0.04 or thick > length:
            continue
        pos = centroids[i][1] if axis == 0 else centroids[i][0]
        start = stats[i, cv2.CC_STAT_LEFT] if axis == 0 else stats[i, cv2.CC_STAT_TOP]
        pieces.append((pos, length, start))
    pieces.sort()
    tol = max(6, span // 150)
    groups: list[list[tuple[float, int, int]]] = []
    for p in pieces:
        if groups and p[0] - groups[-1][-1][0] <= tol:
            groups[-1].append(p)
        else:
            groups.append([p])
    out = []
    offset, along = (y0, x0) if axis == 0 else (x0, y0)
    for g in groups:
        covered = sum(length for _, length, _ in g)
        pos = sum(p * length for p, length, _ in g) / covered
        ends = (min(start for _, _, start in g) + along, max(start + length for _, length, start in g) + along)
        out.append((int(round(pos + offset)), float(covered), ends))
    return out


def _partial_rules(rows: list[RuleGroup], box: BBox, ys: list[int], xs: list[int]) -> list[int]:
    """Horizontal rules across only some columns (a two-row header: 人数 over 原批准 and 调增后).

    A piece counts when it runs from one column rule to another, covers at least a column,
    and splits a row into two parts each at least a third of a usual row's height: the
    strokes of a character, a seal's edge or an underline do neither."""
    if len(ys) < 3 or len(xs) < 3:
        return []
    row_h = float(np.median(np.diff(ys)))
    tol = max(6, (xs[-1] - xs[0]) // 100)
    narrowest = min(np.diff(xs))
    out = []
    for pos, covered, (start, end) in rows:
        if covered >= _span(box, 0) * FULL_RULE or end - start < narrowest * 0.8 or covered < (end - start) * 0.8:
            continue
        if min(abs(start - x) for x in xs) > tol or min(abs(end - x) for x in xs) > tol:
            continue
        above = max((y for y in ys if y < pos), default=None)
        below = min((y for y in ys if y > pos), default=None)
        if above is None or below is None or min(pos - above, below - pos) < row_h / 3:
            continue
        out.append(pos)
    return out


def _cells(ys: list[int], xs: list[int], horiz: np.ndarray, vert: np.ndarray) -> list[CellBox]:
    """Base cells joined wherever the rule between them is missing."""
    n_rows, n_cols = len(ys) - 1, len(xs) - 1
    parent = list(range(n_rows * n_cols))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(a: int, b: int) -> None:
        parent[find(a)] = find(b)

    # How far a rule may stray from its position: a photographed sheet's fold bends it.
    band_y = max(4, int(min(np.diff(ys))) // 6)
    band = max(4, int(min(np.diff(xs))) // 8)
    for r in range(n_rows):
        top, bottom = ys[r], ys[r + 1]
        margin = (bottom - top) // 5
        for c in range(1, n_cols):
            x = xs[c]
            strip = vert[top + margin:bottom - margin, max(0, x - band):x + band + 1]
            if strip.size and (strip.max(axis=1) > 0).mean() < 0.5:
                union(r * n_cols + c - 1, r * n_cols + c)
    for c in range(n_cols):
        left, right = xs[c], xs[c + 1]
        margin = (right - left) // 5
        for r in range(1, n_rows):
            y = ys[r]
            strip = horiz[max(0, y - band_y):y + band_y + 1, left + margin:right - margin]
            if strip.size and (strip.max(axis=0) > 0).mean() < 0.5:
                union((r - 1) * n_cols + c, r * n_cols + c)
    groups: dict[int, list[tuple[int, int]]] = {}
    for r in range(n_rows):
        for c in range(n_cols):
            groups.setdefault(find(r * n_cols + c), []).append((r, c))
    cells = []
    for members in groups.values():
        r0 = min(r for r, _ in members)
        r1 = max(r for r, _ in members)
        c0 = min(c for _, c in members)
        c1 = max(c for _, c in members)
        if len(members) != (r1 - r0 + 1) * (c1 - c0 + 1):
            # Not a rectangle: rules lost here and there (a fold, a smudge), no merged cell.
            cells.extend(CellBox(r, c, 1, 1, (xs[c], ys[r], xs[c + 1], ys[r + 1])) for r, c in members)
            continue
        cells.append(CellBox(r0, c0, r1 - r0 + 1, c1 - c0 + 1, (xs[c0], ys[r0], xs[c1 + 1], ys[r1 + 1])))
    cells.sort(key=lambda cb: (cb.row, cb.col))
    return cells
