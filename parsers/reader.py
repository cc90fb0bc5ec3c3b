"""One attachment → a ``DocumentReading``: the reader's single entry point.

documents (pages: text layer or image) → ocr.scan_page for images → forms.read_page.
A text-layer page that reads as no known form, or as a form whose table it does not
hold, is tried once more through OCR: its text may decode to plausible but wrong
characters (a broken font map), or be a scanner's invisible text over a picture.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
from PIL import Image

from config.profile import Profile
from domain.forms import DocumentReading, PageReading
from domain.state import CertificateRef
from ocr.model import PageScan
from parsers.catalog import Catalogue
from parsers.documents import Page, ReaderLimits, iter_pages
from parsers.errors import LimitExceeded, UnreadableAttachment
from parsers.forms import NUMBER_FIELDS, read_page

__all__ = ["ReaderLimits", "numeric_headers", "read_attachment"]

RED_INK_NONE = 0.0002  # below this share of reddish pixels a page carries no red ink


def numeric_headers(profile: Profile) -> tuple[str, ...]:
    """Header texts of the number columns in any of the profile's forms (digits-only OCR)."""
    names = {"人数"}
    for rule in profile.forms:
        for field, texts in rule.columns.items():
            if field in NUMBER_FIELDS:
                names.update(texts)
    return tuple(sorted(names))


def _thumbnail(image: Image.Image) -> np.ndarray:
    """The page as a 256×362 RGB array (int16), reduced in one cheap step first."""
    small = image.convert("RGB") if image.mode not in ("RGB", "RGBA", "L") else image
    factor = min(image.width // 512, image.height // 724)
    if factor >= 2:
        small = small.reduce(factor)  # box filter on the whole page, far cheaper than resize
    return np.asarray(small.convert("RGB").resize((256, 362)), dtype=np.int16)


def has_colour(image: Image.Image, small: np.ndarray | None = None) -> bool:
    """Whether a page image carries colour at all (a gray scan saved as RGB does not)."""
    if image.mode not in ("RGB", "RGBA", "P"):
        return False
    small = _thumbnail(image) if small is None else small
    spread = small.max(axis=2) - small.min(axis=2)
    return float((spread > 24).mean()) > 0.0005


def red_ink(image: Image.Image, small: np.ndarray | None = None) -> float:
    """Share of reddish pixels (loose on purpose: shadows, desks and faded seals count)."""
    small = _thumbnail(image) if small is None else small
    r, g, b = small[..., 0], small[..., 1], small[..., 2]
    reddish = (r - np.maximum(g, b) >= 30) & (r >= 60)
    return float(reddish.mean())


def absence_visible(image: Image.Image) -> bool:
    """Would a missing seal be evident? Only on a colour page with no red ink anywhere:
    on a gray page a seal is one more dark shape, and red ink the seal finder did not
    claim may be a seal it missed."""
    if image.mode not in ("RGB", "RGBA", "P"):
        return False
    small = _thumbnail(image)
    return has_colour(image, small) and red_ink(image, small) < RED_INK_NONE


def _ocr(page: Page, profile: Profile) -> tuple[PageScan, bool]:
    from ocr.errors import OCRError
    from ocr.scan import scan_page

    image = page.render()
    try:
        return scan_page(image, numeric_headers=numeric_headers(profile)), absence_visible(image)
    except OCRError as exc:
        raise UnreadableAttachment(f"第 {page.index + 1} 页无法识别（{exc}），请重新扫描后发送。") from exc


def read_attachment(
    data: bytes,
    filename: str,
    *,
    profile: Profile,
    certificates: Sequence[CertificateRef],
    limits: ReaderLimits = ReaderLimits(),  # noqa: B008 - frozen, shared safely
) -> DocumentReading:
    """Read every page of one attachment.

    Raises ``UnreadableAttachment`` (corrupt, encrypted, empty, unknown type) or
    ``LimitExceeded`` (too many pages or pixels, too slow); ``str(err)`` is a short
    Chinese explanation for the reply.
    """
    started = time.monotonic()
    catalogue = Catalogue(certificates)
    readings: list[PageReading] = []
    for page in iter_pages(data, filename, limits):
        if time.monotonic() - started > limits.max_seconds:
            raise LimitExceeded(
                f"附件“{filename}”读取超时（{limits.max_seconds:.0f} 秒，已读 {len(readings)} 页），"
                "请只发送需要审核的表格页。"
            )
        readings.append(_read(page, profile, catalogue))
    return DocumentReading(filename=filename, pages=tuple(readings))


def _read(page: Page, profile: Profile, catalogue: Catalogue) -> PageReading:
    notes = (page.note,) if page.note else ()
    if page.scan is not None:
        reading = read_page(page.scan, index=page.index, profile=profile, catalogue=catalogue, source="text")
        if reading.kind != "unknown" and (reading.form is None or reading.form.table_confident):
            return reading
        # No known form, or a form title over a table the text layer does not hold (a
        # scanner's searchable PDF: invisible OCR text over a picture): read the picture.
        notes = ("文字层不是可识别的表格，改用 OCR",)
    scan, visible = _ocr(page, profile)
    reading = read_page(
        scan, index=page.index, profile=profile, catalogue=catalogue, source="ocr", absence_visible=visible
    )
    return PageReading(
        index=reading.index,
        kind=reading.kind,
        form=reading.form,
        source=reading.source,
        notes=notes + reading.notes,
    )
