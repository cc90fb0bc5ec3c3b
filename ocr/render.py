"""Draw what the reader saw: cells (green when sure, orange when not, gray when empty),
seals (red or blue rings) and free text lines, on the upright page. Staff see this on the
review page next to the original."""

from __future__ import annotations

from PIL import Image, ImageDraw

from ocr.model import PageScan

SURE = (0, 150, 60)
UNSURE = (235, 120, 0)
EMPTY = (160, 160, 160)
SEAL_RED = (220, 0, 0)
SEAL_GRAY = (0, 90, 220)
LINE = (120, 60, 200)
SURE_AT = 0.8


def outline(image: Image.Image, scan: PageScan) -> Image.Image:
    """An RGB copy of the page with the scan's cells, seals and lines drawn on it.

    ``image`` is the page as given to ``scan_page``; it is brought upright the same way
    (turned, deskewed, unwarped), since the scan's coordinates are those of that page.
    """
    from ocr.scan import upright_image

    page = upright_image(image).convert("RGB")
    if scan.rotation in (180, 270):  # turned over after the upright step (see scan_page)
        page = page.rotate(180)
    if (page.width, page.height) != (round(scan.width), round(scan.height)):
        page = page.resize((round(scan.width), round(scan.height)))
    draw = ImageDraw.Draw(page)
    width = max(2, round(min(scan.width, scan.height) / 600))
    if scan.grid is not None:
        for cell in scan.grid.cells:
            if not cell.text:
                colour = EMPTY
            elif cell.confidence >= SURE_AT and cell.agreed is not False:
                colour = SURE
            else:
                colour = UNSURE
            x0, y0, x1, y1 = cell.bbox
            draw.rectangle([x0 + width, y0 + width, x1 - width, y1 - width], outline=colour, width=width)
    for line in scan.lines:
        draw.rectangle(list(line.bbox), outline=LINE, width=max(1, width // 2))
    for seal in scan.seals:
        draw.ellipse(list(seal.bbox), outline=SEAL_RED if seal.colour == "red" else SEAL_GRAY, width=width * 2)
    return page
