"""Image clean-up, seals, table grids, OCR engines.

Entry points: ``scan_page`` (a page image → ``PageScan``; ``ColumnHints`` say which
columns hold digits), ``find_seals`` (seals on any page image, also a rasterised
text-layer PDF page), ``absence_visible`` (would a missing seal show on this page),
``outline`` (draw a scan for staff).
"""

from ocr.errors import EngineFailed, EngineTimeout, EngineUnavailable, ImageTooLarge, OCRError
from ocr.model import ColumnHints
from ocr.render import outline
from ocr.scan import scan_page
from ocr.seal import absence_visible, find_seals

__all__ = [
    "ColumnHints",
    "EngineFailed",
    "EngineTimeout",
    "EngineUnavailable",
    "ImageTooLarge",
    "OCRError",
    "absence_visible",
    "find_seals",
    "outline",
    "scan_page",
]
