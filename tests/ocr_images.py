"""Small rendered images for the OCR tests (real fonts, no fixtures files)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from bench.ocr_samples import FONT_PATHS, Sample, certificates, render, scan, CATEGORIES, make_sample


def text_line(text: str, height: int = 60, font: str = FONT_PATHS[0]) -> np.ndarray:
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
    longest = sorted(certificates(), key=lambda c: -len(c[0]))[:3]
    rows = []
    counts = (7, 128, 45, 306)
    names = [n + "职业技能等级证书" for n, _ in longest] + ["物流管理"]
    levels = [lv[0] for _, lv in longest] + ["中级"]
    for i, (name, level, count) in enumerate(zip(names, levels, counts), start=1):
        rows.append((str(i), name, level, str(count)))
    return Sample(
        kind="summary",
        unit="安徽职业技术学院",
        header=("序号", "职业技能等级证书", "级别", "2025年拟申报人数"),
        rows=tuple(rows),
        total=sum(counts),
        seal_over=seal_over,
        blank_rows=blank_rows,
    )


__all__ = ["text_line", "long_name_sample", "render", "scan", "CATEGORIES", "make_sample"]
