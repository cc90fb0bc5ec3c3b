"""A page with a table is never answered "no form found" (issue 15, item 1).

When the page reads as no form, the reader tries the other three orientations of the
page it set upright; a table it still cannot name goes to staff, not back to the school.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

import ocr.scan
from config.profile import load_profile
from domain.envelope import Attachment, Envelope
from domain.forms import DocumentReading, PageReading
from domain.state import LedgerState, UnitRef
from intake.pipeline import process
from parsers.reader import read_attachment
from testkit.forms import encode_image, random_form, render_image
from parsers.catalog import bundled_certificates

PROFILE = load_profile("anhui-2025")


def test_a_wrong_text_direction_verdict_is_undone_by_trying_the_other_turns(monkeypatch):
    """The classifier (a real model that can err) is made to call an upright page upside down."""
    spec = random_form("summary", seed=5, rows=4)
    png = encode_image(render_image(spec, dpi=200), "PNG")
    monkeypatch.setattr(ocr.scan, "_upside_down", lambda prep, engines: True)  # the fault
    reading = read_attachment(png, "scan.png", profile=PROFILE, certificates=bundled_certificates())
    (page,) = reading.pages
    assert page.kind == "summary" and page.has_table
    assert any("重新判断页面方向" in note for note in page.notes)
    assert page.form is not None and len(page.form.lines) == 4


def mail_with(page: PageReading) -> tuple[Envelope, LedgerState, callable]:
    unit = UnitRef(name="合肥职业技术学院", contacts=("jwc@hfpu.edu.cn",))
    envelope = Envelope(
        message_id="<o@hfpu.edu.cn>", subject=f"{unit.name}+2025年证书申报", sender="jwc@hfpu.edu.cn",
        sender_name="", reply_to="", received_at=datetime(2025, 3, 20, 10, tzinfo=ZoneInfo("Asia/Shanghai")),
        attachments=(Attachment("汇总表.jpg", "image/jpeg", b"\xff\xd8"),))

    def read(data, filename, **_):
        return DocumentReading(filename, (page,))

    return envelope, LedgerState(units=(unit,)), read


@pytest.mark.parametrize("has_table, illegible, decision, code", [
    (True, False, "review", "ocr.low_confidence"),
    (False, True, "review", "ocr.low_confidence"),  # a washed-out photo: the form may be in it
    (False, False, "rejected", "form.unrecognized"),  # read well, no table: a letter, not the form
])
def test_no_form_found_rejects_only_a_legible_page_without_a_table(has_table, illegible, decision, code):
    envelope, state, read = mail_with(PageReading(0, "unknown", None, "ocr", has_table=has_table, illegible=illegible))
    result = process(envelope, PROFILE, state, read)
    assert str(result.decision.outcome) == decision
    assert [str(r.code) for r in result.decision.reasons] == [code]


def _png(image) -> bytes:
    import io

    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_washed_out_photo_is_illegible_a_letter_is_not():
    """The reader says which pictures it could not make out: next to no text read with
    confidence. A cover letter read well is evidently no form (the rules may reject it)."""
    from PIL import Image, ImageDraw, ImageFont

    from testkit.forms import NOTO_SANS

    washed = Image.new("RGB", (1240, 1754), (250, 246, 240))
    ImageDraw.Draw(washed).text((300, 400), "2025", fill=(236, 232, 226), font=ImageFont.truetype(NOTO_SANS, 40))
    letter = Image.new("RGB", (1240, 1754), "white")
    draw, font = ImageDraw.Draw(letter), ImageFont.truetype(NOTO_SANS, 34)
    for k, sentence in enumerate(["关于报送2025年证书申报材料的函", "省试点工作办公室：", "我校已按通知要求完成申报工作，",
                                  "现将有关材料随函报送，请审核。", "联系人：王老师", "联系电话：0551-12345678",
                                  "特此函告。"]):
        draw.text((120, 150 + 90 * k), sentence, fill="black", font=font)
    pages = {}
    for name, image in (("washed.png", washed), ("letter.png", letter)):
        reading = read_attachment(_png(image), name, profile=PROFILE, certificates=bundled_certificates())
        pages[name] = reading.pages[0]
    assert pages["washed.png"].kind == "unknown" and pages["washed.png"].illegible
    assert pages["letter.png"].kind in ("unknown", "application") and not pages["letter.png"].illegible
