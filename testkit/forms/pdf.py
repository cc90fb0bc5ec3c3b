"""The PDF backend: a layout drawn with reportlab as a text-layer page, the seal a pasted image."""

from __future__ import annotations

import io
import random
from functools import lru_cache

from PIL import Image

from testkit.forms.layout import PAGE_H, PAGE_W, Layout, SealMark, layout
from testkit.forms.raster import SEAL_RED, seal_mask
from testkit.forms.specs import FormSpec

WQY_ZENHEI = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"  # TrueType outlines: reportlab can embed it


@lru_cache(maxsize=1)
def pdf_font() -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    pdfmetrics.registerFont(TTFont("WQY", WQY_ZENHEI, subfontIndex=0))
    return "WQY"


def render_pdf(
    specs: list[FormSpec], *, seal_at: str | list[str] = "unit", broken_font_map: bool = False
) -> bytes:
    """A text-layer PDF, one page per spec, seals pasted as translucent red images.

    ``broken_font_map`` drops the fonts' ToUnicode maps, as some Chinese office exports do:
    the text then extracts as ``(cid:N)`` glyphs and the page must be OCR'd.
    """
    from reportlab.lib.units import mm
    from reportlab.pdfgen import canvas

    font = pdf_font()
    buf = io.BytesIO()
    pdf = canvas.Canvas(buf, pagesize=(PAGE_W * mm, PAGE_H * mm), pageCompression=0 if broken_font_map else None)
    where = [seal_at] * len(specs) if isinstance(seal_at, str) else seal_at
    for spec, at in zip(specs, where, strict=True):
        draw_page(pdf, layout(spec, seal_at=at), font)
    pdf.save()
    if broken_font_map:  # same length: the xref offsets stay valid
        return buf.getvalue().replace(b"/ToUnicode", b"/ToUnicodX")
    return buf.getvalue()


def draw_page(pdf, lay: Layout, font: str) -> None:
    """Draw ``lay`` on the reportlab canvas ``pdf`` (lines, texts, seal) and end the page."""
    from reportlab.lib.units import mm

    def flip(y: float) -> float:
        return (PAGE_H - y) * mm

    for ln in lay.lines:
        pdf.setLineWidth(ln.width * mm)
        pdf.line(ln.x0 * mm, flip(ln.y0), ln.x1 * mm, flip(ln.y1))
    for t in lay.texts:
        size = t.size * mm
        pdf.setFont(font, size)
        baseline = flip(t.y) - size * 0.35
        draw = {"l": pdf.drawString, "m": pdf.drawCentredString, "r": pdf.drawRightString}[t.anchor]
        draw(t.x * mm, baseline, t.text)
    if lay.seal is not None:
        _pdf_seal(pdf, lay.seal)
    pdf.showPage()


def _pdf_seal(pdf, seal: SealMark) -> None:
    """Electronic seals are pasted images: draw the stamp as a translucent red PNG."""
    from reportlab.lib.units import mm
    from reportlab.lib.utils import ImageReader

    scale = 200 / 25.4
    mask, _ = seal_mask(seal, scale, random.Random(seal.text))
    alpha = mask.point(lambda v: int(v * 0.85))
    stamp = Image.new("RGBA", mask.size, SEAL_RED + (0,))
    stamp.putalpha(alpha)
    side = mask.width / scale
    pdf.drawImage(
        ImageReader(stamp),
        (seal.x - side / 2) * mm,
        (PAGE_H - seal.y - side / 2) * mm,
        width=side * mm,
        height=side * mm,
        mask="auto",
    )
