"""The bench's corpus: one file per category of what schools send, with its truth.

``make_sample(category, seed)`` is deterministic in its arguments; ``write_corpus`` writes
samples and ``<name>.truth.json`` next to each (``python -m bench.generate OUTDIR``).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

from testkit.forms.degrade import Variant, degrade, encode_image, images_to_pdf
from testkit.forms.pdf import render_pdf
from testkit.forms.raster import render_image
from testkit.forms.specs import application_form, random_form

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
