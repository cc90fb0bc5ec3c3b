"""One layout for both backends: every text, ruling line and the seal placed on an A4 page.

Millimetres, top-left origin. ``layout`` places a ``FormSpec`` as the notices print it (the
合计 row a merged cell, names wrapped in their cell, the seal where the school put it); the
raster and the PDF backends only draw what it placed.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from functools import lru_cache

from PIL import ImageFont

from testkit.forms.specs import FormSpec

NOTO_SANS = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
NOTO_SANS_BOLD = "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"
NOTO_SC_INDEX = 2  # the Simplified Chinese face inside the collection


@dataclass(frozen=True)
class Text:
    x: float
    y: float  # vertical middle of the text
    text: str
    size: float  # mm (em height)
    anchor: str = "l"  # l | m | r
    bold: bool = False


@dataclass(frozen=True)
class Line:
    x0: float
    y0: float
    x1: float
    y1: float
    width: float = 0.3


@dataclass(frozen=True)
class SealMark:
    x: float
    y: float
    radius: float
    text: str
    angle: float = 0.0  # the stamp is rarely put on straight


@dataclass(frozen=True)
class Layout:
    width: float
    height: float
    texts: tuple[Text, ...]
    lines: tuple[Line, ...]
    seal: SealMark | None
    cells: dict = field(default_factory=dict, compare=False)  # (row, col) -> bbox in mm, for tests


PAGE_W, PAGE_H, MARGIN = 210.0, 297.0, 20.0


@lru_cache(maxsize=64)
def _measure_font(size_px: int = 100) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(NOTO_SANS, size_px, index=NOTO_SC_INDEX)


def text_width(text: str, size: float) -> float:
    """Width in mm of ``text`` at em size ``size`` mm."""
    return _measure_font().getlength(text) * size / 100


def _wrap(text: str, size: float, width: float) -> list[str]:
    """Break ``text`` into lines no wider than ``width`` (CJK text breaks anywhere)."""
    lines, current = [], ""
    for ch in text:
        if current and text_width(current + ch, size) > width:
            lines.append(current)
            current = ch
        else:
            current += ch
    return lines + [current] if current else lines


def _column_widths(headers: tuple[str, ...]) -> list[float]:
    usable = PAGE_W - 2 * MARGIN
    if len(headers) == 4:
        return [15, 78, 25, usable - 118]
    if len(headers) == 5:
        return [14, 66, 26, 32, usable - 138]
    return [50, usable - 50]


def layout(spec: FormSpec, *, seal_at: str = "unit") -> Layout:
    """Place everything on an A4 page. ``seal_at``: unit | total | numbers | date | none."""
    texts: list[Text] = [Text(PAGE_W / 2, 26, spec.title, 6.2, "m", bold=True)]
    lines: list[Line] = []
    unit_label = "学校名称（校章）："
    texts.append(Text(MARGIN, 40, unit_label + spec.unit, 4.2))
    top = 48.0
    if spec.kind == "increase":
        texts.append(Text(MARGIN, 49, "现申请增加考核指标：", 4.2))
        top = 56.0

    widths = _column_widths(spec.headers)
    xs = [MARGIN]
    for w in widths:
        xs.append(xs[-1] + w)
    n_body = len(spec.rows) + spec.blank_rows + (1 if spec.kind == "summary" else 0)
    room = PAGE_H - top - 52
    header_h = 12.0
    row_h = min(10.0, (room - header_h) / (n_body + 0.6 * 3))
    size = min(4.0, row_h * 0.5)
    name_w = widths[1] - 3

    # Header row.
    y = top
    rows_y: list[tuple[float, float]] = [(y, y + header_h)]
    for col, head in enumerate(spec.headers):
        parts = _wrap(head, size, widths[col] - 2)
        for k, part in enumerate(parts):
            offset = (k - (len(parts) - 1) / 2) * size * 1.25
            texts.append(Text((xs[col] + xs[col + 1]) / 2, y + header_h / 2 + offset, part, size, "m", bold=True))
    y += header_h

    cells: dict = {}
    body: list[tuple[str, ...]] = []
    for i, row in enumerate(spec.rows):
        if spec.kind == "application":
            body.append((row.written, ""))
        else:
            body.append((str(i + 1), row.written, row.level, *map(str, row.numbers)))
    body += [("",) * len(spec.headers)] * spec.blank_rows
    for r, values in enumerate(body):
        wrapped = _wrap(values[1], size, name_w) if len(values) > 2 else [values[0]]
        h = row_h * (1.6 if len(wrapped) > 1 else 1.0)
        for col, value in enumerate(values):
            cx = (xs[col] + xs[col + 1]) / 2
            parts = wrapped if (col == 1 and len(values) > 2) else [value]
            for k, part in enumerate(parts):
                offset = (k - (len(parts) - 1) / 2) * size * 1.2
                if part:
                    texts.append(Text(cx, y + h / 2 + offset, part, size, "m"))
            cells[(r + 1, col)] = (xs[col], y, xs[col + 1], y + h)
        rows_y.append((y, y + h))
        y += h
    total_box = None
    if spec.kind == "summary":
        h = row_h
        # 合计 spans 序号 … 级别: a merged cell.
        texts.append(Text((xs[0] + xs[3]) / 2, y + h / 2, "合计", size, "m", bold=True))
        texts.append(Text((xs[3] + xs[4]) / 2, y + h / 2, str(spec.total), size, "m"))
        total_box = (xs[3], y, xs[4], y + h)
        rows_y.append((y, y + h))
        y += h
    bottom = y

    # Ruling lines: outer frame heavier, merged 合计 cell has no inner verticals.
    for i, (y0, _y1) in enumerate(rows_y):
        lines.append(Line(xs[0], y0, xs[-1], y0, 0.5 if i == 0 else 0.3))
    lines.append(Line(xs[0], bottom, xs[-1], bottom, 0.5))
    for c, x in enumerate(xs):
        edge = c in (0, len(xs) - 1)
        if spec.kind == "summary" and c in (1, 2):
            lines.append(Line(x, top, x, rows_y[-1][0], 0.3))
        else:
            lines.append(Line(x, top, x, bottom, 0.5 if edge else 0.3))

    foot = bottom + 9
    if spec.kind != "application":
        texts.append(Text(MARGIN, foot, "学校联络人员姓名及电话：" + spec.contact, 4.0))
        texts.append(Text(MARGIN, foot + 10, "学校领导签字：", 4.0))
        texts.append(Text(PAGE_W - MARGIN - 10, foot + 20, spec.date, 4.0, "r"))

    seal = None
    radius = 20.0
    label_w = text_width(unit_label, 4.2)
    spots = {
        "unit": (MARGIN + label_w + min(text_width(spec.unit, 4.2), 40) * 0.6, 42),
        "date": (PAGE_W - MARGIN - 30, foot + 16),
        "total": (
            ((total_box[0] + total_box[2]) / 2, (total_box[1] + total_box[3]) / 2)
            if total_box
            else (PAGE_W - MARGIN - 30, foot + 16)
        ),
        "numbers": ((xs[-2] + xs[-1]) / 2, (rows_y[1][0] + rows_y[min(3, len(rows_y) - 1)][1]) / 2),
    }
    if seal_at in spots and spec.kind != "application":
        sx, sy = spots[seal_at]
        seal = SealMark(sx, sy, radius, spec.unit, angle=(zlib.crc32(spec.unit.encode()) % 21) - 10)  # stable across runs
    return Layout(PAGE_W, PAGE_H, tuple(texts), tuple(lines), seal, cells)
