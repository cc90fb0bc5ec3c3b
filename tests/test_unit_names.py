"""A school is told "your form names another unit" only when it clearly does (issue 15, item 1).

The two wrong rejections seen at the mailbox (颍 read as 颖 in 阜阳清颍中等职业学校 and
阜阳颍川职业技术学院) must be the subject's unit; another registered unit's name, or a
name far from the subject's, is a mismatch; everything between goes to staff.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.decision import Claim
from domain.forms import SummaryForm, SummaryLine
from domain.names import UnitMatch, _look_alike, distance, match_unit
from domain.rules import check_form
from domain.state import CertificateRef, LedgerState, UnitRef
from testkit.ledger import anhui_schools

ANHUI = tuple(UnitRef(name=s["name"], city=s["city"]) for s in anhui_schools())
EXTRA = (UnitRef(name="阜阳清颍中等职业学校"), UnitRef(name="阜阳颍川职业技术学院"))
UNITS = ANHUI + EXTRA
STATE = LedgerState(units=UNITS, certificates=(CertificateRef(name="Web前端开发", levels=frozenset({"中级"})),))


def codes(printed: str, claimed: str, *, confident: bool = True) -> list[str]:
    form = SummaryForm(unit=printed, stamp=True, total=30, unit_confident=confident,
                       lines=(SummaryLine(row=1, certificate="Web前端开发", level="中级", count=30),))
    return [str(r.code) for r in check_form(form, Claim(unit=claimed, year=2025, kind="summary"), STATE)]


@pytest.mark.parametrize("claimed, printed", [
    ("阜阳清颍中等职业学校", "阜阳清颖中等职业学校"),
    ("阜阳颍川职业技术学院", "阜阳颖川职业技术学院"),
    ("亳州职业技术学院", "毫州职业技术学院"),
])
def test_a_look_alike_misread_is_the_subjects_unit(claimed, printed):
    assert match_unit(printed, claimed, UNITS)[0] is UnitMatch.NEAR
    assert codes(printed, claimed) == []


def test_another_registered_units_name_is_a_mismatch():
    verdict, other = match_unit("安徽大学", "合肥工业大学", UNITS)
    assert (verdict, other) == (UnitMatch.OTHER_UNIT, "安徽大学")
    assert codes("安徽大学", "合肥工业大学") == ["form.unit_mismatch"]


def test_a_name_far_from_every_unit_is_a_mismatch():
    assert match_unit("某某市第一中学", "合肥工业大学", UNITS)[0] is UnitMatch.FAR
    assert codes("某某市第一中学", "合肥工业大学") == ["form.unit_mismatch"]


def test_between_near_and_far_staff_look_and_nobody_is_rejected():
    printed = "阜阳清颍中等技术学院"  # two plain edits in ten characters
    assert match_unit(printed, "阜阳清颍中等职业学校", UNITS)[0] is UnitMatch.UNSURE
    assert codes(printed, "阜阳清颍中等职业学校") == ["ocr.low_confidence"]


def test_a_blank_unit_name_goes_to_staff():
    assert codes("", "合肥工业大学") == ["ocr.low_confidence"]


def test_a_name_as_near_to_another_unit_as_to_the_subjects_is_not_judged():
    units = (UnitRef(name="阜阳清颍中等职业学校"), UnitRef(name="阜阳清颖中等职业学校"))
    assert match_unit("阜阳清颖中等职业学校", "阜阳清颍中等职业学校", units)[0] is UnitMatch.UNSURE


def test_aliases_and_widths_count_as_the_same_unit():
    units = (UnitRef(name="合肥职业技术学院", aliases=("合肥职院",)),)
    assert match_unit("合肥职院", units[0], units)[0] is UnitMatch.SAME
    assert match_unit("合肥职业技术学院 ", units[0], units)[0] is UnitMatch.SAME


def test_a_look_alike_costs_less_than_another_character():
    assert distance("颍", "颖") < distance("颍", "水") == 1
    assert distance("ab", "ab") == 0 and distance("ab", "abc") == 1


LOOK_ALIKE_SCHOOLS = [u for u in ANHUI if any(ch in _look_alike() for ch in u.name)]


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_no_registered_unit_is_rejected_for_one_look_alike_misread(data):
    unit = data.draw(st.sampled_from(LOOK_ALIKE_SCHOOLS))
    spots = [i for i, ch in enumerate(unit.name) if ch in _look_alike()]
    at = data.draw(st.sampled_from(spots))
    swap = data.draw(st.sampled_from(sorted(_look_alike()[unit.name[at]])))
    printed = unit.name[:at] + swap + unit.name[at + 1:]
    verdict, _ = match_unit(printed, unit, ANHUI)
    assert verdict not in (UnitMatch.OTHER_UNIT, UnitMatch.FAR), printed


def test_a_near_unit_name_is_accepted_and_noted_for_staff_not_the_school():
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from config.profile import load_profile
    from domain.envelope import Attachment, Envelope
    from domain.forms import DocumentReading, PageReading
    from intake.pipeline import process

    unit = UnitRef(name="阜阳清颍中等职业学校", contacts=("jwc@fyqy.example.cn",))
    state = LedgerState(units=(*ANHUI, unit), certificates=STATE.certificates)
    form = SummaryForm(unit="阜阳清颖中等职业学校", stamp=True, total=30,
                       lines=(SummaryLine(row=1, certificate="Web前端开发", level="中级", count=30),))

    def read(data, filename, **_):
        return DocumentReading(filename, (PageReading(0, "summary", form, "ocr"),))

    envelope = Envelope(
        message_id="<a@fyqy.example.cn>", subject=f"{unit.name}+2025年证书申报", sender="jwc@fyqy.example.cn",
        sender_name="", reply_to="", received_at=datetime(2025, 3, 20, 10, tzinfo=ZoneInfo("Asia/Shanghai")),
        attachments=(Attachment("汇总表.pdf", "application/pdf", b"%PDF-1.4"),))
    result = process(envelope, load_profile("anhui-2025"), state, read)
    assert str(result.decision.outcome) == "accepted"
    assert "阜阳清颖中等职业学校" in result.note and "形近字" in result.note
    assert not getattr(result.decision, "remarks", ())  # the reply does not mention our misreading


def test_the_subjects_name_with_something_run_into_it_is_the_subjects_unit():
    assert match_unit("铜陵理工学校表5年3月27日", "铜陵理工学校", UNITS + (UnitRef(name="铜陵理工学校"),))[0] \
        is UnitMatch.NEAR
    # …unless what was read is exactly another registered unit.
    units = (UnitRef(name="合肥职业技术学院"), UnitRef(name="合肥职业技术学院附属中专"))
    assert match_unit("合肥职业技术学院附属中专", "合肥职业技术学院", units)[0] is UnitMatch.OTHER_UNIT
