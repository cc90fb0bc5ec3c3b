"""One mail, one submission per form kind (issue 14, part 6).

Realistic attachments through the real reader: a scanned-together PDF (cover letter,
the notice's empty 附件1 template, then the filled stamped form), the same form sent as
PDF and as a JPEG photo, and two copies that disagree. Then the pure selection rules on
hand-made readings, and what reaches the ledger and its export.
"""

from __future__ import annotations

import email
import email.policy
import functools
import hashlib
from datetime import datetime, timezone

import pytest

from testkit.forms import encode_image, render_image
from config.profile import load_profile
from domain.decision import REVIEW_CODES, Claim, Decision, Outcome
from domain.forms import SummaryForm, SummaryLine
from domain.state import CertificateRef, LedgerState, UnitRef
from intake.message import decode
from intake.pipeline import FormPage, MailDecision, process, select_forms
from intake.replies import build_reply
from ledger.export import collect, to_json
from ledger.store import OutgoingReply, Store
from parsers.reader import read_attachment
from testkit import eml_corpus as corpus
from testkit.form_pages import cover_letter, empty_template, filled, pdf_of, summary_spec

PROFILE = load_profile("anhui-2025")
UNIT = corpus.UNIT
AT = datetime(2025, 3, 20, 2, 15, tzinfo=timezone.utc)
LEVELS = frozenset({"初级", "中级", "高级"})
STATE = LedgerState(
    units=(UnitRef(UNIT, contacts=(corpus.SENDER,)),),
    certificates=(CertificateRef("Web前端开发", levels=LEVELS), CertificateRef("物流管理", levels=LEVELS)),
)
ROWS = [("Web前端开发", "初级", 30), ("物流管理", "中级", 15)]
CLAIM = Claim(UNIT, 2025, "summary", UNIT)


@functools.cache
def bundle_pdf() -> bytes:
    """报送公函, 附件1 (the template, empty), the filled stamped form: one scanned-together PDF."""
    return pdf_of([cover_letter(UNIT), empty_template("summary"), filled(summary_spec(UNIT, ROWS))])


@functools.cache
def form_pdf(rows: tuple = tuple(ROWS)) -> bytes:
    return pdf_of([filled(summary_spec(UNIT, list(rows)))])


@functools.cache
def form_jpeg(rows: tuple = tuple(ROWS)) -> bytes:
    return encode_image(render_image(summary_spec(UNIT, list(rows)), dpi=200), "JPEG")


def mail(*parts: corpus.Part, subject: str = corpus.SUBJECT):
    return decode(corpus.submission(corpus.encode_header(subject), *parts), AT)


def reply_body(envelope, result) -> str:
    raw = build_reply(envelope=envelope, decision=result.decision, claim=result.claim, forms=list(result.forms),
                      profile=PROFILE, from_addr="ahxzsbg@126.com", to_addr=envelope.sender,
                      reply_message_id="<r@126.com>", now=AT)
    return email.message_from_bytes(raw, policy=email.policy.default).get_content().replace("\r\n", "\n")


# --- through the real reader --------------------------------------------------------------


def test_the_empty_annex_template_reads_as_the_form_without_a_line():
    """What 附件1 is read as: the form (its title says so), with no data line — the reason
    it was taken for a second, empty submission before."""
    reading = read_attachment(bundle_pdf(), "申报材料.pdf", profile=PROFILE, certificates=STATE.certificates)
    assert [p.kind for p in reading.pages] == ["summary", "summary", "summary"]
    cover, annex, form = (p.form for p in reading.pages)
    assert cover.lines == () and annex.lines == () and annex.total is None
    assert form.total == 45 and len(form.lines) == 2 and form.stamp


def test_cover_letter_and_empty_annex_pages_are_never_submissions():
    envelope = mail(corpus.named(bundle_pdf(), "application/pdf", "申报材料.pdf"))
    result = process(envelope, PROFILE, STATE)
    assert result.decision.outcome is Outcome.ACCEPTED, result.decision
    (form,) = result.forms
    assert form.total == 45 and [line.count for line in form.lines] == [30, 15]
    assert result.extra["pages_without_data"] == [{"attachment": "申报材料.pdf", "page": 1},
                                                  {"attachment": "申报材料.pdf", "page": 2}]
    body = reply_body(envelope, result)
    assert "说明：附件“申报材料.pdf”第1、2页没有填写表格内容" in body
    assert body.count("合计：45人") == 1


def test_the_same_form_as_pdf_and_as_jpeg_is_one_submission():
    envelope = mail(corpus.named(form_pdf(), "application/pdf", "汇总表.pdf"),
                    corpus.named(form_jpeg(), "image/jpeg", "汇总表.jpg"))
    result = process(envelope, PROFILE, STATE)
    assert result.decision.outcome is Outcome.ACCEPTED, result.decision
    assert len(result.forms) == 1 and result.forms[0].total == 45
    assert result.extra["copies"] == [{"attachment": "汇总表.jpg", "page": 1, "same_as": "附件“汇总表.pdf”第1页"}]
    assert "汇总表.jpg" in result.note
    body = reply_body(envelope, result)
    received = body.split("二、")[0]
    assert "说明：附件“汇总表.jpg”第1页与附件“汇总表.pdf”第1页是同一份《申报学校汇总表》，内容一致，按一份登记" in received
    assert body.count("1｜Web前端开发｜初级｜30人") == 1


def test_copies_that_disagree_go_to_review_with_both_readings():
    other = (("Web前端开发", "初级", 30), ("物流管理", "中级", 18))
    envelope = mail(corpus.named(form_pdf(), "application/pdf", "汇总表.pdf"),
                    corpus.named(form_jpeg(other), "image/jpeg", "汇总表-新.jpg"))
    result = process(envelope, PROFILE, STATE)
    # Both copies add up and would each be accepted: before, both were, as two submissions.
    assert result.decision.outcome is Outcome.REVIEW
    assert result.decision.codes == ["ocr.low_confidence"]
    assert len(result.forms) == 1
    by_place = {(r.row, r.column): r for r in result.decision.reasons}
    count = by_place[(2, "拟申报人数")]
    assert (count.attachment, count.page) == ("汇总表.pdf", 1)
    assert count.value == "附件“汇总表.pdf”第1页：15；附件“汇总表-新.jpg”第1页：18"
    assert by_place[(None, "合计")].value == "附件“汇总表.pdf”第1页：45；附件“汇总表-新.jpg”第1页：48"
    assert set(by_place) == {(2, "拟申报人数"), (None, "合计")}
    body = reply_body(envelope, result)
    assert "已收到，待工作人员审核" in body
    assert "位置：附件“汇总表.pdf”第1页，第2行，“拟申报人数”栏" in body
    assert "读到的内容：附件“汇总表.pdf”第1页：15；附件“汇总表-新.jpg”第1页：18" in body


def test_copies_that_disagree_are_reviewed_not_rejected_when_one_breaks_a_rule():
    """We cannot tell which copy the school meant: a rule broken by one of them rejects nothing."""
    wrong_total = pdf_of([filled(summary_spec(UNIT, ROWS, total=40))])
    envelope = mail(corpus.named(wrong_total, "application/pdf", "汇总表.pdf"),
                    corpus.named(form_pdf(), "application/pdf", "汇总表（更正）.pdf"))
    result = process(envelope, PROFILE, STATE)
    assert result.decision.outcome is Outcome.REVIEW
    assert all(r.code in REVIEW_CODES for r in result.decision.reasons)
    (total,) = [r for r in result.decision.reasons if r.column == "合计"]
    assert "40" in total.value and "45" in total.value


# --- the selection rules, on readings made by hand ----------------------------------------


def _form(counts=(30, 15), *, stamp=True, total=None, unit=UNIT, confident=True) -> SummaryForm:
    lines = tuple(SummaryLine(i + 1, cert, level, n, confident=confident)
                  for i, ((cert, level, _), n) in enumerate(zip(ROWS, counts)))
    return SummaryForm(unit, stamp, sum(counts) if total is None else total, lines)


def _page(form, name="a.pdf", page=1, order=0, source="ocr") -> FormPage:
    return FormPage(name, page, form, source, order)


def test_identical_copies_keep_the_stamped_most_surely_read_one():
    unstamped = _page(_form(stamp=False), "excel.pdf", source="text", order=0)
    unsure = _page(_form(confident=False), "photo.jpg", order=1)
    stamped = _page(_form(), "scan.pdf", order=2)
    chosen = select_forms([unstamped, unsure, stamped], CLAIM, PROFILE, STATE)
    assert chosen.pages == (stamped,)
    assert chosen.reasons == ()  # the kept copy is judged alone: stamped, surely read, adds up
    assert [c["attachment"] for c in chosen.extra["copies"]] == ["excel.pdf", "photo.jpg"]


def test_line_order_does_not_make_two_readings_differ():
    form = _form()
    shuffled = SummaryForm(form.unit, True, form.total, tuple(reversed(form.lines)))
    chosen = select_forms([_page(form), _page(shuffled, "b.jpg", order=1)], CLAIM, PROFILE, STATE)
    assert len(chosen.pages) == 1 and chosen.reasons == () and chosen.extra["copies"]


def test_only_empty_pages_still_give_one_submission_for_staff():
    """No page holds a line (a table the reader could not find): one stands for the form, and
    its unread table sends it to staff, as before; never two submissions."""
    empty = SummaryForm(UNIT, True, None, (), table_confident=False, total_confident=False)
    chosen = select_forms([_page(empty), _page(empty, page=2, order=1)], CLAIM, PROFILE, STATE)
    assert len(chosen.pages) == 1
    assert Decision.from_reasons(chosen.reasons).outcome is Outcome.REVIEW


def test_a_different_unit_or_a_missing_row_is_a_difference_too():
    one_row = SummaryForm(UNIT, True, 30, (SummaryLine(1, "Web前端开发", "初级", 30),))
    other_unit = _form(unit="安徽职业技术学院")
    chosen = select_forms([_page(_form()), _page(one_row, "b.pdf", order=1), _page(other_unit, "c.pdf", order=2)],
                          CLAIM, PROFILE, STATE)
    assert Decision.from_reasons(chosen.reasons).outcome is Outcome.REVIEW
    values = [(r.row, r.column, r.value) for r in chosen.reasons]
    assert (2, "", "附件“a.pdf”第1页：物流管理 中级 15；附件“b.pdf”第1页：（无此行）") in values
    assert any(col == "学校名称（校章）" and "安徽职业技术学院" in value for _, col, value in values)


def test_many_differences_are_capped_with_a_count_of_the_rest():
    rows = [("Web前端开发", "初级", n) for n in range(1, 16)]
    a = SummaryForm(UNIT, True, None, tuple(SummaryLine(i + 1, c, lv, n) for i, (c, lv, n) in enumerate(rows)))
    b = SummaryForm(UNIT, True, None, tuple(SummaryLine(i + 1, c, lv, n + 1) for i, (c, lv, n) in enumerate(rows)))
    chosen = select_forms([_page(a), _page(b, "b.pdf", order=1)], CLAIM, PROFILE, STATE)
    assert len(chosen.reasons) == 10
    assert "另有6处不一致" in chosen.reasons[-1].detail


def test_pages_of_the_other_form_kind_are_left_alone():
    from domain.forms import IncreaseForm, IncreaseLine

    increase = IncreaseForm(UNIT, True, (IncreaseLine(1, "Web前端开发", "初级", 10, 20),))
    chosen = select_forms([_page(_form()), _page(increase, "b.pdf", order=1)], CLAIM, PROFILE, STATE)
    assert len(chosen.pages) == 1 and chosen.pages[0].form.kind == "summary" and not chosen.remarks


# --- what reaches the ledger ---------------------------------------------------------------


def test_one_mail_is_one_submission_in_the_ledger_and_its_export(ledger_engine, tmp_path):
    from ledger.imports import (
        CATALOG_COLUMNS,
        UNIT_COLUMNS,
        import_catalog,
        import_units,
    )
    from testkit.rosters import write_csv

    import_units(ledger_engine, write_csv(tmp_path / "u.csv", UNIT_COLUMNS,
                                          [[UNIT, "高职", "芜湖市", "", corpus.SENDER]]))
    import_catalog(ledger_engine, write_csv(tmp_path / "c.csv", CATALOG_COLUMNS,
                                            [["1", "Web前端开发", "org", "初级;中级;高级"],
                                             ["1", "物流管理", "org", "初级;中级;高级"]]))
    store = Store(ledger_engine, PROFILE)
    envelope = mail(corpus.named(bundle_pdf(), "application/pdf", "申报材料.pdf"),
                    corpus.named(form_pdf(), "application/pdf", "汇总表.pdf"))
    result = process(envelope, PROFILE, store.snapshot())
    assert isinstance(result.decision, MailDecision) and result.decision.outcome is Outcome.ACCEPTED
    record, _ = store.record_message(
        mailbox="INBOX", uidvalidity=1, uid=1, message_id=envelope.message_id,
        sha256=hashlib.sha256(b"bundle").hexdigest(), received_at=AT, sender=envelope.sender,
        subject=envelope.subject, original_path="1.eml")
    store.record_decision(record.id, claim=result.claim, forms=list(result.forms), decision=result.decision,
                          reply=OutgoingReply(envelope.sender, "<r1@126.com>", b"Subject: x\r\n\r\nx\r\n"),
                          note=result.note)
    (entry,) = to_json(collect(ledger_engine))["submissions"]
    assert (entry["decision"], entry["total"], len(entry["lines"])) == ("accepted", 45, 2)


@pytest.mark.parametrize("kind", ["summary", "increase"])
def test_the_template_helper_draws_no_value(kind):
    texts = [t.text for t in empty_template(kind).texts]
    assert "附件1" in texts and "None" not in texts
    assert not any(t.isdigit() for t in texts)
