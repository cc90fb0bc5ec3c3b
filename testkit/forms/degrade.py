"""A clean page on its way to the office: scanner or phone, then the file the school attaches.

``degrade`` applies a ``Variant`` (gray or black-and-white, skew, quarter turns, blur, noise,
JPEG, a phone photo's perspective and shadow); ``encode_image`` writes the file bytes (an
EXIF-rotated JPEG as phones do); ``images_to_pdf`` an image-only PDF as scanners do.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter


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
