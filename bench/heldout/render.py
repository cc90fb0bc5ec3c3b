"""Draw a laid-out ``Page`` as pixels (the paper a scanner or a phone sees) or as a PDF
with a real text layer (what Word's or WPS's 另存为 PDF writes: embedded TrueType
subsets, the seal a pasted picture over the text).
"""

from __future__ import annotations

import io
import random

from PIL import Image, ImageDraw

from bench.heldout import fonts, stamps
from bench.heldout.layout import PT_MM, Page, Text


def _hand_run(img: Image.Image, t: Text, s: float, rng: random.Random) -> None:
    """A number written by hand: each glyph its own size, slant, height and spacing."""
    px = t.pt * PT_MM * s
    x = t.x * s
    base_y = t.y * s
    slant = rng.uniform(-6, 10)
    for ch in t.text:
        size = int(px * rng.uniform(0.92, 1.12))
        font = fonts.pil_font(t.face, size)
        g = Image.new("L", (int(size * 1.6), int(size * 1.8)), 0)
        gd = ImageDraw.Draw(g)
        gd.text((g.width * 0.2, g.height * 0.75), ch, font=font, fill=255, anchor="ls",
                stroke_width=max(0, int(size / 22)), stroke_fill=255)
        g = g.rotate(slant + rng.uniform(-6, 6), resample=Image.BICUBIC, expand=False)
        dy = rng.uniform(-0.08, 0.08) * size
        img.paste(t.color, (int(x - g.width * 0.2), int(base_y - g.height * 0.75 + dy)), g)
        x += font.getlength(ch) * rng.uniform(0.95, 1.15)


def raster(page: Page, dpi: float, *, paper=(252, 252, 249)) -> Image.Image:
    """The page at ``dpi`` as RGB, seals inked on top."""
    s = dpi / 25.4
    img = Image.new("RGB", (round(page.width * s), round(page.height * s)), paper)
    d = ImageDraw.Draw(img)
    for r in page.rules:
        w = max(1, round(r.width * s))
        if r.y0 == r.y1:
            d.rectangle([r.x0 * s, r.y0 * s - w / 2, r.x1 * s, r.y0 * s + w / 2 - 1 + (w == 1)], fill=(25, 25, 25))
        else:
            d.rectangle([r.x0 * s - w / 2, r.y0 * s, r.x0 * s + w / 2 - 1 + (w == 1), r.y1 * s], fill=(25, 25, 25))
    rng = random.Random(page.hand_seed)
    for t in page.texts:
        if t.hand:
            _hand_run(img, t, s, rng)
            continue
        px = max(4, round(t.pt * PT_MM * s))
        font = fonts.pil_font(t.face, px)
        sw = max(1, px // 30) if t.bold else 0
        d.text((t.x * s, t.y * s), t.text, font=font, fill=t.color, anchor="ls", stroke_width=sw, stroke_fill=t.color)
    for seal in page.seals:
        st = stamps.draw_stamp(seal.spec, s)
        stamps.multiply_onto(img, st, seal.cx * s, seal.cy * s)
    return img


def pdf(page: Page, *, seal_px_per_mm: float = 12.0) -> bytes:
    """The page as a one-page PDF with a text layer (pdfplumber reads every run)."""
    from reportlab.lib.units import mm
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(page.width * mm, page.height * mm), pageCompression=1, invariant=1)
    c.setTitle("申报表")
    c.setStrokeColorRGB(0.1, 0.1, 0.1)
    for r in page.rules:
        c.setLineWidth(r.width * mm)
        c.line(r.x0 * mm, (page.height - r.y0) * mm, r.x1 * mm, (page.height - r.y1) * mm)
    for t in page.texts:
        obj = c.beginText()
        obj.setFont(fonts.pdf_font(t.face), t.pt)
        obj.setFillColorRGB(*(v / 255 for v in t.color))
        obj.setTextRenderMode(2 if t.bold else 0)  # Tr persists across text objects
        if t.bold:
            c.setLineWidth(t.pt * 0.03)
            c.setStrokeColorRGB(*(v / 255 for v in t.color))
        obj.setTextOrigin(t.x * mm, (page.height - t.y) * mm)
        obj.textOut(t.text)
        c.drawText(obj)
        if t.bold:
            c.setStrokeColorRGB(0.1, 0.1, 0.1)
    for seal in page.seals:
        st = stamps.draw_stamp(seal.spec, seal_px_per_mm)
        png = io.BytesIO()
        st.save(png, "PNG")
        png.seek(0)
        w, h = st.width / seal_px_per_mm, st.height / seal_px_per_mm
        c.drawImage(ImageReader(png), (seal.cx - w / 2) * mm, (page.height - seal.cy - h / 2) * mm, w * mm, h * mm,
                    mask="auto")
    c.showPage()
    c.save()
    return buf.getvalue()


def images_to_pdf(images: list[Image.Image], dpi: float, *, quality: int = 80) -> bytes:
    """Scanned pages in an image-only PDF, as a scanner's 扫描到 PDF writes (JPEG inside)."""
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, invariant=1)  # no date or random id: the same bytes every run
    for img in images:
        w, h = img.width * 72.0 / dpi, img.height * 72.0 / dpi
        c.setPageSize((w, h))
        jpg = io.BytesIO()
        img.convert("RGB" if img.mode not in ("L", "1") else "L").save(jpg, "JPEG", quality=quality)
        jpg.seek(0)
        c.drawImage(ImageReader(jpg), 0, 0, w, h)
        c.showPage()
    c.save()
    return buf.getvalue()


def letter_page(unit: str, kind: str, rng: random.Random, *, pdf_faces: bool) -> Page:
    """A cover letter (关于…的函) scanned with the form: a page that is no form."""
    face = rng.choice([f.key for f in fonts.faces("song", pdf=pdf_faces)])
    page = Page(210.0, 297.0)
    what = "证书申报" if kind == "summary" else "证书指标调增申请"
    title = f"关于{unit}2025年1+X{what}的函"
    pt = 16.0
    while fonts.text_width(face, title, pt) * PT_MM > 170 and pt > 9:
        pt -= 0.5
    tw = fonts.text_width(face, title, pt) * PT_MM
    page.texts.append(Text((210 - tw) / 2, 40, title, face, pt, bold=True))
    body = ("安徽省1+X证书制度试点工作办公室：根据通知要求，我校认真组织开展2025年1+X证书制度试点工作，"
            "现将有关材料报送贵办，请予审核。附件：申报材料一份。")
    y, line = 60.0, ""
    for ch in body:
        if fonts.text_width(face, line + ch, 12) * PT_MM > 160:
            page.texts.append(Text(25, y, line, face, 12))
            y += 9
            line = ""
        line += ch
    page.texts.append(Text(25, y, line, face, 12))
    page.texts.append(Text(120, y + 30, unit, face, 12))
    page.texts.append(Text(130, y + 40, "2025年3月" + str(rng.randint(14, 31)) + "日", face, 12))
    return page


def rotate_quarter(img: Image.Image, degrees: int) -> Image.Image:
    """Turned counter-clockwise by 90, 180 or 270 degrees (as a page laid crooked on the glass)."""
    return {90: img.transpose(Image.ROTATE_90), 180: img.transpose(Image.ROTATE_180),
            270: img.transpose(Image.ROTATE_270)}.get(degrees % 360, img)

