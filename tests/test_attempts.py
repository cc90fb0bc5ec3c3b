"""No rejection for mail that is not a submission (issue 14, part 4).

A meeting receipt (关于参加…培训会议的回执, a Word file attached) once got a reply saying
its subject was malformed and its attachment unreadable. Whatever the "…" holds — 1+X证书,
申报, a unit's name, even a subject that looks like the rule — it is no attempt: no reply,
recorded as ignored with the reason, filed for staff. A school's real attempt with a
sloppy subject still gets its ``subject.malformed`` reply, quoting the rule of the form
found in its attachment.
"""

from __future__ import annotations

import functools
from datetime import datetime, timezone

import pytest

from config.profile import PROFILE_DIR, load_profile, parse_profile
from domain.decision import Outcome, ReasonCode
from domain.state import CertificateRef, LedgerState, UnitRef
from intake.message import decode
from intake.pipeline import AUTO_GENERATED, NOT_ATTEMPT, process
from intake.subject import attempt_hints, is_submission_attempt
from parsers.reader import read_attachment
from testkit import eml_corpus as corpus
from testkit.form_pages import (
    DOCX_TYPE,
    empty_template,
    filled,
    increase_spec,
    pdf_of,
    summary_spec,
    word_document,
)

PROFILE = load_profile("anhui-2025")
AT = datetime(2025, 3, 20, 2, 15, tzinfo=timezone.utc)
UNIT = corpus.UNIT
LEVELS = frozenset({"初级", "中级", "高级"})
STATE = LedgerState(
    units=(UnitRef(UNIT, contacts=(corpus.SENDER,)), UnitRef("安徽职业技术学院"), UnitRef("合肥职业技术学院")),
    certificates=(CertificateRef("Web前端开发", levels=LEVELS),),
    quotas={(2025, UNIT, "Web前端开发", "初级"): 30},
)

RECEIPTS = [
    "安徽XX职业技术学院关于参加2025年1+X证书培训会议的回执",
    f"{UNIT}关于参加2025年1+X证书培训会议的回执",
    "关于参加2025年1+X证书申报培训会议的回执",
    f"{UNIT}关于参加2025年1+X证书申报工作培训会的回执",
    f"{UNIT}+2025年证书申报培训会议回执",  # follows the rule, then says what it is
    f"回复：{UNIT}+2025年证书申报培训会议回执",
    "2025年1+X证书制度试点培训会议报名回执（安徽商贸职业技术学院）",
    "会议回执",
]


class CountingReader:
    def __init__(self):
        self.files: list[str] = []

    def __call__(self, data, filename, **kwargs):
        self.files.append(filename)
        return read_attachment(data, filename, **kwargs)


@functools.cache
def summary_pdf() -> bytes:
    return pdf_of([filled(summary_spec(UNIT, [("Web前端开发", "初级", 30)]))])


@functools.cache
def increase_pdf() -> bytes:
    return pdf_of([filled(increase_spec(UNIT, [("Web前端开发", "初级", 30, 40)]))])


def receipt(subject: str, *extra: corpus.Part):
    return decode(corpus.submission(
        corpus.encode_header(subject), corpus.named(word_document("参会回执：姓名、职务、电话"), DOCX_TYPE, "回执.docx"),
        *extra), AT)


@pytest.mark.parametrize("subject", RECEIPTS)
def test_a_meeting_receipt_gets_no_reply_whatever_its_subject_holds(subject):
    reader = CountingReader()
    result = process(receipt(subject), PROFILE, STATE, read=reader)
    assert result.decision is None, result.decision
    assert result.note.startswith(NOT_ATTEMPT) and result.other_mail
    assert "“回执”" in result.note or "“会议”" in result.note or "“培训”" in result.note
    assert reader.files == []  # a Word file is not read: nothing to look for
    assert not is_submission_attempt(receipt(subject), PROFILE, STATE.units)


def test_a_receipt_with_a_pdf_holding_no_filled_form_is_no_attempt_either():
    """The receipt printed to PDF on the notice's template page: read, but no line in it."""
    blank = pdf_of([empty_template("summary")])
    envelope = decode(corpus.submission(corpus.encode_header(f"{UNIT}关于参加2025年1+X证书申报培训会议的回执"),
                                        corpus.named(blank, "application/pdf", "回执.pdf")), AT)
    reader = CountingReader()
    result = process(envelope, PROFILE, STATE, read=reader)
    assert reader.files == ["回执.pdf"]
    assert result.decision is None and result.note.startswith(NOT_ATTEMPT)
    assert "附件中没有读到填写了内容的申报表" in result.note


def test_a_filled_form_makes_even_a_receipt_subject_an_attempt():
    envelope = receipt("回复：关于开展2025年1+X证书申报工作的通知",
                       corpus.named(summary_pdf(), "application/pdf", "汇总表.pdf"))
    result = process(envelope, PROFILE, STATE)
    assert result.decision is not None and result.decision.codes[0] == "subject.malformed"


def test_a_sloppy_subject_with_a_form_gets_subject_malformed_quoting_that_forms_rule():
    # "材料" and "请查收" carry no submission word: the form in the attachment makes it an attempt.
    for subject in ("请查收", f"{UNIT}材料"):
        envelope = decode(corpus.submission(corpus.encode_header(subject),
                                            corpus.named(increase_pdf(), "application/pdf", "scan001.pdf")), AT)
        result = process(envelope, PROFILE, STATE)
        assert result.decision.outcome is Outcome.REJECTED
        malformed = result.decision.reasons[0]
        assert malformed.code is ReasonCode.SUBJECT_MALFORMED
        assert malformed.expected.endswith("+2025年证书指标调增申请"), malformed.expected  # the increase rule
        assert malformed.value == subject
    unit_named = process(decode(corpus.submission(corpus.encode_header(f"{UNIT}材料"), corpus.named(
        increase_pdf(), "application/pdf", "scan001.pdf")), AT), PROFILE, STATE)
    assert unit_named.decision.reasons[0].expected == f"{UNIT}+2025年证书指标调增申请"


def test_a_sloppy_subject_with_submission_words_is_an_attempt_without_reading():
    envelope = decode(corpus.submission(corpus.encode_header(f"{UNIT}证书申报材料"),
                                        corpus.named(corpus.sample_pdf(), "application/pdf", "汇总表.pdf")), AT)
    result = process(envelope, PROFILE, STATE)
    assert result.decision.codes == ["subject.malformed"]
    assert result.decision.reasons[0].expected == f"{UNIT}+2025年证书申报"


def test_a_question_without_attachment_is_no_attempt_and_says_why():
    result = process(decode(corpus.not_a_submission(), AT), PROFILE, STATE)
    assert result.decision is None
    assert result.note == f"{NOT_ATTEMPT}: 主题不符合命名规则，也没有申报字样或试点单位名称；没有附件"


def test_auto_generated_mail_stays_auto_generated():
    result = process(decode(corpus.auto_reply(), AT), PROFILE, STATE)
    assert result.decision is None and result.note.startswith(AUTO_GENERATED) and not result.other_mail


def test_a_rule_subject_is_an_attempt_even_with_an_unknown_unit_or_a_wrong_year():
    for subject in ("某某职业学院+2025年证书申报", f"{UNIT}+2024年证书申报"):
        hints = attempt_hints(receipt(subject), PROFILE, STATE.units)
        assert hints.rule and not hints.marker and hints.attempt
        result = process(receipt(subject), PROFILE, STATE)
        assert result.decision is not None


def test_a_units_own_name_is_no_marker():
    """A school named …培训学院 writing the rule's subject is an attempt, not a training notice."""
    units = (*STATE.units, UnitRef("安徽汽车工业培训学院"))
    hints = attempt_hints(receipt("安徽汽车工业培训学院+2025年证书申报"), PROFILE, units)
    assert hints.rule and hints.marker == ""


def test_the_word_lists_are_profile_configuration(tmp_path):
    text = (PROFILE_DIR / "anhui-2025.toml").read_text(encoding="utf-8")
    # A new word is a config change: 致谢 (a thank-you note) marks other mail from now on.
    changed = parse_profile(text.replace('"代办"]', '"代办", "致谢"]'), "test.toml")
    subject = f"{UNIT}证书申报工作致谢"
    assert is_submission_attempt(receipt(subject), PROFILE, STATE.units)
    assert not is_submission_attempt(receipt(subject), changed, STATE.units)
    # Without [attempts] the defaults apply; without folders.other, other mail goes to the ignored folder.
    bare = text[: text.index("[attempts]")] + text[text.index("[[forms]]"):]
    bare = bare.replace('other = "其他来信"', "")
    profile = parse_profile(bare, "bare.toml")
    assert profile.attempts == PROFILE.attempts
    assert profile.folders.other_mail == profile.folders.ignored == "已忽略"
    assert PROFILE.folders.other_mail == "其他来信"


def test_a_rule_subject_with_a_marker_counts_by_any_page_read_as_the_form():
    """`…+2025年证书申报（按通知要求盖章）` with a scan whose table the reader could not find: the
    school's form all the same (staff look at it); without a rule-following subject an empty
    form page proves nothing (see the 附件1 receipt above)."""
    blank = pdf_of([empty_template("summary")])
    subject = f"{UNIT}+2025年证书申报（按通知要求盖章）"
    assert attempt_hints(receipt(subject), PROFILE, STATE.units).marker == "通知"
    envelope = decode(corpus.submission(corpus.encode_header(subject),
                                        corpus.named(blank, "application/pdf", "扫描件.pdf")), AT)
    result = process(envelope, PROFILE, STATE)
    assert result.decision is not None and result.claim is not None and len(result.forms) == 1
    assert result.decision.outcome is not Outcome.ACCEPTED
