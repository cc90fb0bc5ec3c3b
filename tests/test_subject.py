"""Subject rules against the real list of pilot schools (config/data/schools.csv)."""

from __future__ import annotations

import csv
import unicodedata
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config.profile import load_profile
from domain.decision import ReasonCode
from domain.state import UnitRef
from intake.message import decode
from intake.subject import (
    check_sender,
    check_window,
    is_submission_attempt,
    normalise,
    parse_subject,
    reply_address,
    resolve_unit,
)
from testkit import eml_corpus as corpus

SCHOOLS = Path(__file__).resolve().parents[1] / "config" / "data" / "schools.csv"
ANHUI = load_profile("anhui-2025")
JIANGSU = load_profile("jiangsu-2024")
SHANGHAI = timezone(timedelta(hours=8))


def _units() -> tuple[UnitRef, ...]:
    with SCHOOLS.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    units = [UnitRef(name=r["name"], type=r["level"], city=r["city"]) for r in rows]
    units.append(UnitRef("合肥市教育局", type="市教育局", city="合肥市", aliases=("合肥市教体局",)))
    # The corpus school, with its alias and registered contacts.
    return tuple(
        replace(u, aliases=("安徽商职院",), contacts=(corpus.SENDER, "office@ahbvc.edu.cn"))
        if u.name == corpus.UNIT else u
        for u in units
    )


UNITS = _units()
UNIT = next(u for u in UNITS if u.name == corpus.UNIT)


@pytest.mark.parametrize(("raw", "expected"), [
    ("回复：Re: 安徽商贸职业技术学院 ＋ ２０２５年证书申报", "安徽商贸职业技术学院 + 2025年证书申报"),
    ("Fwd: FW:转发: 【安徽商贸职业技术学院+2025年证书申报】", "安徽商贸职业技术学院+2025年证书申报"),
    ("RE[2]: [a+b]", "a+b"),
    ("答复: \u200b安徽+2025 。", "安徽+2025"),
    ("【通知】第1期【重要】", "【通知】第1期【重要】"),
    ("", ""),
])
def test_normalise(raw, expected):
    assert normalise(raw) == expected


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_normalise_is_idempotent_and_total(text):
    once = normalise(text)
    assert normalise(once) == once
    assert once == once.strip()


_DECORATIONS = st.tuples(
    st.sampled_from(["", "回复：", "Re: ", "RE:Fw: ", "转发:", "答复： "]),
    st.sampled_from(["+", "＋", " + ", " ＋ ", "", " "]),
    st.sampled_from(["2025", "２０２５"]),
    st.sampled_from([("", ""), ("【", "】"), ("[", "]")]),
)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(UNITS), _DECORATIONS, st.sampled_from(["summary", "increase"]))
def test_any_real_unit_in_any_decoration_is_claimed(unit, decoration, kind):
    prefix, plus, year, (left, right) = decoration
    suffix = ANHUI.form(kind).subject_suffix.replace("2025", year)
    subject = f"{prefix}{left}{unit.name}{plus}{suffix}{right}"
    result = parse_subject(subject, ANHUI, UNITS)
    assert result.reasons == ()
    assert (result.claim.unit, result.claim.year, result.claim.kind) == (unit.name, 2025, kind)


def test_alias_and_trailing_remark_are_accepted():
    result = parse_subject("安徽商职院+2025年证书指标调增申请（补交）", ANHUI, UNITS)
    assert result.reasons == ()
    assert (result.claim.unit, result.claim.kind, result.claim.subject_unit) == (corpus.UNIT, "increase", "安徽商职院")


def test_resolve_unit_exact_alias_fuzzy_and_refusals():
    assert resolve_unit(" 安徽商贸职业技术学院 ", UNITS) is UNIT
    assert resolve_unit("合肥市教体局", UNITS).name == "合肥市教育局"
    assert resolve_unit("安微商贸职业技术学院", UNITS) is UNIT  # one wrong character, clearly best
    assert resolve_unit("安徽商贸职业技术学", UNITS) is UNIT  # one missing character
    # 安徽商贸 and 安徽工贸 differ by one character: a typo there could be either.
    assert resolve_unit("安徽X贸职业技术学院", UNITS) is None
    assert resolve_unit("南京大学", UNITS).name == "南京大学"
    assert resolve_unit("南京大学金陵学院", UNITS).name == "南京大学金陵学院"
    assert resolve_unit("南京农大", UNITS) is None  # too far from 南京农业大学 to guess
    assert resolve_unit("", UNITS) is None


def test_alias_shared_by_two_units_resolves_nothing():
    units = (UnitRef("甲学院", aliases=("同名",)), UnitRef("乙学院", aliases=("同名",)))
    assert resolve_unit("同名", units) is None


def test_unknown_unit():
    result = parse_subject("某某职业学院+2025年证书申报", ANHUI, UNITS)
    assert result.claim is None
    (reason,) = result.reasons
    assert reason.code is ReasonCode.SUBJECT_UNKNOWN_UNIT and reason.value == "某某职业学院"


def test_wrong_year_keeps_the_claim_and_quotes_the_right_subject():
    result = parse_subject("安徽商贸职业技术学院+2024年证书申报", ANHUI, UNITS)
    assert (result.claim.unit, result.claim.year) == (corpus.UNIT, 2024)
    (reason,) = result.reasons
    assert reason.code is ReasonCode.SUBJECT_WRONG_YEAR
    assert (reason.value, reason.expected) == ("2024年", "安徽商贸职业技术学院+2025年证书申报")


@pytest.mark.parametrize(("subject", "expected"), [
    ("安徽商贸职业技术学院 证书申报材料", "安徽商贸职业技术学院+2025年证书申报"),
    ("安徽商贸职业技术学院+2025年证书申报调增", "安徽商贸职业技术学院+2025年证书指标调增申请"),
    ("关于安徽商职院指标调增的申请", "安徽商贸职业技术学院+2025年证书指标调增申请"),
    ("申报材料", "单位全称+2025年证书申报"),
    ("", "单位全称+2025年证书申报"),
])
def test_malformed_subject_quotes_the_exact_expected_form(subject, expected):
    result = parse_subject(subject, ANHUI, UNITS)
    assert result.claim is None
    (reason,) = result.reasons
    assert reason.code is ReasonCode.SUBJECT_MALFORMED
    assert reason.expected == expected
    assert expected in reason.detail


def test_jiangsu_profile_has_its_own_rule():
    good = parse_subject("南京大学+2024年证书申报调整申请", JIANGSU, UNITS)
    assert (good.claim.unit, good.claim.kind, good.reasons) == ("南京大学", "increase", ())
    bad = parse_subject("南京大学+2024年证书申报", JIANGSU, UNITS)
    assert bad.reasons[0].expected == "南京大学+2024年证书申报调整申请"


def test_window_uses_the_profile_zone_at_the_day_boundary():
    last_evening = datetime(2025, 4, 10, 23, 30, tzinfo=SHANGHAI)
    just_after = datetime(2025, 4, 11, 0, 10, tzinfo=SHANGHAI)
    assert check_window("summary", last_evening.astimezone(timezone.utc), ANHUI) is None
    reason = check_window("summary", just_after.astimezone(timezone.utc), ANHUI)
    assert reason.code is ReasonCode.WINDOW_CLOSED
    assert reason.value == "2025年04月11日 00:10"
    assert "2025年03月14日至2025年04月10日" in reason.expected
    assert "2025年09月15日至2025年09月19日" in reason.expected
    assert check_window("summary", datetime(2025, 9, 15, 0, 0, tzinfo=SHANGHAI), ANHUI) is None


def _envelope(**headers):
    extra = tuple((k.replace("_", "-").encode(), v.encode()) for k, v in headers.items())
    return decode(corpus.build(subject=corpus.encode_header(corpus.SUBJECT), headers=extra),
                  datetime(2025, 3, 20, 2, 15, tzinfo=timezone.utc))


def test_sender_registered_is_verified_case_insensitively():
    envelope = _envelope()
    assert check_sender(envelope, UNIT) is None
    assert check_sender(replace(envelope, sender=corpus.SENDER.upper()), UNIT) is None


def test_sender_not_registered_or_failing_authentication_is_unverified():
    stranger = replace(_envelope(), sender="someone@qq.com")
    reason = check_sender(stranger, UNIT)
    assert reason.code is ReasonCode.SENDER_UNVERIFIED and reason.value == "someone@qq.com"
    assert "office@ahbvc.edu.cn" not in reason.detail + reason.expected  # never leak contacts
    forged = _envelope(Authentication_Results="mx.126.com; spf=pass; dkim=fail; dmarc=fail")
    reason = check_sender(forged, UNIT)
    assert reason.code is ReasonCode.SENDER_UNVERIFIED and "DKIM/DMARC" in reason.detail
    assert check_sender(_envelope(Authentication_Results="mx.126.com; spf=pass; dkim=pass"), UNIT) is None
    assert check_sender(_envelope(), None).code is ReasonCode.SENDER_UNVERIFIED


def test_reply_address_uses_reply_to_only_when_registered():
    assert reply_address(_envelope(Reply_To="office@ahbvc.edu.cn"), UNIT) == "office@ahbvc.edu.cn"
    assert reply_address(_envelope(Reply_To="thief@example.com"), UNIT) == corpus.SENDER
    assert reply_address(_envelope(Reply_To="office@ahbvc.edu.cn"), None) == corpus.SENDER


@pytest.mark.parametrize("case", sorted(corpus.CASES))
def test_submission_attempts_in_the_corpus(case):
    build, _, _, no_reply = corpus.CASES[case]
    envelope = decode(build(), datetime(2025, 3, 20, 2, 15, tzinfo=timezone.utc))
    expected = not no_reply and case != "not_a_submission"
    assert is_submission_attempt(envelope, ANHUI, UNITS) is expected


def test_attempt_recognised_by_attachment_name_or_unit_name_alone():
    at = datetime(2025, 3, 20, 2, 15, tzinfo=timezone.utc)
    by_file = decode(corpus.submission(corpus.encode_header("材料"), corpus.named(
        corpus.sample_pdf(), "application/pdf", "汇总表（盖章）.pdf")), at)
    assert is_submission_attempt(by_file, ANHUI)
    by_unit = decode(corpus.submission(corpus.encode_header("安徽商贸职业技术学院"), corpus.named(
        corpus.sample_pdf(), "application/pdf", "scan0001.pdf")), at)
    assert is_submission_attempt(by_unit, ANHUI, UNITS)
    assert not is_submission_attempt(by_unit, ANHUI)  # nothing else hints at a submission


def test_a_message_without_sender_address_is_no_attempt():
    envelope = decode(corpus.submission(corpus.encode_header(corpus.SUBJECT), sender=b""),
                      datetime(2025, 3, 20, 2, 15, tzinfo=timezone.utc))
    assert envelope.sender == "" and not is_submission_attempt(envelope, ANHUI, UNITS)


def test_every_subject_reason_is_english_free_chinese():
    reasons = [
        *parse_subject("某某职业学院+2025年证书申报", ANHUI, UNITS).reasons,
        *parse_subject("安徽商贸职业技术学院+2024年证书申报", ANHUI, UNITS).reasons,
        *parse_subject("申报", ANHUI, UNITS).reasons,
        check_window("summary", datetime(2025, 5, 1, tzinfo=SHANGHAI), ANHUI),
    ]
    for reason in reasons:
        assert reason.detail and not any(
            unicodedata.category(c).startswith("L") and c.isascii() for c in reason.detail
        ), reason.detail


def test_a_malformed_subject_quotes_the_rule_of_the_form_found_when_known():
    assert parse_subject("请查收", ANHUI, UNITS, kind="increase").reasons[0].expected == "单位全称+2025年证书指标调增申请"
    assert parse_subject("请查收", ANHUI, UNITS, kind="summary").reasons[0].expected == "单位全称+2025年证书申报"
    named = parse_subject("安徽商贸职业技术学院 材料", ANHUI, UNITS, kind="increase")
    assert named.reasons[0].expected == "安徽商贸职业技术学院+2025年证书指标调增申请"
    # A subject that follows a rule is not re-read by the hint.
    assert parse_subject(corpus.SUBJECT, ANHUI, UNITS, kind="increase").claim.kind == "summary"
