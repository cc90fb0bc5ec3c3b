"""Small rendered images for the OCR tests (real fonts, no fixtures files)."""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from bench.generate import CERT_SUFFIX, NOTO_SANS, Row, catalogue, random_form
from bench.ocr_samples import CATEGORIES, Sample, make_sample, render, scan


def text_line(text: str, height: int = 60, font: str = NOTO_SANS) -> np.ndarray:
    """One line of dark text on white, as a grayscale array."""
    f = ImageFont.truetype(font, int(height * 0.7))
    width = int(ImageDraw.Draw(Image.new("L", (1, 1))).textlength(text, font=f)) + height
    img = Image.new("L", (width, height), 255)
    ImageDraw.Draw(img).text((height // 2, height * 0.1), text, font=f, fill=0)
    return np.asarray(img)


@lru_cache(maxsize=None)
def long_name_sample(blank_rows: int = 2, seal_over: str = "numbers") -> Sample:
    """A summary form whose first rows carry the catalogue's longest names, written with the
    ``职业技能等级证书`` suffix as many schools do, so they wrap to two lines."""
    longest = sorted(catalogue(), key=lambda c: -len(c[0]))[:3]
    rows = [Row(name, name + CERT_SUFFIX, levels[0], (count,)) for (name, levels), count in zip(longest, (7, 128, 45))]
    rows.append(Row("物流管理", "物流管理", "中级", (306,)))
    spec = replace(
        random_form("summary", rows=len(rows), blank_rows=blank_rows),
        unit="安徽职业技术学院",
        rows=tuple(rows),
        total=sum(r.numbers[0] for r in rows),
    )
    return Sample(spec, seal_over)


__all__ = ["text_line", "long_name_sample", "render", "scan", "CATEGORIES", "make_sample"]
