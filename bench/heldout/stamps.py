"""Seals as a unit's office presses them: shapes, inks, pressure.

A seal is drawn once as an RGBA image (colour = the ink, alpha = how much ink reached
the paper) and laid over the page by multiplying, as ink does. Shapes: the round school
seal (the name on the arc, a star), a round department seal (a line of text instead of the
star), an oval seal, a rectangular 专用章 with one or two borders. Inks: red, vermilion,
purple, blue-black. Pressure: even, blotchy (uneven pad), faint (a dry pad).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from bench.heldout import fonts

INKS = {
    "red": (212, 32, 38),
    "vermilion": (226, 64, 40),
    "purple": (112, 44, 128),
    "blue-black": (34, 44, 92),
}


@dataclass(frozen=True)
class StampSpec:
    shape: str  # round | round-dept | oval | square
    width_mm: float
    height_mm: float
    ink: str
    opacity: float  # 0.3 (dry pad) … 0.95
    blotch: float  # 0 even … 0.6 very uneven
    angle: float  # degrees, counter-clockwise
    text: str  # the unit's name, on the arc or the first line
    inner: str  # the star's company: 专用章, 教务处 … ("" for none)
    face: str  # fonts key
    seed: int

    @property
    def label(self) -> str:
        return f"{self.shape} {self.ink} {'faint' if self.opacity < 0.55 else 'normal'}"


_INNER = ("", "", "教务处", "1+X证书专用章", "证书申报专用章", "教学工作专用章")


def random_spec(rng: random.Random, unit: str, *, colour_page: bool = True) -> StampSpec:
    shape = rng.choices(["round", "round-dept", "oval", "square"], weights=[50, 18, 16, 16])[0]
    if shape.startswith("round"):
        d = rng.uniform(38, 44)
        w = h = d
    elif shape == "oval":
        w, h = rng.uniform(44, 50), rng.uniform(30, 34)
    else:
        w, h = rng.uniform(44, 54), rng.uniform(18, 25)
    ink = rng.choices(list(INKS), weights=[55, 20, 13, 12])[0]
    faint = rng.random() < 0.2
    opacity = rng.uniform(0.3, 0.5) if faint else rng.uniform(0.7, 0.95)
    inner = rng.choice(_INNER) if shape != "round" else rng.choice(["", "", "", "专用章"])
    if shape in ("oval", "square") and not inner:
        inner = rng.choice(["专用章", "1+X证书专用章", "教务处"])
    face = rng.choice([f.key for f in fonts.faces("song") + fonts.faces("hei")])
    return StampSpec(
        shape, w, h, ink, opacity, rng.choice([0.0, 0.2, 0.35, 0.5]), rng.uniform(-25, 25), unit, inner, face, rng.randrange(1 << 30)
    )


def _glyph(ch: str, face: str, px: int, squeeze: float = 1.0) -> Image.Image:
    font = fonts.pil_font(face, px)
    img = Image.new("L", (int(px * 1.4), int(px * 1.4)), 0)
    ImageDraw.Draw(img).text((img.width / 2, img.height / 2), ch, font=font, fill=255, anchor="mm",
                             stroke_width=max(1, px // 28), stroke_fill=255)
    if squeeze != 1.0:
        img = img.resize((max(1, int(img.width * squeeze)), img.height), Image.LANCZOS)
    return img


def _paste_centre(canvas: Image.Image, glyph: Image.Image, cx: float, cy: float, angle: float) -> None:
    g = glyph.rotate(angle, resample=Image.BICUBIC, expand=True)
    canvas.paste(255, (int(cx - g.width / 2), int(cy - g.height / 2)), g)


def _star(draw: ImageDraw.ImageDraw, cx: float, cy: float, r: float) -> None:
    pts = []
    for i in range(10):
        rad = r if i % 2 == 0 else r * 0.382
        a = -math.pi / 2 + i * math.pi / 5
        pts.append((cx + rad * math.cos(a), cy + rad * math.sin(a)))
    draw.polygon(pts, fill=255)


def _arc_text(canvas: Image.Image, text: str, face: str, cx: float, cy: float, rx: float, ry: float,
              char_px: int, span_deg: float) -> None:
    n = len(text)
    if n == 0:
        return
    span = math.radians(min(span_deg, 28 * n))
    for i, ch in enumerate(text):
        t = -math.pi / 2 - span / 2 + span * (i + 0.5) / n  # clockwise from the left over the top
        x, y = cx + rx * math.cos(t), cy + ry * math.sin(t)
        # the glyph's foot points at the centre: its up is the outward normal of the ellipse
        nx, ny = math.cos(t) / rx, math.sin(t) / ry
        angle = -math.degrees(math.atan2(nx, -ny))
        _paste_centre(canvas, _glyph(ch, face, char_px, squeeze=0.8), x, y, angle)


def _fit_line(text: str, face: str, max_w: float, max_px: int) -> int:
    px = max_px
    while px > 8 and fonts.pil_font(face, px).getlength(text) > max_w:
        px -= 1
    return px


def draw_stamp(spec: StampSpec, px_per_mm: float) -> Image.Image:
    """The seal as RGBA at ``px_per_mm``, already turned by ``spec.angle``."""
    w, h = spec.width_mm * px_per_mm, spec.height_mm * px_per_mm
    pad = int(0.06 * max(w, h)) + 4
    W, H = int(w + 2 * pad), int(h + 2 * pad)
    mask = Image.new("L", (W, H), 0)
    d = ImageDraw.Draw(mask)
    cx, cy = W / 2, H / 2
    ring = max(2, int(px_per_mm * (1.1 if spec.shape != "square" else 0.9)))
    if spec.shape in ("round", "round-dept", "oval"):
        d.ellipse([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], outline=255, width=ring)
        char = int(min(w, h) * (0.15 if spec.shape != "oval" else 0.17))
        rx = w / 2 - ring - char * 0.75
        ry = h / 2 - ring - char * 0.75
        span = 235 if spec.shape != "oval" else 200
        _arc_text(mask, spec.text, spec.face, cx, cy, rx, ry, char, span)
        if spec.shape == "round":
            _star(d, cx, cy - h * 0.02, h * 0.16)
            if spec.inner:
                px = _fit_line(spec.inner, spec.face, w * 0.5, int(char * 0.9))
                d.text((cx, cy + h * 0.27), spec.inner, font=fonts.pil_font(spec.face, px), fill=255, anchor="mm")
        else:
            if spec.shape == "oval" and len(spec.inner) <= 3:
                _star(d, cx, cy - h * 0.02, h * 0.12)
                y = cy + h * 0.25
            else:
                y = cy + h * (0.12 if spec.shape == "oval" else 0.2)
            px = _fit_line(spec.inner, spec.face, w * 0.55, int(char * 1.0))
            d.text((cx, y), spec.inner, font=fonts.pil_font(spec.face, px), fill=255, anchor="mm")
    else:
        d.rectangle([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], outline=255, width=ring)
        rng = random.Random(spec.seed)
        if rng.random() < 0.5:
            g = ring * 2
            d.rectangle([cx - w / 2 + g, cy - h / 2 + g, cx + w / 2 - g, cy + h / 2 - g], outline=255, width=max(1, ring // 2))
        px1 = _fit_line(spec.text, spec.face, w * 0.86, int(h * 0.3))
        d.text((cx, cy - h * 0.18), spec.text, font=fonts.pil_font(spec.face, px1), fill=255, anchor="mm")
        px2 = _fit_line(spec.inner, spec.face, w * 0.8, int(h * 0.3))
        d.text((cx, cy + h * 0.2), spec.inner, font=fonts.pil_font(spec.face, px2), fill=255, anchor="mm")
    alpha = np.asarray(mask, dtype=np.float32) / 255.0
    rs = np.random.default_rng(spec.seed)
    if spec.blotch > 0:  # an uneven pad: low-frequency pressure times fine grain
        coarse = rs.random((max(2, H // 40), max(2, W // 40))).astype(np.float32)
        coarse_img = Image.fromarray((coarse * 255).astype(np.uint8)).resize((W, H), Image.BICUBIC)
        low = np.asarray(coarse_img, dtype=np.float32) / 255.0
        grain = rs.random((H, W)).astype(np.float32)
        pressure = np.clip(1.0 - spec.blotch * (1.2 * low + 0.5 * grain - 0.35), 0.0, 1.0)
        alpha *= pressure
    alpha *= spec.opacity
    a_img = Image.fromarray((np.clip(alpha, 0, 1) * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(0.6))
    rgba = Image.new("RGBA", (W, H), INKS[spec.ink] + (0,))
    rgba.putalpha(a_img)
    if spec.angle:
        rgba = rgba.rotate(spec.angle, resample=Image.BICUBIC, expand=True)
    return rgba


def multiply_onto(page: Image.Image, stamp: Image.Image, cx: float, cy: float) -> None:
    """Ink the seal onto an RGB page (in place), centred at (cx, cy) pixels; clipped at the edges."""
    x0, y0 = round(cx - stamp.width / 2), round(cy - stamp.height / 2)
    px0, py0 = max(0, x0), max(0, y0)
    px1, py1 = min(page.width, x0 + stamp.width), min(page.height, y0 + stamp.height)
    if px1 <= px0 or py1 <= py0:
        return
    region = np.asarray(page.crop((px0, py0, px1, py1)), dtype=np.float32)
    s = np.asarray(stamp.crop((px0 - x0, py0 - y0, px1 - x0, py1 - y0)), dtype=np.float32)
    a = s[..., 3:4] / 255.0
    ink = s[..., :3] / 255.0
    out = region * (1.0 - a) + region * ink * a
    page.paste(Image.fromarray(np.clip(out, 0, 255).astype(np.uint8)), (px0, py0))


def visible_share(stamp_w: float, stamp_h: float, cx: float, cy: float, page_w: float, page_h: float) -> float:
    """Share of the seal's bounding box that lies on the page (same units throughout)."""
    x0, x1 = max(0.0, cx - stamp_w / 2), min(page_w, cx + stamp_w / 2)
    y0, y1 = max(0.0, cy - stamp_h / 2), min(page_h, cy + stamp_h / 2)
    return max(0.0, x1 - x0) * max(0.0, y1 - y0) / (stamp_w * stamp_h)
