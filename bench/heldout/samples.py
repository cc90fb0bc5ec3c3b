"""Samples: ids, the stable split into halves, and one file (+ its truth) per id.

A sample's id is ``<category>-<number>``; its seed and its half are hashes of the id
(``seed_of``, ``half_of``), so a sample is the same bytes on every machine and never
changes half. The **held-out** half is never used for tuning (see ``bench.heldout``).
"""

from __future__ import annotations

import hashlib
import io
import random

from bench.heldout import defects, layout, render
from bench.heldout.truth import Truth, make_content, truth_lines

RENDERER_VERSION = "1"  # bump when a change alters the samples' bytes (the cache is keyed on it)

CATEGORIES = {
    "text_pdf": "PDF with a text layer (Word/WPS 另存为 PDF), seal a picture over the text",
    "scan_color": "colour scan 200–300 dpi, ink bleed, drum streaks, skew, PNG or JPEG",
    "scan_gray": "grayscale scan or photocopy 200–300 dpi, toner noise",
    "scan_bw": "black-and-white scan 200–300 dpi, 1-bit PNG or TIFF G4",
    "scan_rotated": "scan turned 90/180/270° (colour or gray)",
    "scan_lowres": "100–150 dpi, blurred, JPEG q30–60",
    "image_pdf": "image-only PDF from a scanner, sometimes after a cover letter",
    "photo": "phone photo: perspective, desk, folds, light, shadow, glare, cast, blur, JPEG",
}
HALVES = ("tuning", "heldout")


def _h(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def seed_of(sample_id: str) -> int:
    return _h(f"heldout-render:{sample_id}") & 0x7FFFFFFF


def half_of(sample_id: str) -> str:
    """tuning or heldout, by a hash of the id alone: stable whatever else is generated."""
    return HALVES[_h(f"heldout-split:{sample_id}") % 2]


def plan(per_category: int, categories=tuple(CATEGORIES), halves=HALVES) -> list[tuple[str, str, str]]:
    """(id, category, half): the first ``per_category`` ids of each half in each category."""
    out = []
    for cat in categories:
        got = {h: 0 for h in halves}
        n = 0
        while any(v < per_category for v in got.values()):
            sid = f"{cat}-{n:04d}"
            half = half_of(sid)
            if half in got and got[half] < per_category:
                out.append((sid, cat, half))
                got[half] += 1
            n += 1
    return out


def render_sample(sample_id: str) -> tuple[bytes, str, Truth]:
    """The file's bytes, its extension and its truth."""
    category = sample_id.rsplit("-", 1)[0]
    if category not in CATEGORIES:
        raise ValueError(f"unknown category in {sample_id!r}")
    seed = seed_of(sample_id)
    rng = random.Random(seed)
    kind = "summary" if rng.random() < 0.65 else "increase"
    content = make_content(rng, kind)
    is_text_pdf = category == "text_pdf"
    page = layout.lay_out(content, rng, pdf=is_text_pdf, allow_hand=not is_text_pdf)
    notes = list(page.notes)
    stamp = bool(page.seals)
    form_page, pages = 1, 1

    if is_text_pdf:
        data, ext = render.pdf(page), ".pdf"
    elif category == "scan_color":
        dpi = rng.choice([200, 240, 300])
        arr = defects.scanner(render.raster(page, dpi), rng, notes)
        data, ext = defects.encode(arr, rng, notes, jpeg=(75, 92) if rng.random() < 0.5 else None, dpi=dpi)
        notes.append(f"{dpi} dpi colour")
    elif category == "scan_gray":
        dpi = rng.choice([200, 300])
        arr = defects.scanner(render.raster(page, dpi), rng, notes)
        if rng.random() < 0.4:
            arr = defects.copier(arr, rng, notes)
        data, ext = defects.encode(defects.to_gray(arr), rng, notes, jpeg=(70, 90) if rng.random() < 0.4 else None, dpi=dpi)
        notes.append(f"{dpi} dpi gray")
    elif category == "scan_bw":
        dpi = rng.choice([200, 300])
        arr = defects.scanner(render.raster(page, dpi), rng, notes, light=True)
        data, ext = defects.encode(defects.to_bw(arr, rng, notes), rng, notes, bw=True, dpi=dpi)
        notes.append(f"{dpi} dpi black and white")
    elif category == "scan_rotated":
        dpi = rng.choice([200, 300])
        arr = defects.scanner(render.raster(page, dpi), rng, notes, light=True)
        img = defects._pil(arr if rng.random() < 0.6 else defects.to_gray(arr))
        turn = rng.choice([90, 180, 270])
        img = render.rotate_quarter(img, turn)
        notes.append(f"turned {turn}° counter-clockwise, {dpi} dpi")
        data, ext = defects.encode(img, rng, notes, jpeg=(75, 90) if rng.random() < 0.5 else None, dpi=dpi)
    elif category == "scan_lowres":
        dpi = rng.choice([100, 120, 150])
        arr = defects.scanner(render.raster(page, dpi), rng, notes, light=True)
        arr = defects.low_quality(arr, rng, notes)
        if rng.random() < 0.4:
            arr = defects.to_gray(arr)
        data, ext = defects.encode(arr, rng, notes, jpeg=(30, 60), dpi=dpi)
        notes.append(f"{dpi} dpi")
    elif category == "image_pdf":
        dpi = rng.choice([150, 200, 300])
        arr = defects.scanner(render.raster(page, dpi), rng, notes)
        img = defects._pil(arr if rng.random() < 0.5 else defects.to_gray(arr))
        images = [img]
        if rng.random() < 0.35:
            letter = render.letter_page(content.unit, kind, rng, pdf_faces=False)
            limg = defects._pil(defects.scanner(render.raster(letter, dpi), rng, []))
            images = [limg.convert(img.mode), img]
            form_page, pages = 2, 2
            notes.append("cover letter first")
        data, ext = render.images_to_pdf(images, dpi, quality=rng.randint(60, 90)), ".pdf"
        notes.append(f"image PDF {dpi} dpi")
    elif category == "photo":
        dpi = rng.choice([160, 200])
        img = defects.phone(render.raster(page, dpi), rng, notes)
        q = rng.randint(70, 90)
        if rng.random() < 0.25:
            data, ext = defects.exif_sideways(img, rng, notes, q), ".jpg"
        else:
            buf = io.BytesIO()
            img.save(buf, "JPEG", quality=q)
            data, ext = buf.getvalue(), ".jpg"
            notes.append(f"JPEG q{q}")
    else:  # pragma: no cover - guarded above
        raise AssertionError(category)

    truth = Truth(
        id=sample_id, category=category, half=half_of(sample_id), seed=seed, file=sample_id + ext, kind=kind,
        unit=content.unit, stamp=stamp, total=content.total, lines=truth_lines(content), form_page=form_page,
        pages=pages, rows=len(content.lines), notes=notes,
    )
    return data, ext, truth
