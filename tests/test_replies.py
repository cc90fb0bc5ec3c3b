"""Replies as a school reads them, and as a mail server and client parse them."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import datetime, timezone

import pytest

from config.profile import load_profile
from domain.decision import Claim, Decision, Outcome, Reason, ReasonCode
from domain.forms import IncreaseForm, IncreaseLine, SummaryForm, SummaryLine
from intake.message import decode
from intake.replies import (
    build_reply,
    load_templates,
    new_reply_message_id,
    render_body,
)
from testkit import eml_corpus as corpus

PROFILE = load_profile("anhui-2025")
ARRIVED = datetime(2025, 3, 20, 2, 15, tzinfo=timezone.utc)  # 10:15 in Beijing
NOW = datetime(2025, 3, 20, 2, 16, 30, tzinfo=timezone.utc)
OFFICE = "ahxzsbg@126.com"
REPLY_ID = "<intake.anhui-2025.0001@126.com>"
CLAIM = Claim(unit=corpus.UNIT, year=2025, kind="summary", subject_unit="安徽商职院")
SUMMARY = SummaryForm(
    unit=corpus.UNIT, stamp=True, total=42,
    lines=(SummaryLine(1, "建筑信息模型（BIM）", "初级", 30), SummaryLine(2, "物流管理", "中级", 12)),
)


def _envelope(raw: bytes | None = None):
    raw = raw or corpus.build(
        subject=corpus.encode_header(corpus.SUBJECT, "gbk"),
        headers=((b"References", b"<root@ahbvc.edu.cn> <prev@126.com>"),),
        parts=(corpus.named(corpus.make_zip([("汇总表.pdf", corpus.sample_pdf())]), "application/zip", "申报材料.zip"),
               corpus.named(corpus.sample_image("JPEG"), "image/jpeg", "附件2.jpg")),
    )
    return decode(raw, ARRIVED)


def _reply(decision: Decision, *, claim=CLAIM, forms=(SUMMARY,), envelope=None, **kwargs) -> bytes:
    envelope = envelope or _envelope()
    return build_reply(envelope=envelope, decision=decision, claim=claim, forms=list(forms), profile=PROFILE,
                       from_addr=OFFICE, to_addr=envelope.sender, reply_message_id=REPLY_ID, now=NOW, **kwargs)


def _parsed(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)


def _body(raw: bytes) -> str:
    """The text a mail client shows (the wire form has CRLF line ends)."""
    return _parsed(raw).get_content().replace("\r\n", "\n")


REJECTED = Decision.from_reasons([
    Reason(ReasonCode.FORM_TOTAL_MISMATCH, detail="各行人数之和为42人，合计栏填写40人",
           attachment="汇总表.pdf", page=1, column="合计", value="40", expected="42"),
    Reason(ReasonCode.CERT_LEVEL_INVALID, attachment="汇总表.pdf", page=1, row=2, column="级别",
           value="特级", expected="初级、中级或高级"),
])


def test_headers_thread_identify_and_classify_the_reply():
    raw = _reply(REJECTED)
    message = _parsed(raw)
    assert message["Subject"] == f"回复：{corpus.SUBJECT}"
    assert message["Message-ID"] == REPLY_ID
    assert message["In-Reply-To"] == "<case-0001@ahbvc.edu.cn>"
    assert message["References"].split() == ["<root@ahbvc.edu.cn>", "<prev@126.com>", "<case-0001@ahbvc.edu.cn>"]
    assert message["Auto-Submitted"] == "auto-replied"
    assert message["X-Intake-Decision"] == "rejected"
    assert message["X-Intake-Reasons"] == "form.total_mismatch,cert.level_invalid"
    assert message["From"].addresses[0].addr_spec == OFFICE
    assert message["From"].addresses[0].display_name == PROFILE.office
    assert message["To"].addresses[0].addr_spec == corpus.SENDER
    assert message["Date"] == "Thu, 20 Mar 2025 10:16:30 +0800"
    assert message.get_content_type() == "text/plain" and message.get_content_charset() == "utf-8"


def test_wire_format_is_ascii_crlf_with_short_lines():
    raw = _reply(REJECTED)
    assert raw.isascii()  # RFC 2047 headers, base64 body: safe for any SMTP server
    lines = raw.split(b"\r\n")
    assert all(len(line) <= 78 for line in lines)
    assert b"\n" not in raw.replace(b"\r\n", b"")


def test_accepted_header_has_empty_reasons_and_our_decoder_reads_the_reply_back():
    raw = _reply(Decision.from_reasons([]))
    assert _parsed(raw)["X-Intake-Decision"] == "accepted"
    assert _parsed(raw)["X-Intake-Reasons"] == ""
    back = decode(raw, NOW)
    assert back.subject == f"回复：{corpus.SUBJECT}"
    assert back.auto_generated  # a reply that comes back is never answered
    assert back.sender == OFFICE


def test_rejected_body_names_every_problem_with_place_value_expected_and_fix():
    body = _body(_reply(REJECTED))
    assert body.startswith(f"{corpus.UNIT}：")
    assert "单位：安徽商贸职业技术学院（邮件主题中写作“安徽商职院”）" in body
    assert "申报类型：申报学校汇总表（2025年）" in body
    assert "附件：申报材料.zip 中的 汇总表.pdf、附件2.jpg" in body
    assert "收到时间：2025年03月20日 10:15（北京时间）" in body
    assert "处理结果：未受理" in body
    assert "需要修改的问题（共2项）" in body
    assert "位置：附件“汇总表.pdf”第1页，“合计”栏" in body
    assert "说明：各行人数之和为42人，合计栏填写40人。" in body
    assert "位置：附件“汇总表.pdf”第1页，第2行，“级别”栏" in body
    assert "读到的内容：特级" in body and "应为：初级、中级或高级" in body
    templates = load_templates()
    for code in ("form.total_mismatch", "cert.level_invalid"):
        what, fix = templates.reason(code)
        assert what in body and fix in body
    assert "建筑信息模型" not in body  # nothing was recorded, so no table
    assert PROFILE.signature in body and body.rstrip().endswith("2025年03月20日")


def test_accepted_summary_lists_what_was_recorded():
    body = _body(_reply(Decision.from_reasons([])))
    assert "处理结果：已受理" in body
    assert "三、登记的申报内容" in body
    assert "1｜建筑信息模型（BIM）｜初级｜30人" in body
    assert "2｜物流管理｜中级｜12人" in body
    assert "合计：42人" in body
    assert "需要修改" not in body


def test_accepted_increase_shows_old_and_new_quota():
    claim = Claim(unit=corpus.UNIT, year=2025, kind="increase")
    form = IncreaseForm(unit=corpus.UNIT, stamp=True, lines=(IncreaseLine(1, "物流管理", "中级", 12, 20),))
    body = _body(_reply(Decision.from_reasons([]), claim=claim, forms=(form,),
                          quota_changes=[("物流管理", "中级", 12, 20)]))
    assert "申报类型：指标调增申请表（2025年）" in body
    assert "指标已按下表调整" in body
    assert "物流管理｜中级｜12人 → 20人" in body


def test_review_says_staff_will_check_and_shows_what_was_read():
    decision = Decision.from_reasons([Reason(
        ReasonCode.SENDER_UNVERIFIED, detail="发件邮箱“a@qq.com”不是安徽商贸职业技术学院登记的联系邮箱，工作人员核实后将另行回复",
        column="发件人", value="a@qq.com")])
    raw = _reply(decision)
    assert _parsed(raw)["X-Intake-Decision"] == "review"
    body = _body(raw)
    assert "待工作人员审核" in body and "请勿重复发送" in body
    assert "需要核对的情况（共1项）" in body
    assert "无需重新发送" in body
    assert "四、系统读取到的内容（以工作人员核对结果为准）" in body


def test_a_review_reason_inside_a_rejection_does_not_say_no_resend():
    decision = Decision.from_reasons([
        Reason(ReasonCode.FORM_STAMP_MISSING, attachment="汇总表.pdf", page=1),
        Reason(ReasonCode.SENDER_UNVERIFIED, column="发件人", value="a@qq.com"),
    ])
    body = _body(_reply(decision))
    assert decision.outcome is Outcome.REJECTED
    assert "无需重新发送" not in body
    assert "重新发送时请使用本单位登记的联系邮箱" in body


@pytest.mark.parametrize("code", list(ReasonCode))
def test_every_reason_code_has_chinese_wording_and_codes_stay_out_of_the_prose(code):
    templates = load_templates()
    what, fix = templates.reason(str(code))
    assert str(code) in templates.reasons and f"{code}.fix" in templates.reasons
    body = render_body(envelope=_envelope(), decision=Decision.from_reasons([Reason(code)]), claim=CLAIM,
                       forms=[], profile=PROFILE, now=NOW)
    assert what in body and fix in body
    assert not any(str(c) in body for c in ReasonCode)
    assert not re.search(r"\b(accepted|rejected|review|None)\b", body)


def test_reply_without_claim_greets_politely_and_quotes_expected_subject():
    envelope = _envelope(corpus.build(subject=corpus.encode_header("申报材料")))
    decision = Decision.from_reasons([Reason(ReasonCode.SUBJECT_MALFORMED, detail="邮件主题应写作“单位全称+2025年证书申报”",
                                             column="邮件主题", value="申报材料", expected="单位全称+2025年证书申报")])
    body = _body(_reply(decision, claim=None, forms=(), envelope=envelope))
    assert body.startswith("老师：")
    assert "附件：无" in body
    assert "应为：单位全称+2025年证书申报" in body
    assert "申报类型" not in body


def test_same_inputs_give_the_same_bytes_so_a_retry_is_recognisable():
    assert _reply(REJECTED) == _reply(REJECTED)


def test_hostile_subject_cannot_inject_headers():
    envelope = _envelope(corpus.build(subject=corpus.encode_header("申报\r\nBcc: evil@example.com")))
    message = _parsed(_reply(REJECTED, envelope=envelope))
    assert message["Bcc"] is None
    assert message["Subject"] == "回复：申报 Bcc: evil@example.com"


def test_empty_subject_and_long_reference_chains():
    refs = b" ".join(b"<r%d@x.cn>" % i for i in range(40))
    envelope = _envelope(corpus.build(subject=b"", headers=((b"References", refs),)))
    message = _parsed(_reply(REJECTED, envelope=envelope))
    assert message["Subject"] == "回复：（无主题）"
    references = message["References"].split()
    assert len(references) == 20 and references[0] == "<r0@x.cn>" and references[-1] == envelope.message_id


def test_naive_now_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        build_reply(envelope=_envelope(), decision=REJECTED, claim=CLAIM, forms=[], profile=PROFILE,
                    from_addr=OFFICE, to_addr=corpus.SENDER, reply_message_id=REPLY_ID, now=datetime(2025, 3, 20))


def test_a_message_without_a_sender_cannot_be_answered():
    envelope = _envelope(corpus.build(subject=b"x", sender=b""))
    with pytest.raises(ValueError, match="recipient"):
        _reply(REJECTED, envelope=envelope)


def test_new_reply_message_id_is_unique_and_in_the_office_domain():
    ids = {new_reply_message_id(PROFILE) for _ in range(100)}
    assert len(ids) == 100
    assert all(re.fullmatch(r"<intake\.anhui-2025\.[0-9a-f]{32}@126\.com>", i) for i in ids)


def test_templates_can_be_overridden_line_by_line(tmp_path):
    (tmp_path / "reasons.txt").write_text("form.stamp_missing = 申报表缺少公章。\n", encoding="utf-8")
    templates = load_templates(tmp_path)
    assert templates.reason("form.stamp_missing")[0] == "申报表缺少公章。"
    assert templates.reason("cert.unknown") == load_templates().reason("cert.unknown")  # the rest is kept
    body = render_body(envelope=_envelope(), decision=Decision.from_reasons([Reason(ReasonCode.FORM_STAMP_MISSING)]),
                       claim=CLAIM, forms=[], profile=PROFILE, now=NOW, templates=templates)
    assert "申报表缺少公章。" in body


def test_a_broken_template_line_is_reported_with_file_and_line(tmp_path):
    (tmp_path / "phrases.txt").write_text("# ok\nthis line has no equals sign\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"phrases\.txt, line 2"):
        load_templates(tmp_path)
