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


@pytest.mark.parametrize("has_table, decision, code", [
    (True, "review", "ocr.low_confidence"),
    (False, "rejected", "form.unrecognized"),
])
def test_no_form_found_rejects_only_a_page_without_a_table(has_table, decision, code):
    envelope, state, read = mail_with(PageReading(0, "unknown", None, "ocr", has_table=has_table))
    result = process(envelope, PROFILE, state, read)
    assert str(result.decision.outcome) == decision
    assert [str(r.code) for r in result.decision.reasons] == [code]
