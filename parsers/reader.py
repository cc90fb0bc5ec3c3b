"""One attachment → a ``DocumentReading``: the reader's single entry point.

documents (pages: text layer or image) → ocr.scan_page for images → forms.read_page.
A text-layer page that reads as no known form, or as a form whose table it does not
hold, is tried once more through OCR: its text may decode to plausible but wrong
characters (a broken font map), or be a scanner's invisible text over a picture.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace

from config.profile import Profile
from domain.forms import DocumentReading, PageReading
from domain.state import CertificateRef
from ocr.model import PageScan, Seal
from ocr.seal import absence_visible, coloured_mark, coloured_seal
from parsers.catalog import Catalogue
from parsers.columns import column_hints
from parsers.documents import Page, ReaderLimits, iter_pages
from parsers.errors import LimitExceeded, UnreadableAttachment
from parsers.forms import read_page
from templates import say, text

__all__ = ["ReaderLimits", "read_attachment"]


SEAL_CHECK_DPI = 50  # enough to see a 40 mm seal as a blob
# A picture holding fewer lines read with confidence than this is illegible (a washed-out or
# blurred photo), not evidently something other than the form: a cover letter holds many.
LEGIBLE_LINES = 5
SURE_LINE = 0.8
TURNS = (0, 180, 90, 270)  # tried in this order on a page whose table reads as no form


def _ocr(page: Page, profile: Profile, turn: int | None = None) -> tuple[PageScan, bool]:
    from ocr.errors import OCRError
    from ocr.scan import scan_page

    image = page.render()
    try:
        scan = scan_page(image, columns=column_hints(profile), turn=turn)
        if not scan.seals and scan.rotation == 0 and (box := coloured_seal(image)) is not None:
            scan = replace(scan, seals=(Seal(bbox=box, colour="ink", score=1.0),),
                           notes=(*scan.notes, text("attachments.reader.note.seal_other_ink")))
        return scan, absence_visible(image)
    except OCRError as exc:
        raise UnreadableAttachment(say("attachments.reader.ocr_failed", page=page.index + 1, error=exc)) from exc


def _ocr_read(page: Page, profile: Profile, catalogue: Catalogue) -> tuple[PageReading, bool, bool]:
    """OCR the page; when it holds a table but reads as no form, try the other three orientations.

    The page was set upright from its ruling lines and a text-direction classifier; a
    classifier can be wrong, a table's lines cannot say which way is up. A reading that
    names a form wins; else the first reading stands, marked as holding a table. The last
    flag: the page read as next to nothing (``LEGIBLE_LINES``)."""
    scan, visible = _ocr(page, profile)
    reading = read_page(scan, index=page.index, profile=profile, catalogue=catalogue, source="ocr",
                        absence_visible=visible)
    legible = reading.kind != "unknown" or sum(
        len(line.text.strip()) >= 2 and line.confidence >= SURE_LINE for line in scan.lines) >= LEGIBLE_LINES
    if reading.kind != "unknown" or scan.grid is None:
        return reading, scan.grid is not None, not legible
    for turn in (t for t in TURNS if t != scan.turn):
        turned, visible = _ocr(page, profile, turn)
        again = read_page(turned, index=page.index, profile=profile, catalogue=catalogue, source="ocr",
                          absence_visible=visible)
        if again.kind != "unknown":
            note = text("attachments.reader.note.turned")
            return replace(again, notes=(*again.notes, note)), True, False
    return reading, True, not legible


def _doubt_missing_seal(reading: PageReading, page: Page) -> PageReading:
    """A text-layer form with no seal found: the seal finder knows red round seals. A seal in
    another ink on the rendered page is the stamp; a smaller or fainter coloured mark of a
    seal's shape makes the absence unsure (staff look) instead of a rejection."""
    form = reading.form
    if form is None or form.stamp or not form.stamp_confident:
        return reading
    try:
        image = page.render(SEAL_CHECK_DPI)
        sealed = coloured_seal(image) is not None
        marked = not sealed and coloured_mark(image)  # looked for only when no seal was
    except Exception:  # noqa: BLE001 — a page that cannot be drawn keeps what its text layer said
        return reading
    if sealed:
        return replace(reading, form=replace(form, stamp=True),
                       notes=(*reading.notes, text("attachments.reader.note.seal_other_ink")))
    return replace(reading, form=replace(form, stamp_confident=False)) if marked else reading


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
    explanation for the reply (``templates/attachments.txt``).
    """
    started = time.monotonic()
    catalogue = Catalogue(certificates)
    readings: list[PageReading] = []
    for page in iter_pages(data, filename, limits):
        if time.monotonic() - started > limits.max_seconds:
            raise LimitExceeded(say("attachments.reader.timeout", name=filename, seconds=limits.max_seconds,
                                    count=len(readings)))
        readings.append(_read(page, profile, catalogue))
    return DocumentReading(filename=filename, pages=tuple(readings))


def _read(page: Page, profile: Profile, catalogue: Catalogue) -> PageReading:
    notes = (page.note,) if page.note else ()
    if page.scan is not None:
        reading = read_page(page.scan, index=page.index, profile=profile, catalogue=catalogue, source="text")
        if reading.kind != "unknown" and (reading.form is None or reading.form.table_confident):
            return _doubt_missing_seal(reading, page)
        # No known form, or a form title over a table the text layer does not hold (a
        # scanner's searchable PDF: invisible OCR text over a picture): read the picture.
        notes = (text("attachments.reader.note.not_a_table"),)
    reading, has_table, illegible = _ocr_read(page, profile, catalogue)
    return PageReading(
        index=reading.index,
        kind=reading.kind,
        form=reading.form,
        source=reading.source,
        notes=notes + reading.notes,
        has_table=has_table,
        illegible=illegible,
    )
