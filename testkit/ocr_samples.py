"""Stamped form scans with ground truth, for the OCR tests and ``bench/ocr_bench.py``.

A thin view of ``testkit.forms``, the one renderer: a ``Sample`` is a generated form plus
where the school put its seal, its truth the cells as printed; a ``Degradation`` is a
generate ``Variant`` scanned at a resolution. ``CATEGORIES`` names the degradations schools
send us: gray or black-and-white scans, JPEG, slight skew, pages turned 90/180°, phone
photos, 150–600 dpi. ``text_line`` and ``long_name_sample`` are small images of their own
for the engine and grid tests.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from testkit.forms import CERT_SUFFIX, NOTO_SANS, FormSpec, Row, Variant, catalogue, degrade, random_form, render_image


@dataclass(frozen=True)
class Degradation(Variant):
    """What scanning did to a page (``quarter_turns``: counter-clockwise, as the page sits in the file)."""

    dpi: int = 300


@dataclass(frozen=True)
class Sample:
    spec: FormSpec
    seal_over: str = "unit"  # unit | total | numbers | none (generate's ``seal_at``)

    @property
    def rows(self) -> tuple[tuple[str, ...], ...]:
        """Body rows as printed: 序号, the name as written, level, numbers."""
        return tuple(
            (str(i), row.written, row.level, *map(str, row.numbers)) for i, row in enumerate(self.spec.rows, start=1)
        )

    @property
    def truth(self) -> dict:
        spec = self.spec
        return {
            "kind": spec.kind,
            "unit": spec.unit,
            "header": list(spec.headers),
            "rows": [list(r) for r in self.rows],
            "total": spec.total,
            "blank_rows": spec.blank_rows,
        }


def make_sample(seed: int, kind: str = "summary", n_rows: int | None = None, seal_over: str | None = None) -> Sample:
    """A random but reproducible filled-in form (3–14 rows, the seal anywhere, unless told)."""
    rng = random.Random(f"ocr-{kind}-{seed}")
    rows = n_rows if n_rows is not None else rng.randint(3, 14)
    spots = ["unit", "total", "numbers"] if kind == "summary" else ["unit", "numbers"]  # no 合计 on an increase
    return Sample(random_form(kind, seed=seed, rows=rows), seal_over or rng.choice(spots))


def render(sample: Sample, dpi: int = 300, seed: int = 0) -> Image.Image:
    """The clean sheet as printed and stamped: RGB, A4 at ``dpi``."""
    return render_image(sample.spec, dpi=dpi, seal_at=sample.seal_over, seed=seed)


def scan(sample: Sample, deg: Degradation, seed: int = 0) -> Image.Image:
    """Render at the scan's dpi (red seal), then degrade (a gray scan turns the seal gray)."""
    return degrade(render(sample, deg.dpi, seed), deg, seed=seed)


CATEGORIES: dict[str, Degradation] = {
    "clean": Degradation(),
    "gray": Degradation(colour="gray", jpeg_quality=70),
    "bw": Degradation(colour="bw"),
    "skew": Degradation(skew=1.8, jpeg_quality=80),
    "turned90": Degradation(quarter_turns=1),  # the pipeline reports rotation 90
    "turned180": Degradation(quarter_turns=2, colour="gray"),
    "dpi150": Degradation(dpi=150, jpeg_quality=85),
    "dpi600": Degradation(dpi=600),
    "photo": Degradation(photo=True, jpeg_quality=75, noise=4.0),
}


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


__all__ = ["CATEGORIES", "Degradation", "Sample", "long_name_sample", "make_sample", "render", "scan", "text_line"]
