"""Render the 1+X forms the way schools send them, with ground truth.

One layout (in millimetres, top-left origin) is drawn by two backends: reportlab for
text-layer PDFs and Pillow for raster pages, which are then degraded like real scans
and phone photos (gray or black-and-white seals, skew, quarter turns, JPEG, perspective,
shadows, 150–600 dpi). Every sample carries the truth the reader must recover.

    spec = random_form("summary", seed=3, rows=8)
    image = render_image(spec, dpi=300)                  # clean, red seal
    image = degrade(image, Variant(colour="gray", skew=1.2), seed=3)
    pdf = render_pdf([spec])                              # text layer

By job: ``specs`` (what is written), ``layout`` (where), ``raster`` and ``pdf`` (the two
backends), ``degrade`` (scanner, phone, file), ``samples`` (the bench's corpus by category).
The bench's samples and the OCR tests depend on exact pixels: a change here changes them.
"""

from testkit.forms.degrade import Variant, degrade, encode_image, images_to_pdf
from testkit.forms.layout import NOTO_SANS, PAGE_H, PAGE_W, Layout, Line, SealMark, Text, layout, text_width
from testkit.forms.pdf import draw_page, pdf_font, render_pdf
from testkit.forms.raster import render_image
from testkit.forms.specs import (
    CERT_SUFFIX,
    INCREASE_HEADERS,
    JIANGSU_HEADERS,
    LEVELS,
    SUMMARY_HEADERS,
    FormSpec,
    Row,
    application_form,
    catalogue,
    random_form,
    schools,
)

__all__ = [
    "CERT_SUFFIX",
    "INCREASE_HEADERS",
    "JIANGSU_HEADERS",
    "LEVELS",
    "NOTO_SANS",
    "PAGE_H",
    "PAGE_W",
    "SUMMARY_HEADERS",
    "FormSpec",
    "Layout",
    "Line",
    "Row",
    "SealMark",
    "Text",
    "Variant",
    "application_form",
    "catalogue",
    "degrade",
    "draw_page",
    "encode_image",
    "images_to_pdf",
    "layout",
    "pdf_font",
    "random_form",
    "render_image",
    "render_pdf",
    "schools",
    "text_width",
]
