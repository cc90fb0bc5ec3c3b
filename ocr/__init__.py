"""Image clean-up, seals, table grids, OCR engines.

Entry points: ``scan_page`` (a page image → ``PageScan``), ``find_seals`` (seals on any
page image, also a rasterised text-layer PDF page), ``outline`` (draw a scan for staff).
"""

from ocr.errors import EngineFailed, EngineTimeout, EngineUnavailable, ImageTooLarge, OCRError
from ocr.render import outline
from ocr.scan import scan_page
from ocr.seal import find_seals

__all__ = [
    "EngineFailed",
    "EngineTimeout",
    "EngineUnavailable",
    "ImageTooLarge",
    "OCRError",
    "find_seals",
    "outline",
    "scan_page",
]
