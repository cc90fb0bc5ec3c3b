"""Reconciliation rules: property-based over real catalogue rows, plus the cases the notices name."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from config.profile import load_profile
from domain.decision import Claim, Decision, Outcome, ReasonCode
from domain.forms import IncreaseForm, IncreaseLine, SummaryForm, SummaryLine
from domain.rules import check_form, reconcile
from domain.state import CertificateRef, LedgerState, UnitRef
from testkit.ledger import anhui_schools, catalogue

SCHOOLS = anhui_schools(6)
UNIT = SCHOOLS[0]["name"]
CERTS = tuple(
    CertificateRef(name=r["name"], organization=r["organization"], batch=r["batch"],
                   levels=frozenset(lv for lv in r["levels"].split("|") if lv))
    for r in catalogue()
)
STATE = LedgerState(
    units=tuple(UnitRef(name=s["name"], type=s["level"], city=s["city"],
                        aliases=("安大",) if s["name"] == "安徽大学" else ()) for s in SCHOOLS),
    certificates=CERTS,
)
SUMMARY = Claim(unit=UNIT, year=2025, kind="summary")
INCREASE = Claim(unit=UNIT, year=2025, kind="increase")
ALL_LEVELS = ("初级", "中级", "高级")
FAST = settings(max_examples=50, deadline=None)  # the machine is shared; 50 varied forms per rule suffice


def _offered(cert: CertificateRef) -> list[str]:
    return [lv for lv in ALL_LEVELS if not cert.levels or lv in cert.levels]


# (certificate, level) pairs the catalogue allows, drawn without repetition.
valid_pairs = st.lists(
    st.sampled_from(CERTS).flatmap(lambda c: st.tuples(st.just(c.name), st.sampled_from(_offered(c)))),
    min_size=1, max_size=8, unique=True)


@st.composite
def valid_summaries(draw) -> SummaryForm:
    pairs = draw(valid_pairs)
    counts = draw(st.lists(st.integers(1, 500), min_size=len(pairs), max_size=len(pairs)))
    lines = tuple(SummaryLine(row=i + 1, certificate=c, level=lv, count=n)
                  for i, ((c, lv), n) in enumerate(zip(pairs, counts)))
    return SummaryForm(unit=UNIT, stamp=True, total=sum(counts), lines=lines)


@st.composite
def quotas_and_increases(draw):
    pairs = draw(valid_pairs)
    approved = draw(st.lists(st.integers(1, 300), min_size=len(pairs), max_size=len(pairs)))
    raise_by = draw(st.lists(st.integers(1, 100), min_size=len(pairs), max_size=len(pairs)))
    quotas = {(2025, UNIT, c, lv): a for (c, lv), a in zip(pairs, approved)}
    lines = tuple(IncreaseLine(row=i + 1, certificate=c, level=lv, approved=a, requested=a + r)
                  for i, ((c, lv), a, r) in enumerate(zip(pairs, approved, raise_by)))
    return replace(STATE, quotas=quotas), IncreaseForm(unit=UNIT, stamp=True, lines=lines)


@FAST
@given(valid_summaries())
def test_a_correct_summary_is_accepted(form):
    assert check_form(form, SUMMARY, STATE) == []
    assert reconcile([(form, "汇总表.pdf", 1)], SUMMARY, STATE).outcome == Outcome.ACCEPTED


@FAST
@given(valid_summaries(), st.integers(-50, 50).filter(bool))
def test_a_wrong_total_names_the_read_and_the_expected_sum(form, delta):
    wrong = replace(form, total=form.total + delta)
    [reason] = check_form(wrong, SUMMARY, STATE, page=2, attachment="汇总表.pdf")
    assert reason.code == ReasonCode.FORM_TOTAL_MISMATCH
    assert (reason.column, reason.value, reason.expected) == ("合计", str(form.total + delta), str(form.total))
    assert (reason.page, reason.attachment) == (2, "汇总表.pdf")


@FAST
@given(valid_summaries(), st.data())
def test_an_unsure_line_asks_for_review_not_rejection(form, data):
    index = data.draw(st.integers(0, len(form.lines) - 1))
    # The reader was unsure of this line and may have misread its count: no rejection follows.
    unsure = replace(form.lines[index], confident=False, count=form.lines[index].count + 7)
    form = replace(form, lines=form.lines[:index] + (unsure,) + form.lines[index + 1:])
    reasons = check_form(form, SUMMARY, STATE)
    assert [(r.code, r.row) for r in reasons] == [(ReasonCode.OCR_LOW_CONFIDENCE, unsure.row)]
    assert Decision.from_reasons(reasons).outcome == Outcome.REVIEW


@FAST
@given(valid_summaries(), st.data())
def test_a_repeated_row_is_named_with_both_rows(form, data):
    source = data.draw(st.sampled_from(form.lines))
    copy = replace(source, row=len(form.lines) + 1)
    form = replace(form, lines=form.lines + (copy,), total=form.total + copy.count)
    [reason] = check_form(form, SUMMARY, STATE)
    assert reason.code == ReasonCode.FORM_TOTAL_MISMATCH and reason.row == copy.row
    assert f"第{source.row}行" in reason.detail


@FAST
@given(quotas_and_increases())
def test_a_true_increase_is_accepted(case):
    state, form = case
    assert check_form(form, INCREASE, state) == []


@FAST
@given(quotas_and_increases(), st.data())
def test_an_increase_must_quote_the_approved_number_and_raise_it(case, data):
    state, form = case
    index = data.draw(st.integers(0, len(form.lines) - 1))
    line = form.lines[index]
    quoted = data.draw(st.integers(0, 400).filter(lambda n: n != line.approved))
    requested = data.draw(st.integers(0, line.approved))  # not more than approved: no increase
    bad = replace(line, approved=quoted, requested=requested)
    form = replace(form, lines=form.lines[:index] + (bad,) + form.lines[index + 1:])
    reasons = check_form(form, INCREASE, state)
    assert [(r.code, r.row, r.column, r.value, r.expected) for r in reasons] == [
        (ReasonCode.QUOTA_ORIGINAL_MISMATCH, bad.row, "原批准人数", str(quoted), str(line.approved)),
        (ReasonCode.QUOTA_NOT_INCREASE, bad.row, "调增后人数", str(requested), f"大于{line.approved}"),
    ]


@FAST
@given(quotas_and_increases())
def test_an_increase_without_an_approved_quota_is_refused(case):
    state, form = case
    missing = form.lines[-1]
    quotas = {k: v for k, v in state.quotas.items() if k[2:] != (missing.certificate, missing.level)}
    reasons = check_form(form, INCREASE, replace(state, quotas=quotas))
    assert [(r.code, r.row) for r in reasons] == [(ReasonCode.QUOTA_NOT_APPROVED, missing.row)]


def test_unknown_certificate_and_level_not_offered():
    form = SummaryForm(unit=UNIT, stamp=True, total=15, lines=(
        SummaryLine(row=1, certificate="无人机驾驶员", level="初级", count=5, certificate_read="无人机驾驶员",
                    certificate_matched=False),
        SummaryLine(row=2, certificate="工业机器人操作与运维", level="初级", count=10),
    ))
    reasons = check_form(form, SUMMARY, STATE)
    assert [(r.code, r.row, r.column, r.value, r.expected) for r in reasons] == [
        (ReasonCode.CERT_UNKNOWN, 1, "职业技能等级证书", "无人机驾驶员", ""),
        (ReasonCode.CERT_LEVEL_INVALID, 2, "级别", "初级", "中级、高级"),
    ]


def test_unit_on_the_form_may_differ_in_width_and_spaces_or_be_an_alias():
    base = SummaryForm(unit=UNIT, stamp=True, total=5,
                       lines=(SummaryLine(row=1, certificate="物流管理", level="中级", count=5),))
    for written in (" 安徽 大学 ", "安大"):
        assert check_form(replace(base, unit=written), SUMMARY, STATE) == []
    [reason] = check_form(replace(base, unit=SCHOOLS[1]["name"]), SUMMARY, STATE)
    assert (reason.code, reason.value, reason.expected) == (ReasonCode.FORM_UNIT_MISMATCH, SCHOOLS[1]["name"], UNIT)
    # Read unsure: landing on the subject's unit (a look-alike 犬 for 大) leaves no doubt; another
    # unit's name or a name far from it goes to staff, never a rejection.
    assert check_form(replace(base, unit="安徽犬学", unit_confident=False), SUMMARY, STATE) == []
    for unsure in (SCHOOLS[1]["name"], "某某职业学校", ""):
        [reason] = check_form(replace(base, unit=unsure, unit_confident=False), SUMMARY, STATE)
        assert reason.code == ReasonCode.OCR_LOW_CONFIDENCE


def test_missing_stamp_empty_count_and_missing_total_reject():
    form = SummaryForm(unit=UNIT, stamp=False, total=None, lines=(
        SummaryLine(row=1, certificate="物流管理", level="中级", count=None),
    ))
    reasons = check_form(form, SUMMARY, STATE)
    assert [(r.code, r.row, r.column) for r in reasons] == [
        (ReasonCode.FORM_STAMP_MISSING, None, "校章"),
        (ReasonCode.FORM_TOTAL_MISMATCH, 1, "拟申报人数"),
    ]
    assert Decision.from_reasons(reasons).outcome == Outcome.REJECTED
    no_total = replace(form, stamp=True, lines=(replace(form.lines[0], count=5),))
    [reason] = check_form(no_total, SUMMARY, STATE)
    assert (reason.code, reason.value, reason.expected) == (ReasonCode.FORM_TOTAL_MISMATCH, "", "5")


def test_reasons_use_the_profiles_header_texts():
    rule = load_profile("jiangsu-2024").form("increase")
    state = replace(STATE, quotas={(2025, UNIT, "物流管理", "中级"): 20})
    form = IncreaseForm(unit=UNIT, stamp=True, lines=(
        IncreaseLine(row=1, certificate="物流管理", level="中级", approved=20, requested=20),))
    [reason] = check_form(form, INCREASE, state, columns=rule.column_names())
    assert (reason.code, reason.column) == (ReasonCode.QUOTA_NOT_INCREASE, "调整后人数")


def test_an_unsure_stamp_or_table_goes_to_review_never_to_rejection():
    from dataclasses import replace

    from domain.decision import Claim, Decision, Outcome, ReasonCode
    from domain.forms import SummaryForm, SummaryLine
    from domain.rules import check_form
    from domain.state import CertificateRef, LedgerState, UnitRef

    state = LedgerState(units=(UnitRef("安徽大学"),),
                        certificates=(CertificateRef("物流管理", levels=frozenset({"初级"})),))
    claim = Claim("安徽大学", 2025, "summary")
    form = SummaryForm(unit="安徽大学", stamp=False, total=10,
                       lines=(SummaryLine(1, "物流管理", "初级", 10),), stamp_confident=False)
    reasons = check_form(form, claim, state)
    assert [r.code for r in reasons] == [ReasonCode.OCR_LOW_CONFIDENCE]
    assert Decision.from_reasons(reasons).outcome is Outcome.REVIEW

    sure_absent = replace(form, stamp_confident=True)
    assert [r.code for r in check_form(sure_absent, claim, state)] == [ReasonCode.FORM_STAMP_MISSING]

    no_table = replace(form, stamp=True, lines=(), total=None, table_confident=False)
    assert Decision.from_reasons(check_form(no_table, claim, state)).outcome is Outcome.REVIEW


def test_an_approved_number_read_two_ways_is_settled_by_the_ledger():
    """原批准人数 read 20 and 28 by the two engines, the ledger approved 20: the line is sure. A line
    also unsure of another field, or whose readings miss the ledger's number, stays in doubt."""
    from domain.rules import settle_with_ledger

    key = (INCREASE.year, INCREASE.unit, "物流管理", "中级")
    state = replace(STATE, quotas={**STATE.quotas, key: 20})
    unsure = IncreaseLine(row=1, certificate="物流管理", level="中级", approved=28, requested=35, confident=False,
                          unsure=("approved",), approved_options=(28, 20))
    form = IncreaseForm(unit=UNIT, stamp=True, lines=(unsure,))
    settled, rows = settle_with_ledger(form, INCREASE, state)
    assert rows == (1,) and settled.lines[0].approved == 20 and settled.lines[0].confident
    assert check_form(settled, INCREASE, state) == []
    for other in (replace(unsure, unsure=("approved", "requested")), replace(unsure, approved_options=(28, 26))):
        kept, rows = settle_with_ledger(replace(form, lines=(other,)), INCREASE, state)
        assert rows == () and not kept.lines[0].confident
