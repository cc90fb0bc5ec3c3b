"""The raster backend: a layout drawn with Pillow, the seal multiplied over the ink like a real stamp."""

from __future__ import annotations

import math
import random
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from testkit.forms.layout import NOTO_SANS, NOTO_SANS_BOLD, NOTO_SC_INDEX, SealMark, layout
from testkit.forms.specs import FormSpec

SEAL_RED = (212, 32, 39)


@lru_cache(maxsize=64)
def _font(px: int, bold: bool) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(NOTO_SANS_BOLD if bold else NOTO_SANS, max(px, 4), index=NOTO_SC_INDEX)


def seal_mask(seal: SealMark, scale: float, rng: random.Random) -> tuple[Image.Image, tuple[int, int]]:
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
        mask, origin = seal_mask(lay.seal, scale, random.Random(seed))
        _stamp(img, mask, origin, seal_ink)
    img.info["dpi"] = (dpi, dpi)
    return img
