"""Rendered form scans with ground truth, for the OCR tests and ``bench/ocr_bench.py``.

A small, self-contained renderer (Pillow + the Debian CJK fonts): the summary and the
increase form as a stamped sheet, then the degradations schools send us — gray or
black-and-white scans, JPEG artefacts, slight skew, pages turned 90/180°, phone
photos with perspective and shadow, 150–600 dpi. ``bench.generate`` (the forms
engineer's generator) renders the full benchmark; this one exists so the OCR layer
can be tested and measured on its own.
"""

from __future__ import annotations

import csv
import io
import math
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONT_PATHS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
)
DATA = Path(__file__).resolve().parent.parent / "config" / "data"
LEVELS = ("初级", "中级", "高级")

SUMMARY_HEADER = ("序号", "职业技能等级证书", "级别", "2025年拟申报人数")
INCREASE_HEADER = ("序号", "证书名称", "证书级别", "原批准人数", "调增后人数")
# Column widths in mm; the table is 170 mm wide like the Word template.
SUMMARY_WIDTHS = (16, 84, 26, 44)
INCREASE_WIDTHS = (14, 72, 24, 30, 30)


@dataclass(frozen=True)
class Degradation:
    dpi: int = 300
    mode: str = "color"  # color | gray | bw
    skew: float = 0.0  # degrees, small
    turn: int = 0  # 0, 90, 180, 270: how the page is turned in the file
    jpeg: int = 0  # JPEG quality, 0 = lossless
    photo: bool = False  # perspective + shadow + blur, like a phone picture
    noise: float = 0.0  # gaussian noise sigma (0–255 scale)


@dataclass(frozen=True)
class Sample:
    kind: str  # summary | increase
    unit: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]  # body rows as printed (blank rows are all "")
    total: int | None  # summary only
    seal_over: str  # "unit" | "total" | "numbers"
    seal_colour: tuple[int, int, int] = (214, 34, 40)
    font: str = FONT_PATHS[0]
    blank_rows: int = 0

    @property
    def truth(self) -> dict:
        return {
            "kind": self.kind,
            "unit": self.unit,
            "header": list(self.header),
            "rows": [list(r) for r in self.rows],
            "total": self.total,
        }


def certificates() -> list[tuple[str, tuple[str, ...]]]:
    with open(DATA / "certificates.csv", encoding="utf-8") as fh:
        out = []
        for row in csv.DictReader(fh):
            levels = tuple(v for v in row["levels"].split("|") if v) or LEVELS
            out.append((row["name"], levels))
        return out


def schools(province: str = "安徽省") -> list[str]:
    with open(DATA / "schools.csv", encoding="utf-8") as fh:
        return [r["name"] for r in csv.DictReader(fh) if r["province"] == province]


def make_sample(seed: int, kind: str = "summary", n_rows: int | None = None) -> Sample:
    """A random but reproducible filled-in form."""
    rnd = random.Random(seed)
    certs = certificates()
    n = n_rows if n_rows is not None else rnd.randint(3, 14)
    picked = rnd.sample(certs, min(n, len(certs)))
    # Make sure long names (that wrap) appear often.
    longest = sorted(certs, key=lambda c: -len(c[0]))[:6]
    if rnd.random() < 0.7:
        picked[rnd.randrange(len(picked))] = rnd.choice(longest)
    rows = []
    for i, (name, levels) in enumerate(picked, start=1):
        level = rnd.choice(levels)
        if kind == "summary":
            rows.append((str(i), name, level, str(rnd.choice([rnd.randint(1, 99), rnd.randint(100, 480)]))))
        else:
            approved = rnd.randint(5, 300)
            rows.append((str(i), name, level, str(approved), str(approved + rnd.randint(1, 120))))
    total = sum(int(r[3]) for r in rows) if kind == "summary" else None
    return Sample(
        kind=kind,
        unit=rnd.choice(schools()),
        header=SUMMARY_HEADER if kind == "summary" else INCREASE_HEADER,
        rows=tuple(rows),
        total=total,
        seal_over=rnd.choice(["unit", "total", "numbers"]),
        font=rnd.choice(FONT_PATHS[:2]),
        blank_rows=rnd.choice([0, 0, 1, 2, 3]),
    )


def render(sample: Sample, dpi: int = 300) -> Image.Image:
    """The clean sheet as printed and stamped: RGB, A4 at ``dpi``."""
    mm = dpi / 25.4
    W, H = int(210 * mm), int(297 * mm)
    page = Image.new("RGB", (W, H), "white")
    d = ImageDraw.Draw(page)
    f_title = ImageFont.truetype(sample.font, int(5.6 * mm))
    f_text = ImageFont.truetype(sample.font, int(3.9 * mm))
    title = (
        "安徽省 1+X 职业技能等级证书申报学校汇总表"
        if sample.kind == "summary"
        else "安徽省 1+X 职业技能等级证书指标调增申请表"
    )
    tw = d.textlength(title, font=f_title)
    d.text(((W - tw) / 2, 24 * mm), title, font=f_title, fill="black")
    unit_y = 40 * mm
    label = "学校名称（校章）："
    d.text((20 * mm, unit_y), label + sample.unit, font=f_text, fill="black")
    y = 50 * mm
    if sample.kind == "increase":
        d.text((20 * mm, y), "现申请增加考核指标：", font=f_text, fill="black")
        y += 9 * mm
    widths = SUMMARY_WIDTHS if sample.kind == "summary" else INCREASE_WIDTHS
    xs = [20 * mm]
    for w in widths:
        xs.append(xs[-1] + w * mm)
    line_w = max(2, int(0.3 * mm))
    body = list(sample.rows) + [("",) * len(sample.header)] * sample.blank_rows
    table_rows: list[tuple[tuple[str, ...], str]] = [(sample.header, "header")]
    table_rows += [(r, "body") for r in body]
    if sample.kind == "summary":
        table_rows.append((("合计", "", "", str(sample.total)), "total"))
    row_ys = [y]
    cell_lines: list[list[list[str]]] = []
    for cells, _ in table_rows:
        wrapped = [_wrap(d, text, f_text, (xs[i + 1] - xs[i]) - 3 * mm) for i, text in enumerate(cells)]
        cell_lines.append(wrapped)
        n_lines = max(1, *(len(w) for w in wrapped))
        row_ys.append(row_ys[-1] + max(10 * mm, n_lines * 5.4 * mm + 4 * mm))
    x0, x1 = xs[0], xs[-1]
    for yy in row_ys:
        d.line([(x0, yy), (x1, yy)], fill="black", width=line_w)
    for i, xx in enumerate(xs):
        if i in (1, 2) and sample.kind == "summary":
            # The 合计 row spans 序号 to 级别: no vertical rules through it.
            d.line([(xx, row_ys[0]), (xx, row_ys[-2])], fill="black", width=line_w)
        else:
            d.line([(xx, row_ys[0]), (xx, row_ys[-1])], fill="black", width=line_w)
    for r, (wrapped, (_, role)) in enumerate(zip(cell_lines, table_rows)):
        top, bottom = row_ys[r], row_ys[r + 1]
        for c, lines in enumerate(wrapped):
            if not lines:
                continue
            block = len(lines) * 5.4 * mm
            ty = top + (bottom - top - block) / 2
            for ln in lines:
                lw = d.textlength(ln, font=f_text)
                if role == "total" and c == 0:
                    tx = (xs[0] + xs[3]) / 2 - lw / 2
                else:
                    tx = (xs[c] + xs[c + 1]) / 2 - lw / 2
                d.text((tx, ty), ln, font=f_text, fill="black")
                ty += 5.4 * mm
    y = row_ys[-1] + 10 * mm
    d.text((20 * mm, y), "学校联络人员姓名及电话：张老师 0551-65123456", font=f_text, fill="black")
    d.text((20 * mm, y + 10 * mm), "学校领导签字：", font=f_text, fill="black")
    d.text((120 * mm, y + 22 * mm), "2025年3月20日", font=f_text, fill="black")
    # The seal: where the school put it.
    if sample.seal_over == "unit":
        centre = (60 * mm, unit_y + 2 * mm)
    elif sample.seal_over == "total" and sample.kind == "summary":
        centre = ((xs[3] + xs[4]) / 2, row_ys[-2])
    else:
        centre = ((xs[-2] + xs[-1]) / 2, row_ys[min(2, len(row_ys) - 2)])
    _stamp(page, centre, 21 * mm, sample.seal_colour, sample.unit, sample.font)
    return page


def _wrap(d: ImageDraw.ImageDraw, text: str, font, width: float) -> list[str]:
    if not text:
        return []
    lines, cur = [], ""
    for ch in text:
        if d.textlength(cur + ch, font=font) > width and cur:
            lines.append(cur)
            cur = ch
        else:
            cur += ch
    lines.append(cur)
    return lines


def _stamp(page: Image.Image, centre, radius: float, colour, unit: str, font_path: str) -> None:
    """A round official seal: ring, star, the unit name around the rim; ink is translucent."""
    size = int(radius * 2 + 8)
    layer = Image.new("L", (size, size), 0)
    d = ImageDraw.Draw(layer)
    c = size / 2
    ring = max(3, int(radius * 0.06))
    d.ellipse([c - radius, c - radius, c + radius, c + radius], outline=255, width=ring)
    pts = []
    for k in range(10):
        r = radius * (0.26 if k % 2 == 0 else 0.1)
        a = math.radians(-90 + 36 * k)
        pts.append((c + r * math.cos(a), c + r * math.sin(a)))
    d.polygon(pts, fill=255)
    f = ImageFont.truetype(font_path, int(radius * 0.22))
    text = unit[:14]
    span = 220.0
    for i, ch in enumerate(text):
        a = math.radians(-90 - span / 2 + span * (i + 0.5) / len(text))
        r = radius * 0.75
        glyph = Image.new("L", (int(radius * 0.3),) * 2, 0)
        ImageDraw.Draw(glyph).text((0, 0), ch, font=f, fill=255)
        glyph = glyph.rotate(-math.degrees(a) - 90, expand=True)
        gx = c + r * math.cos(a) - glyph.width / 2
        gy = c + r * math.sin(a) - glyph.height / 2
        layer.paste(255, (int(gx), int(gy)), glyph)
    alpha = layer.point(lambda v: int(v * 0.85))
    ink = Image.new("RGB", (size, size), colour)
    # Multiply-like: the seal darkens what is under it without hiding black text.
    region_box = (int(centre[0] - c), int(centre[1] - c))
    under = page.crop((region_box[0], region_box[1], region_box[0] + size, region_box[1] + size))
    mixed = Image.fromarray(
        (np.asarray(under, dtype=np.float32) * np.asarray(ink, dtype=np.float32) / 255).astype(np.uint8)
    )
    under.paste(mixed, (0, 0), alpha)
    page.paste(under, region_box)


def degrade(page: Image.Image, deg: Degradation, seed: int = 0) -> Image.Image:
    """Apply what printing, scanning or photographing does to a sheet rendered at 300 dpi-equivalent."""
    rnd = np.random.default_rng(seed)
    img = page
    if deg.photo:
        img = _photo(img, rnd)
    if deg.skew:
        img = img.rotate(deg.skew, resample=Image.BICUBIC, expand=True, fillcolor="white")
    if deg.noise:
        arr = np.asarray(img, dtype=np.float32)
        arr = arr + rnd.normal(0, deg.noise, arr.shape)
        img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    if deg.mode == "gray":
        img = img.convert("L")
    elif deg.mode == "bw":
        img = img.convert("L").point(lambda v: 255 if v > 150 else 0).convert("1")
    if deg.turn:
        img = img.rotate(deg.turn, expand=True)
    if deg.jpeg:
        buf = io.BytesIO()
        img.convert("RGB" if img.mode != "L" else "L").save(buf, "JPEG", quality=deg.jpeg)
        img = Image.open(io.BytesIO(buf.getvalue()))
        img.load()
    return img


def _photo(img: Image.Image, rnd: np.random.Generator) -> Image.Image:
    import cv2

    arr = np.asarray(img.convert("RGB"))
    h, w = arr.shape[:2]
    pad = int(0.08 * w)
    canvas = np.full((h + 2 * pad, w + 2 * pad, 3), (90, 85, 80), np.uint8)  # a desk
    canvas[pad:pad + h, pad:pad + w] = arr
    src = np.float32([[pad, pad], [pad + w, pad], [pad + w, pad + h], [pad, pad + h]])
    j = lambda: float(rnd.uniform(-0.04, 0.04)) * w  # noqa: E731
    dst = src + np.float32([[j(), j()], [j(), j()], [j(), j()], [j(), j()]])
    m = cv2.getPerspectiveTransform(src, dst)
    out = cv2.warpPerspective(canvas, m, (canvas.shape[1], canvas.shape[0]), borderValue=(90, 85, 80))
    # A soft shadow from one side and uneven light.
    yy, xx = np.mgrid[0:out.shape[0], 0:out.shape[1]].astype(np.float32)
    angle = float(rnd.uniform(0, 2 * math.pi))
    grad = (xx * math.cos(angle) + yy * math.sin(angle))
    grad = (grad - grad.min()) / (grad.max() - grad.min())
    light = 0.72 + 0.28 * grad
    out = (out.astype(np.float32) * light[..., None]).clip(0, 255).astype(np.uint8)
    out = cv2.GaussianBlur(out, (3, 3), 0.8)
    return Image.fromarray(out).filter(ImageFilter.SHARPEN) if rnd.random() < 0.3 else Image.fromarray(out)


def scaled(page: Image.Image, dpi: int) -> Image.Image:
    if dpi == 300:
        return page
    f = dpi / 300
    return page.resize((int(page.width * f), int(page.height * f)), Image.LANCZOS)


def scan(sample: Sample, deg: Degradation, seed: int = 0) -> Image.Image:
    """Render at 300 dpi (red seal), degrade (a gray scan turns the seal gray), resample to the dpi."""
    return scaled(degrade(render(sample, 300), deg, seed), deg.dpi)


CATEGORIES: dict[str, Degradation] = {
    "clean": Degradation(),
    "gray": Degradation(mode="gray", jpeg=70),
    "bw": Degradation(mode="bw"),
    "skew": Degradation(skew=1.8, jpeg=80),
    "turned90": Degradation(turn=90),
    "turned180": Degradation(turn=180, mode="gray"),
    "dpi150": Degradation(dpi=150, jpeg=85),
    "dpi600": Degradation(dpi=600),
    "photo": Degradation(photo=True, jpeg=75, noise=4.0),
}


__all__ = ["CATEGORIES", "Degradation", "Sample", "make_sample", "render", "scan", "degrade"]
