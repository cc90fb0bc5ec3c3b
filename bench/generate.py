"""Render the 1+X forms the way schools send them, with ground truth.

One layout (in millimetres, top-left origin) is drawn by two backends: reportlab for
text-layer PDFs and Pillow for raster pages, which are then degraded like real scans
and phone photos (gray or black-and-white seals, skew, quarter turns, JPEG, perspective,
shadows, 150–600 dpi). Every sample carries the truth the reader must recover.

Use from tests::

    spec = random_form("summary", seed=3, rows=8)
    image = render_image(spec, dpi=300)                  # clean, red seal
    image = degrade(image, Variant(colour="gray", skew=1.2), seed=3)
    pdf = render_pdf([spec])                              # text layer

or from the shell: ``python -m bench.generate OUTDIR --per-category 5``.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import random
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

DATA_DIR = Path(__file__).resolve().parent.parent / "config" / "data"
NOTO_SANS = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
NOTO_SANS_BOLD = "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"
NOTO_SC_INDEX = 2  # the Simplified Chinese face inside the collection
WQY_ZENHEI = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"  # TrueType outlines: reportlab can embed it
CERT_SUFFIX = "职业技能等级证书"
LEVELS = ("初级", "中级", "高级")
SEAL_RED = (212, 32, 39)

# Column header texts as the notices print them.
SUMMARY_HEADERS = ("序号", "职业技能等级证书", "级别", "2025 年拟申报人数")
INCREASE_HEADERS = ("序号", "证书名称", "证书级别", "原批准人数", "调增后人数")
JIANGSU_HEADERS = ("序号", "证书名称", "证书级别", "原申报人数", "调整后人数")


# ---------------------------------------------------------------- form content


@dataclass(frozen=True)
class Row:
    certificate: str  # canonical catalogue name (the truth)
    written: str  # the name as the school typed it (suffix, bracket style)
    level: str
    numbers: tuple[int, ...]  # (count,) for a summary, (approved, requested) for an increase


@dataclass(frozen=True)
class FormSpec:
    kind: str  # summary | increase | application
    title: str
    unit: str
    headers: tuple[str, ...]
    rows: tuple[Row, ...]
    total: int | None = None  # the 合计 row as written (summary only)
    blank_rows: int = 0  # empty rows left at the end of the table
    contact: str = "张老师 13912345678"
    date: str = "2025年3月20日"
    province: str = "安徽省"

    def truth(self, *, stamp: bool) -> dict:
        """The reading a perfect reader returns for this page (the contract's line shape)."""
        if self.kind == "application":
            return {"kind": "application"}
        if self.kind == "summary":
            lines = [
                {"row": i + 1, "certificate": r.certificate, "level": r.level, "count": r.numbers[0]}
                for i, r in enumerate(self.rows)
            ]
        else:
            lines = [
                {
                    "row": i + 1,
                    "certificate": r.certificate,
                    "level": r.level,
                    "approved": r.numbers[0],
                    "requested": r.numbers[1],
                }
                for i, r in enumerate(self.rows)
            ]
        truth = {"kind": self.kind, "unit": self.unit, "stamp": stamp, "lines": lines}
        if self.kind == "summary":
            truth["total"] = self.total
        return truth


@lru_cache(maxsize=1)
def catalogue() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """(name, levels) from the bundled certificate list; no levels listed means all three."""
    with (DATA_DIR / "certificates.csv").open(encoding="utf-8") as fh:
        return tuple(
            (row["name"], tuple(row["levels"].split("|")) if row["levels"] else LEVELS)
            for row in csv.DictReader(fh)
        )


@lru_cache(maxsize=4)
def schools(province: str = "安徽省") -> tuple[str, ...]:
    with (DATA_DIR / "schools.csv").open(encoding="utf-8") as fh:
        return tuple(row["name"] for row in csv.DictReader(fh) if row["province"] == province)


def _written_name(name: str, rng: random.Random) -> str:
    """How schools type the certificate: with or without the suffix, brackets of either width."""
    written = name + CERT_SUFFIX if rng.random() < 0.5 else name
    if rng.random() < 0.3:
        written = written.replace("（", "(").replace("）", ")")
    return written


def _number(rng: random.Random) -> int:
    # Every digit count matters to the reader: 1, 2 and 3 digits.
    return rng.choice([rng.randint(1, 9), rng.randint(10, 99), rng.randint(10, 99), rng.randint(100, 480)])


def random_form(
    kind: str = "summary",
    *,
    seed: int = 0,
    rows: int | None = None,
    province: str = "安徽省",
    blank_rows: int | None = None,
    total_error: int = 0,
    long_names: bool | None = None,
) -> FormSpec:
    """A plausible form: ``rows`` distinct (certificate, level) lines from the real catalogue.

    ``total_error`` adds that much to the written 合计 (a school's own arithmetic mistake).
    ``long_names`` forces at least one name long enough to wrap in its cell.
    """
    rng = random.Random(f"{kind}-{seed}-{province}")
    n = rows if rows is not None else rng.randint(3, 30)
    pairs = [(name, level) for name, levels in catalogue() for level in levels]
    rng.shuffle(pairs)
    chosen = pairs[:n]
    if long_names or (long_names is None and rng.random() < 0.5):
        longest = max(pairs, key=lambda p: len(p[0]))
        if longest not in chosen:
            chosen[rng.randrange(len(chosen))] = longest
    table = []
    for name, level in chosen:
        if kind == "summary":
            numbers: tuple[int, ...] = (_number(rng),)
        else:
            approved = _number(rng)
            numbers = (approved, approved + rng.randint(1, 120))
        table.append(Row(name, _written_name(name, rng), level, numbers))
    unit = rng.choice(schools(province))
    blanks = blank_rows if blank_rows is not None else rng.choice([0, 0, 1, 2, 3])
    if kind == "summary":
        title = f"{province} 1+X 职业技能等级证书申报学校汇总表"
        headers = SUMMARY_HEADERS
        total = sum(r.numbers[0] for r in table) + total_error
    elif province == "江苏省":
        title = f"{province}1+X证书申报调整申请表"
        headers = JIANGSU_HEADERS
        total = None
    else:
        title = f"{province} 1+X 职业技能等级证书指标调增申请表"
        headers = INCREASE_HEADERS
        total = None
    day = rng.randint(14, 31)
    return FormSpec(
        kind=kind,
        title=title,
        unit=unit,
        headers=headers,
        rows=tuple(table),
        total=total,
        blank_rows=blanks,
        contact=f"{rng.choice('张王李赵陈刘杨黄周吴')}老师 139{rng.randint(10000000, 99999999)}",
        date=f"2025年3月{day}日",
        province=province,
    )


def application_form(unit: str, province: str = "安徽省") -> FormSpec:
    """The 附件1 申报表 page schools often send alongside the summary: not a quota form."""
    return FormSpec(
        kind="application",
        title="附件1  1+X 证书制度试点院校申报表",
        unit=unit,
        headers=("项目", "内容"),
        rows=(
            Row("", "院校名称", "", ()),
            Row("", "所在地市", "", ()),
            Row("", "试点负责人", "", ()),
            Row("", "试点专业数", "", ()),
        ),
        province=province,
    )


# ---------------------------------------------------------------- layout


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


# ---------------------------------------------------------------- raster backend


@lru_cache(maxsize=64)
def _font(px: int, bold: bool) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(NOTO_SANS_BOLD if bold else NOTO_SANS, max(px, 4), index=NOTO_SC_INDEX)


def _seal_mask(seal: SealMark, scale: float, rng: random.Random) -> tuple[Image.Image, tuple[int, int]]:
    """An 8-bit ink mask of a round seal (ring, star, unit name on the arc) and its top-left."""
    r = seal.radius * scale
    size = int(2 * r + 8)
    mask = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(mask)
    c = size / 2
    ring = max(2, int(1.2 * scale))
    draw.ellipse((c - r, c - r, c + r, c + r), outline=255, width=ring)
    # Five-pointed star in the middle.
    star_r = r * 0.3
    points = []
    for k in range(10):
        rad = star_r if k % 2 == 0 else star_r * 0.4
        a = -math.pi / 2 + k * math.pi / 5
        points.append((c + rad * math.cos(a), c + rad * math.sin(a)))
    draw.polygon(points, fill=255)
    # The unit name along the upper arc, letters upright towards the centre.
    text = seal.text
    font = _font(int(r * 0.26), True)
    span = min(250.0, 22.0 * len(text))
    for k, ch in enumerate(text):
        a = math.radians(-90 - span / 2 + span * (k + 0.5) / len(text))
        glyph = Image.new("L", (int(r * 0.4), int(r * 0.4)), 0)
        ImageDraw.Draw(glyph).text((glyph.width / 2, glyph.height / 2), ch, font=font, fill=255, anchor="mm")
        glyph = glyph.rotate(-math.degrees(a) - 90, resample=Image.BICUBIC, expand=True)
        gx = c + r * 0.74 * math.cos(a) - glyph.width / 2
        gy = c + r * 0.74 * math.sin(a) - glyph.height / 2
        mask.paste(255, (int(gx), int(gy)), glyph)
    mask = mask.rotate(seal.angle, resample=Image.BICUBIC)
    # Uneven ink: real stamps are blotchy.
    noise = np.asarray(mask, dtype=np.float32) * (0.75 + 0.25 * np.random.default_rng(rng.randint(0, 2**31)).random(
        (size, size), dtype=np.float32
    ))
    mask = Image.fromarray(noise.clip(0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(scale * 0.08))
    return mask, (int(seal.x * scale - size / 2), int(seal.y * scale - size / 2))


def _stamp(img: Image.Image, mask: Image.Image, origin: tuple[int, int], ink: float) -> None:
    """Multiply the seal's ink over ``img`` in place, within the mask's box only (a 600 dpi
    page would need ~1.5 GB of float copies; outside the box the product is 1 anyway)."""
    x0, y0 = origin
    box = (max(x0, 0), max(y0, 0), min(x0 + mask.width, img.width), min(y0 + mask.height, img.height))
    if box[0] >= box[2] or box[1] >= box[3]:
        return
    a = np.asarray(mask.crop((box[0] - x0, box[1] - y0, box[2] - x0, box[3] - y0)), dtype=np.float32)[..., None]
    a = a / 255 * ink
    red = np.array(SEAL_RED, dtype=np.float32) / 255
    out = np.asarray(img.crop(box), dtype=np.float32) * (1 - a + a * red)
    img.paste(Image.fromarray(out.clip(0, 255).astype(np.uint8)), box[:2])


def render_image(
    spec: FormSpec,
    *,
    dpi: int = 300,
    seal_at: str = "unit",
    seal_ink: float = 0.85,
    seed: int = 0,
) -> Image.Image:
    """A clean RGB page at ``dpi``; the seal multiplies over the ink like a real stamp."""
    scale = dpi / 25.4
    lay = layout(spec, seal_at=seal_at)
    img = Image.new("RGB", (round(lay.width * scale), round(lay.height * scale)), "white")
    draw = ImageDraw.Draw(img)
    for ln in lay.lines:
        w = max(1, round(ln.width * scale))
        draw.line((ln.x0 * scale, ln.y0 * scale, ln.x1 * scale, ln.y1 * scale), fill=(0, 0, 0), width=w)
    for t in lay.texts:
        font = _font(round(t.size * scale), t.bold)
        draw.text((t.x * scale, t.y * scale), t.text, font=font, fill=(0, 0, 0), anchor=t.anchor + "m")
    if lay.seal is not None:
        mask, origin = _seal_mask(lay.seal, scale, random.Random(seed))
        _stamp(img, mask, origin, seal_ink)
    img.info["dpi"] = (dpi, dpi)
    return img


@dataclass(frozen=True)
class Variant:
    """How a page was degraded on its way to the office."""

    colour: str = "color"  # color | gray | bw
    skew: float = 0.0  # degrees, small
    quarter_turns: int = 0  # 0..3, counter-clockwise (a page fed the wrong way)
    jpeg_quality: int | None = None
    noise: float = 0.0  # std-dev of sensor noise, 0..255
    blur: float = 0.0  # Gaussian radius in pixels
    photo: bool = False  # perspective, shadow, background
    exif_rotate: bool = False  # store rotated pixels with an EXIF Orientation tag (phones do)


def _photo(img: Image.Image, rng: random.Random) -> Image.Image:
    """Perspective, a desk around the sheet, an uneven shadow: a phone photo of the form."""
    import cv2

    src = np.asarray(img.convert("RGB"))
    h, w = src.shape[:2]
    pad = int(0.08 * max(w, h))
    cw, ch = w + 2 * pad, h + 2 * pad
    j = lambda s: rng.uniform(-s, s) * w
    corners = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    target = np.float32(
        [
            [pad + abs(j(0.05)), pad + abs(j(0.04))],
            [pad + w - abs(j(0.05)), pad + abs(j(0.04))],
            [pad + w - abs(j(0.03)), pad + h - abs(j(0.03))],
            [pad + abs(j(0.03)), pad + h - abs(j(0.03))],
        ]
    )
    matrix = cv2.getPerspectiveTransform(corners, target)
    desk = np.array([rng.randint(70, 120), rng.randint(60, 100), rng.randint(40, 80)], dtype=np.uint8)
    warped = cv2.warpPerspective(
        src, matrix, (cw, ch), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=desk.tolist()
    )
    # Shadow: a smooth ramp from one side plus a warm cast.
    gx = np.linspace(0, 1, cw, dtype=np.float32)[None, :]
    gy = np.linspace(0, 1, ch, dtype=np.float32)[:, None]
    ax, ay = rng.uniform(-1, 1), rng.uniform(-1, 1)
    ramp = (ax * gx + ay * gy - min(0, ax) - min(0, ay)) / (abs(ax) + abs(ay) + 1e-6)
    light = 1.0 - rng.uniform(0.25, 0.45) * ramp
    tint = np.array([1.0, 0.97, 0.9], dtype=np.float32)
    out = warped.astype(np.float32) * light[..., None] * tint
    return Image.fromarray(out.clip(0, 255).astype(np.uint8))


def degrade(img: Image.Image, variant: Variant, *, seed: int = 0) -> Image.Image:
    """Apply ``variant`` to a clean page (the order follows the paper's path)."""
    rng = random.Random(seed)
    dpi = img.info.get("dpi", (300, 300))
    out = img.convert("RGB")
    if variant.photo:
        out = _photo(out, rng)
    if variant.skew:
        out = out.rotate(variant.skew, resample=Image.BICUBIC, expand=True, fillcolor=(255, 255, 255))
    if variant.blur:
        out = out.filter(ImageFilter.GaussianBlur(variant.blur))
    if variant.noise:
        arr = np.asarray(out, dtype=np.float32)
        arr = arr + np.random.default_rng(seed).normal(0, variant.noise, arr.shape[:2])[..., None]
        out = Image.fromarray(arr.clip(0, 255).astype(np.uint8))
    if variant.colour == "gray":
        out = out.convert("L")
    elif variant.colour == "bw":
        out = out.convert("L").point(lambda v: 255 if v > 150 else 0).convert("1")
    if variant.quarter_turns:
        out = out.rotate(90 * variant.quarter_turns, expand=True)
    if variant.jpeg_quality:
        buf = io.BytesIO()
        out.convert("L" if out.mode in ("L", "1") else "RGB").save(buf, "JPEG", quality=variant.jpeg_quality)
        out = Image.open(io.BytesIO(buf.getvalue()))
        out.load()
    out.info["dpi"] = dpi
    return out


def encode_image(img: Image.Image, fmt: str = "PNG", *, exif_rotate: bool = False, quality: int = 90) -> bytes:
    """File bytes of ``img``. ``exif_rotate`` stores the pixels turned with Orientation=6, as phones do."""
    buf = io.BytesIO()
    kwargs: dict = {"dpi": img.info.get("dpi", (300, 300))}
    if exif_rotate:
        img = img.rotate(90, expand=True)  # the viewer turns it back by 90° clockwise
        exif = Image.Exif()
        exif[0x0112] = 6
        kwargs["exif"] = exif.tobytes()
    if fmt == "JPEG":
        kwargs["quality"] = quality
        img = img.convert("L" if img.mode in ("L", "1") else "RGB")
    img.save(buf, fmt, **kwargs)
    return buf.getvalue()


def images_to_pdf(images: list[Image.Image], dpi: int = 300) -> bytes:
    """An image-only PDF, as a scanner writes it."""
    buf = io.BytesIO()
    first, *rest = [im.convert("RGB") if im.mode not in ("L", "RGB") else im for im in images]
    first.save(buf, "PDF", resolution=dpi, save_all=True, append_images=rest)
    return buf.getvalue()


# ---------------------------------------------------------------- PDF backend


@lru_cache(maxsize=1)
def _pdf_font() -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    pdfmetrics.registerFont(TTFont("WQY", WQY_ZENHEI, subfontIndex=0))
    return "WQY"


def render_pdf(
    specs: list[FormSpec], *, seal_at: str | list[str] = "unit", broken_font_map: bool = False
) -> bytes:
    """A text-layer PDF, one page per spec, seals pasted as translucent red images.

    ``broken_font_map`` drops the fonts' ToUnicode maps, as some Chinese office exports do:
    the text then extracts as ``(cid:N)`` glyphs and the page must be OCR'd.
    """
    from reportlab.lib.units import mm
    from reportlab.pdfgen import canvas

    font = _pdf_font()
    buf = io.BytesIO()
    pdf = canvas.Canvas(buf, pagesize=(PAGE_W * mm, PAGE_H * mm), pageCompression=0 if broken_font_map else None)
    where = [seal_at] * len(specs) if isinstance(seal_at, str) else seal_at
    for spec, at in zip(specs, where, strict=True):
        lay = layout(spec, seal_at=at)
        flip = lambda y: (PAGE_H - y) * mm
        for ln in lay.lines:
            pdf.setLineWidth(ln.width * mm)
            pdf.line(ln.x0 * mm, flip(ln.y0), ln.x1 * mm, flip(ln.y1))
        for t in lay.texts:
            size = t.size * mm
            pdf.setFont(font, size)
            baseline = flip(t.y) - size * 0.35
            draw = {"l": pdf.drawString, "m": pdf.drawCentredString, "r": pdf.drawRightString}[t.anchor]
            draw(t.x * mm, baseline, t.text)
        if lay.seal is not None:
            _pdf_seal(pdf, lay.seal)
        pdf.showPage()
    pdf.save()
    if broken_font_map:  # same length: the xref offsets stay valid
        return buf.getvalue().replace(b"/ToUnicode", b"/ToUnicodX")
    return buf.getvalue()


def _pdf_seal(pdf, seal: SealMark) -> None:
    """Electronic seals are pasted images: draw the stamp as a translucent red PNG."""
    from reportlab.lib.units import mm
    from reportlab.lib.utils import ImageReader

    scale = 200 / 25.4
    mask, _ = _seal_mask(seal, scale, random.Random(seal.text))
    alpha = mask.point(lambda v: int(v * 0.85))
    stamp = Image.new("RGBA", mask.size, SEAL_RED + (0,))
    stamp.putalpha(alpha)
    side = mask.width / scale
    pdf.drawImage(
        ImageReader(stamp),
        (seal.x - side / 2) * mm,
        (PAGE_H - seal.y - side / 2) * mm,
        width=side * mm,
        height=side * mm,
        mask="auto",
    )


# ---------------------------------------------------------------- samples for the bench


CATEGORIES = (
    "text_pdf",  # Word/Excel → PDF with a text layer, seal as vector ink
    "scan_color",  # 300 dpi colour scan, small skew, red seal
    "scan_gray",  # grayscale scan: the seal is gray
    "scan_bw",  # black-and-white scan, 200 dpi
    "scan_rotated",  # page fed at 90/180/270°
    "scan_lowres_jpeg",  # 150 dpi JPEG with artefacts
    "scan_600dpi",  # 600 dpi grayscale
    "scan_pdf_page2",  # image-only PDF: 附件1 申报表 first, the form on page 2
    "photo",  # phone photo: perspective, shadow, JPEG, EXIF orientation
)


@dataclass(frozen=True)
class Sample:
    name: str
    category: str
    data: bytes
    filename: str
    truth: dict  # {"category", "pages": [page truth, …]}


def make_sample(category: str, seed: int) -> Sample:
    """One file of ``category`` with its truth; deterministic in ``seed``."""
    rng = random.Random(f"{category}-{seed}")
    kind = "increase" if rng.random() < 0.35 else "summary"
    province = "江苏省" if kind == "increase" and rng.random() < 0.3 else "安徽省"
    spec = random_form(kind, seed=seed * 101 + CATEGORIES.index(category), province=province)
    seal_at = rng.choice(["unit", "unit", "date", "total", "numbers"])
    if kind == "increase" and seal_at == "total":
        seal_at = "numbers"
    stamped = rng.random() > 0.08
    at = seal_at if stamped else "none"
    page_truth = spec.truth(stamp=stamped)
    profile = "jiangsu-2024" if province == "江苏省" else "anhui-2025"
    name = f"{category}-{seed:03d}"

    if category == "text_pdf":
        data = render_pdf([spec], seal_at=at)
        return Sample(name, category, data, name + ".pdf", _truth(category, profile, [page_truth]))

    dpi = {"scan_bw": 200, "scan_lowres_jpeg": 150, "scan_600dpi": 600, "photo": 250}.get(category, 300)
    img = render_image(spec, dpi=dpi, seal_at=at, seed=seed)
    skew = rng.uniform(-2.0, 2.0)
    variant = {
        "scan_color": Variant(skew=skew, noise=4),
        "scan_gray": Variant(colour="gray", skew=skew, noise=4),
        "scan_bw": Variant(colour="bw", skew=skew * 0.5),
        "scan_rotated": Variant(colour=rng.choice(["color", "gray"]), quarter_turns=rng.choice([1, 2, 3]), skew=skew * 0.5),
        "scan_lowres_jpeg": Variant(skew=skew, jpeg_quality=rng.randint(35, 60), blur=0.4),
        "scan_600dpi": Variant(colour="gray", skew=skew * 0.5, noise=3),
        "scan_pdf_page2": Variant(colour=rng.choice(["color", "gray"]), skew=skew),
        "photo": Variant(photo=True, blur=0.8, noise=5, jpeg_quality=rng.randint(70, 88)),
    }[category]
    page = degrade(img, variant, seed=seed)
    if category == "scan_pdf_page2":
        cover = degrade(render_image(application_form(spec.unit, province), dpi=dpi, seal_at="none"), variant, seed=seed)
        data = images_to_pdf([cover, page], dpi=dpi)
        truth = _truth(category, profile, [{"kind": "application"}, page_truth])
        return Sample(name, category, data, name + ".pdf", truth)
    if variant.jpeg_quality or category == "photo":
        data = encode_image(page, "JPEG", exif_rotate=category == "photo" and rng.random() < 0.5, quality=variant.jpeg_quality or 90)
        return Sample(name, category, data, name + ".jpg", _truth(category, profile, [page_truth]))
    data = encode_image(page, "PNG")
    return Sample(name, category, data, name + ".png", _truth(category, profile, [page_truth]))


def _truth(category: str, profile: str, pages: list[dict]) -> dict:
    return {"category": category, "profile": profile, "pages": pages}


def write_corpus(out: Path, per_category: int, categories: tuple[str, ...] = CATEGORIES, seed: int = 0) -> list[Path]:
    """Write ``per_category`` samples of each category plus ``<name>.truth.json`` next to each."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for category in categories:
        for k in range(per_category):
            sample = make_sample(category, seed + k)
            path = out / sample.filename
            path.write_bytes(sample.data)
            (out / f"{sample.name}.truth.json").write_text(
                json.dumps(sample.truth, ensure_ascii=False, indent=1), encoding="utf-8"
            )
            written.append(path)
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Render 1+X forms with ground truth.")
    parser.add_argument("out", type=Path)
    parser.add_argument("--per-category", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--category", action="append", choices=CATEGORIES)
    args = parser.parse_args(argv)
    paths = write_corpus(args.out, args.per_category, tuple(args.category or CATEGORIES), args.seed)
    print(f"wrote {len(paths)} samples to {args.out}")


__all__ = [
    "CATEGORIES",
    "FormSpec",
    "Row",
    "Sample",
    "Variant",
    "application_form",
    "degrade",
    "encode_image",
    "images_to_pdf",
    "layout",
    "make_sample",
    "random_form",
    "render_image",
    "render_pdf",
    "write_corpus",
]

if __name__ == "__main__":
    main()
