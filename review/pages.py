"""The original page as staff see it: upright, table cells and seals outlined, problem rows marked.

Drawn from the same detectors the reader uses (``ocr.grid.find_table``,
``ocr.seal.find_seals``) on the upright page, without running OCR again, so a
detail page opens in about a second; the PNG is cached on disk by content.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from domain.envelope import Attachment, Envelope
from intake.logs import get_logger
from intake.pipeline import documents
from ocr.geometry import page_mask, to_array
from ocr.grid import find_table
from ocr.seal import find_seals, remove_seals
from parsers.documents import iter_pages

log = get_logger("review.pages")

MAX_WIDTH = 1400
MAX_PAGES = 6  # per attachment shown in the page; the rest are downloadable
CELL = (37, 99, 235)  # blue outlines
PROBLEM = (220, 38, 38)  # red: a row with a reason or a low-confidence reading
SEAL = (234, 88, 12)  # orange


@dataclass(frozen=True)
class PageRef:
    attachment: int  # index among the documents read (``intake.pipeline.documents``)
    page: int  # 0-based
    filename: str


def page_refs(envelope: Envelope, max_pages: int = MAX_PAGES) -> list[PageRef]:
    refs = []
    for a_index, attachment in enumerate(documents(envelope)):
        try:
            for page in iter_pages(attachment.data, attachment.filename):
                if page.index >= max_pages:
                    break
                refs.append(PageRef(a_index, page.index, attachment.filename))
        except Exception as exc:  # noqa: BLE001 — an unreadable attachment is still downloadable
            log.info("review.page_unreadable", attachment=attachment.filename, error=repr(exc))
            continue
    return refs


def _upright(image: Image.Image) -> Image.Image:
    try:
        from ocr.scan import upright_image
    except ImportError:  # the OCR package without the scan stage: show the page as sent
        return image.convert("RGB")
    return upright_image(image).convert("RGB")


def _detect(arr: np.ndarray):
    """Seals, then the table on the page with the seals lifted off, inside the sheet of paper:
    the steps ``ocr.scan`` takes before reading, so staff see what the reader saw."""
    seals = find_seals(arr)
    gray, _notes = remove_seals(arr, seals)
    paper = page_mask(gray)
    try:
        table = find_table(gray, paper)
    except TypeError:  # an older ocr.grid without the paper mask
        table = find_table(gray)
    return table, seals, (gray < 160) & (paper > 0)


def outline(image: Image.Image, problem_rows: Iterable[int] = ()) -> Image.Image:
    """``image`` upright with the detected cells (blue), seals (orange) and problem rows (red)."""
    page = _upright(image)
    table, seals, ink = _detect(to_array(page))
    canvas = page.copy()
    overlay = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    width = max(2, canvas.width // 700)
    problems = set(problem_rows)
    if table is not None:
        for cell in table.cells:
            x0, y0, x1, y1 = cell.bbox
            # Grid row 0 is the header, so the form's 序号 n sits on grid row n.
            rows = set(range(cell.row, cell.row + cell.row_span))
            if rows <= problems:
                draw.rectangle((x0, y0, x1, y1), fill=(*PROBLEM, 50), outline=(*PROBLEM, 255), width=width * 2)
            else:
                draw.rectangle((x0, y0, x1, y1), outline=(*CELL, 200), width=width)
    for seal in seals:
        x0, y0, x1, y1 = seal.bbox
        draw.ellipse((x0, y0, x1, y1), outline=(*SEAL, 255), width=width * 3)
    canvas = Image.alpha_composite(canvas.convert("RGBA"), overlay).convert("RGB")
    canvas = _trim(canvas, ink)
    if canvas.width > MAX_WIDTH:
        canvas = canvas.resize((MAX_WIDTH, round(canvas.height * MAX_WIDTH / canvas.width)), Image.LANCZOS)
    return canvas


def _trim(image: Image.Image, ink: np.ndarray) -> Image.Image:
    """Cut the empty paper (and a photo's desk) around the form, keeping a margin: the table shows larger."""
    found = np.argwhere(ink)
    if len(found) == 0:
        return image
    (y0, x0), (y1, x1) = found.min(axis=0), found.max(axis=0)
    margin = round(0.03 * max(image.size))
    box = (max(0, x0 - margin), max(0, y0 - margin), min(image.width, x1 + margin), min(image.height, y1 + margin))
    return image.crop(box)


def page_png(envelope: Envelope, ref_attachment: int, ref_page: int, problem_rows: Iterable[int],
             cache_dir: Path | None) -> bytes:
    """The outlined page as PNG bytes, cached under ``cache_dir`` by attachment content and marks."""
    docs = documents(envelope)
    if not 0 <= ref_attachment < len(docs):
        raise LookupError(f"no attachment #{ref_attachment}")
    attachment: Attachment = docs[ref_attachment]
    rows = sorted(set(problem_rows))
    key = hashlib.sha256(attachment.data).hexdigest()[:32] + f"-{ref_page}-" + "_".join(map(str, rows))
    cached = cache_dir / f"{key}.png" if cache_dir else None
    if cached is not None and cached.exists():
        return cached.read_bytes()
    for page in iter_pages(attachment.data, attachment.filename):
        if page.index == ref_page:
            image = outline(page.render(), rows)
            break
    else:
        raise LookupError(f"no page {ref_page} in {attachment.filename!r}")
    buf = io.BytesIO()
    image.save(buf, "PNG", optimize=True)
    data = buf.getvalue()
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(cached)
    return data


__all__ = ["PageRef", "outline", "page_png", "page_refs"]
