"""Attachment bytes → pages, and text-layer PDFs read end to end (no OCR involved)."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from config.profile import load_profile
from parsers.catalog import bundled_certificates
from parsers.documents import ReaderLimits, iter_pages, text_layer_verdict
from parsers.reader import read_attachment
from testkit.forms import (
    application_form,
    encode_image,
    images_to_pdf,
    random_form,
    render_image,
    render_pdf,
)

ANHUI = load_profile("anhui-2025")
JIANGSU = load_profile("jiangsu-2024")


def read(data, name="form.pdf", profile=ANHUI):
    return read_attachment(data, name, profile=profile, certificates=bundled_certificates())


def lines_of(form):
    if form.kind == "summary":
        return [{"row": l.row, "certificate": l.certificate, "level": l.level, "count": l.count} for l in form.lines]
    return [
        {"row": l.row, "certificate": l.certificate, "level": l.level, "approved": l.approved, "requested": l.requested}
        for l in form.lines
    ]


# ---------------------------------------------------------------- text layer verdicts


@pytest.mark.parametrize(
    "text, verdict",
    [
        ("安徽省 1+X 职业技能等级证书申报学校汇总表 学校名称（校章）：安徽大学 序号 级别 合计 12", "usable"),
        ("(cid:1)(cid:2)(cid:3) 1+X (cid:4)(cid:5)(cid:6)(cid:7)(cid:8)(cid:9)(cid:10)", "garbled"),
        ("ÃÂ°Ã¦Â±Â½Ã¨Â½Â¦ Ã¥ÂÂÃ§ÂºÂ§ Ã¦ÂÂ° 12 34", "garbled"),  # UTF-8 read as Latin-1
        ("\ue000\ue001\ue002\ue003\ue004\ue005\ue006\ue007\ue008\ue009\ue00a\ue00b\ue00c 汇总表", "garbled"),
        ("!\"#$%&'()*+,-./0123 456789:;<=>?@AB", "garbled"),  # a subset font read as StandardEncoding
        ("", "empty"),
        ("   第1页  ", "empty"),
    ],
)
def test_text_layer_verdict(text, verdict):
    assert text_layer_verdict(text) == verdict


# ---------------------------------------------------------------- text-layer PDFs, end to end


@pytest.mark.parametrize("seed", range(4))
def test_summary_text_pdf_is_read_exactly(seed):
    spec = random_form("summary", seed=seed)
    reading = read(render_pdf([spec]))
    (page,) = reading.pages
    truth = spec.truth(stamp=True)
    assert page.source == "text" and page.kind == "summary"
    assert page.form.unit == truth["unit"] and page.form.unit_confident
    assert lines_of(page.form) == truth["lines"]
    assert page.form.total == truth["total"] and page.form.total_confident
    assert all(l.confident for l in page.form.lines)
    assert page.form.stamp


@pytest.mark.parametrize("province, profile", [("安徽省", ANHUI), ("江苏省", JIANGSU)])
def test_increase_text_pdf_columns_follow_the_profile(province, profile):
    spec = random_form("increase", seed=7, province=province, rows=12)
    (page,) = read(render_pdf([spec]), profile=profile).pages
    assert page.kind == "increase"
    assert lines_of(page.form) == spec.truth(stamp=True)["lines"]


def test_form_on_page_two_after_the_application_page():
    spec = random_form("summary", seed=11, rows=5)
    pdf = render_pdf([application_form(spec.unit), spec], seal_at=["none", "date"])
    reading = read(pdf)
    assert [p.kind for p in reading.pages] == ["application", "summary"]
    assert reading.forms[0].lines and lines_of(reading.forms[0]) == spec.truth(stamp=True)["lines"]


def test_unstamped_text_pdf_has_no_stamp():
    spec = random_form("summary", seed=12, rows=3)
    (page,) = read(render_pdf([spec], seal_at="none")).pages
    assert page.form is not None and not page.form.stamp


def test_school_total_mistake_is_kept_confident_on_a_text_layer():
    spec = random_form("summary", seed=13, rows=4, total_error=10)
    form = read(render_pdf([spec])).forms[0]
    assert form.total == sum(l.count for l in form.lines) + 10
    assert form.total_confident  # → form.total_mismatch in reconciliation


def test_text_pdf_grid_keeps_merged_total_cell_and_blank_rows():
    spec = random_form("summary", seed=14, rows=3, blank_rows=2)
    (page,) = iter_pages(render_pdf([spec]), "f.pdf")
    grid = page.scan.grid
    assert grid.n_rows == 1 + 3 + 2 + 1 and grid.n_cols == 4
    total = grid.cell(grid.n_rows - 1, 1)
    assert total.text == "合计" and total.col_span == 3
    assert grid.cell(4, 1).text == ""  # blank rows stay, empty
    assert any("学校名称" in line.text for line in page.scan.lines)


def test_broken_font_map_sends_the_page_to_ocr():
    spec = random_form("summary", seed=15, rows=3)
    (page,) = iter_pages(render_pdf([spec], broken_font_map=True), "f.pdf")
    assert page.source == "ocr" and page.scan is None
    assert "乱码" in page.note
    image = page.render()
    assert image.width == pytest.approx(2480, abs=3)  # A4 at 300 dpi


# ---------------------------------------------------------------- raster inputs → pages


def test_scanned_pdf_pages_are_rendered_at_300_dpi():
    spec = random_form("summary", seed=16, rows=3)
    pdf = images_to_pdf([render_image(application_form(spec.unit), dpi=150), render_image(spec, dpi=150)], dpi=150)
    pages = list(iter_pages(pdf, "scan.pdf"))
    assert [p.source for p in pages] == ["ocr", "ocr"]
    assert pages[1].render().size == pytest.approx((2480, 3508), abs=3)


def test_exif_orientation_is_applied():
    img = Image.new("RGB", (300, 500), "white")
    img.paste((0, 0, 0), (0, 0, 300, 50))  # a black band at the top
    data = encode_image(img, "JPEG", exif_rotate=True)
    assert Image.open(io.BytesIO(data)).size == (500, 300)  # stored sideways
    (page,) = iter_pages(data, "photo.jpg")
    upright = page.render()
    assert upright.size == (300, 500)
    assert upright.getpixel((150, 10))[0] < 60 and upright.getpixel((150, 490))[0] > 200


@pytest.mark.parametrize("mode", ["RGBA", "P", "1", "LA", "I;16"])
def test_image_modes_become_l_or_rgb(mode):
    img = Image.new("RGB", (120, 80), "white").convert(mode)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    (page,) = iter_pages(buf.getvalue(), "x.png")
    assert page.render().mode in ("L", "RGB")


def test_multi_frame_tiff_gives_one_page_per_frame():
    frames = [Image.new("L", (100, 140), v) for v in (255, 200, 150)]
    buf = io.BytesIO()
    frames[0].save(buf, "TIFF", save_all=True, append_images=frames[1:])
    pages = list(iter_pages(buf.getvalue(), "scan.tif"))
    assert [p.index for p in pages] == [0, 1, 2]
    assert pages[2].render().getpixel((5, 5)) == 150


def test_limits_are_configurable():
    img = Image.new("L", (1000, 1000), 255)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    from parsers.errors import LimitExceeded

    with pytest.raises(LimitExceeded, match="像素"):
        list(iter_pages(buf.getvalue(), "big.png", ReaderLimits(max_pixels=500_000)))


def test_broken_font_map_pdf_is_read_through_ocr():
    spec = random_form("increase", seed=17, rows=4)
    (page,) = read(render_pdf([spec], broken_font_map=True)).pages
    assert page.source == "ocr" and page.kind == "increase"
    truth = spec.truth(stamp=True)["lines"]
    assert len(page.form.lines) == len(truth)
    for got, want in zip(lines_of(page.form), truth, strict=True):
        line_confident = page.form.lines[want["row"] - 1].confident
        if line_confident:
            assert got == want
    assert sum(l.confident for l in page.form.lines) >= 2
    assert page.form.stamp


def test_searchable_scan_with_invisible_title_text_is_read_from_the_picture():
    """A scanner's "searchable PDF": a picture of the form under invisible OCR text that
    holds the title but no table. The text layer names the form; the picture has the rows."""
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    from testkit.forms import pdf_font as _pdf_font

    spec = random_form("summary", seed=18, rows=4, blank_rows=0)
    picture = render_image(spec, dpi=200)
    buf = io.BytesIO()
    pdf = canvas.Canvas(buf, pagesize=(595.27, 841.89))
    pdf.drawImage(ImageReader(picture), 0, 0, width=595.27, height=841.89)
    text = pdf.beginText(60, 760)
    text.setTextRenderMode(3)  # invisible, as OCR layers are
    text.setFont(_pdf_font(), 16)
    text.textLine(spec.title)
    text.textLine("学校名称（校章）：" + spec.unit)
    pdf.drawText(text)
    pdf.showPage()
    pdf.save()
    (page,) = read(buf.getvalue()).pages
    assert page.kind == "summary" and page.source == "ocr"
    assert "改用 OCR" in " ".join(page.notes)
    truth = spec.truth(stamp=True)["lines"]
    assert len(page.form.lines) == len(truth)
    for got, want in zip(lines_of(page.form), truth, strict=True):
        if page.form.lines[want["row"] - 1].confident:
            assert got == want
    assert sum(l.confident for l in page.form.lines) >= 2


def test_has_colour_tells_gray_scans_from_colour_ones():
    from ocr.seal import has_colour
    from testkit.forms import Variant, degrade

    stamped = render_image(random_form("summary", seed=19, rows=3), dpi=100)
    assert has_colour(stamped)
    assert not has_colour(degrade(stamped, Variant(colour="gray")))
    assert not has_colour(degrade(stamped, Variant(colour="gray")).convert("RGB"))  # gray saved as RGB
    assert not has_colour(degrade(stamped, Variant(colour="bw")))


def test_a_missing_seal_is_evident_only_on_colour_pages_without_red_ink():
    from ocr.seal import absence_visible, red_ink
    from testkit.forms import Variant, degrade

    spec = random_form("summary", seed=20, rows=3)
    stamped = render_image(spec, dpi=100)
    plain = render_image(spec, dpi=100, seal_at="none")
    assert red_ink(stamped) > 0.001 and red_ink(plain) == 0
    assert not absence_visible(plain)  # black on white: a gray scan would look the same
    signed = plain.copy()
    from PIL import ImageDraw

    ImageDraw.Draw(signed).line((100, 1000, 400, 980), fill=(20, 40, 160), width=4)  # a blue-pen signature
    assert absence_visible(signed)
    assert not absence_visible(degrade(plain, Variant(colour="gray")))
    assert not absence_visible(stamped)  # red ink: if the seal finder missed it, a human looks
    assert not absence_visible(degrade(stamped, Variant(photo=True, jpeg_quality=70), seed=4))


def _with_seal(page, ink, square: bool):
    """``page`` (100 dpi) with a 40 mm seal in ``ink``: a square or round rim and its characters."""
    from PIL import ImageDraw

    stamped = page.copy()
    draw = ImageDraw.Draw(stamped)
    (draw.rectangle if square else draw.ellipse)((520, 120, 680, 280), outline=ink, width=6)
    for row in range(150, 260, 22):
        draw.line((550, row, 650, row), fill=ink, width=5)
    return stamped


def test_a_seal_in_another_colour_or_shape_is_never_evidently_missing():
    """The seal finder looks for red round seals; a purple square 专用章 or a blue-black seal
    it misses must send the form to staff, not reject it as unstamped (issue 15)."""
    from PIL import ImageDraw

    from ocr.seal import absence_visible

    spec = random_form("summary", seed=20, rows=3)
    plain = render_image(spec, dpi=100, seal_at="none")
    signed = plain.copy()
    ImageDraw.Draw(signed).line((100, 1000, 400, 980), fill=(20, 40, 160), width=4)  # a blue-pen signature
    assert absence_visible(signed)
    # purple square, blue-black round, a faint pink square pressed lightly (spread ~18)
    for ink, square in (((110, 40, 150), True), ((30, 40, 90), False), ((232, 214, 216), True)):
        assert not absence_visible(_with_seal(signed, ink, square)), ink


def test_a_text_pdf_whose_seal_the_finder_misses_is_not_unstamped_for_sure():
    """A purple square 专用章 pasted on a text-layer form: the finder looks for red round seals,
    so the absence it reports must be unsure (review), never a form.stamp_missing rejection."""
    import io

    from reportlab.lib.units import mm
    from reportlab.pdfgen import canvas

    from config.profile import load_profile
    from parsers.catalog import bundled_certificates
    from parsers.reader import read_attachment
    from testkit.forms.layout import PAGE_H, PAGE_W, layout
    from testkit.forms.pdf import draw_page, pdf_font

    spec = random_form("summary", seed=21, rows=3)

    def pdf(with_mark: bool) -> bytes:
        buf = io.BytesIO()
        page = canvas.Canvas(buf, pagesize=(PAGE_W * mm, PAGE_H * mm))
        if with_mark:  # drawn first: draw_page ends the page
            page.setStrokeColorRGB(0.45, 0.15, 0.6)
            page.setFillColorRGB(0.45, 0.15, 0.6)
            page.setLineWidth(1.5 * mm)
            page.rect(120 * mm, 230 * mm, 40 * mm, 40 * mm)
            for y in range(236, 268, 6):
                page.rect(126 * mm, y * mm, 28 * mm, 2 * mm, fill=1)
        draw_page(page, layout(spec, seal_at="none"), pdf_font())
        page.save()
        return buf.getvalue()

    profile, certificates = load_profile("anhui-2025"), bundled_certificates()
    plain = read_attachment(pdf(False), "a.pdf", profile=profile, certificates=certificates).pages[0].form
    marked = read_attachment(pdf(True), "b.pdf", profile=profile, certificates=certificates).pages[0].form
    assert (plain.stamp, plain.stamp_confident) == (False, True)  # nothing on the page: sure
    assert (marked.stamp, marked.stamp_confident) == (False, False)


def test_a_seal_in_another_ink_is_a_stamp_other_coloured_things_are_not():
    """A purple square 专用章 or a blue-black round seal on a black-printed form is the stamp
    (the reader says so, the form is not sent to staff for it); a blue signature, small blue
    digits and the brown desk around a photographed sheet are no seal."""
    from PIL import ImageDraw, ImageOps

    from ocr.seal import coloured_seal

    spec = random_form("summary", seed=20, rows=3)
    plain = render_image(spec, dpi=100, seal_at="none")
    for ink, square in (((110, 40, 150), True), ((30, 40, 90), False)):
        found = coloured_seal(_with_seal(plain, ink, square))
        assert found is not None and abs(found[0] - 520) < 15 and abs(found[3] - 280) < 15, ink
    signed = plain.copy()
    draw = ImageDraw.Draw(signed)
    draw.line((100, 1000, 400, 980), fill=(20, 40, 160), width=4)  # a signature
    for x in range(600, 760, 40):
        draw.text((x, 700), "37", fill=(20, 40, 200))  # hand-filled digits
    assert coloured_seal(signed) is None
    on_desk = ImageOps.expand(plain, border=260, fill=(150, 110, 80))  # the sheet on a brown desk
    assert coloured_seal(on_desk) is None


def test_a_scan_stamped_in_purple_reads_as_stamped():
    from PIL import ImageDraw

    spec = random_form("summary", seed=20, rows=3)
    page = render_image(spec, dpi=150, seal_at="none")
    draw = ImageDraw.Draw(page)
    box = (780, 180, 1020, 420)  # 40 mm at 150 dpi
    draw.rectangle(box, outline=(110, 40, 150), width=9)  # a square 专用章: the shape finder looks for round
    for row in range(230, 390, 30):
        draw.line((830, row, 970, row), fill=(110, 40, 150), width=7)
    buffer = io.BytesIO()
    page.save(buffer, format="PNG")
    reading = read_attachment(buffer.getvalue(), "scan.png", profile=load_profile("anhui-2025"),
                              certificates=bundled_certificates()).pages[0]
    assert (reading.form.stamp, reading.form.stamp_confident) == (True, True)
    assert "页面上有非红色印章（紫色、蓝黑色等）" in reading.notes
