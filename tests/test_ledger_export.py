"""Exports: the contract's JSON and the staff workbook, from a ledger filled the real way."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone

import pytest
from openpyxl import load_workbook

from config.profile import load_profile
from domain.decision import Claim, Decision, Outcome, Reason, ReasonCode
from domain.forms import IncreaseForm, IncreaseLine, SummaryForm, SummaryLine
from ledger.export import (
    CITY_HEADERS,
    DETAIL_HEADERS,
    EVENT_HEADERS,
    QUOTA_HEADERS,
    SUMMARY_HEADERS,
    collect,
    to_json,
    write_json,
    write_xlsx,
)
from ledger.imports import (
    CATALOG_COLUMNS,
    QUOTA_COLUMNS,
    UNIT_COLUMNS,
    import_catalog,
    import_quotas,
    import_units,
)
from ledger.store import OutgoingReply, Store
from testkit.ledger import anhui_schools, catalogue
from testkit.rosters import TYPES, write_csv

SHANGHAI = timezone(timedelta(hours=8))
# Two schools in 合肥市 and one elsewhere, so the per-city sheets have something to split.
SCHOOLS = [s for s in anhui_schools() if s["city"] == "合肥市"][:2] + \
          [s for s in anhui_schools() if s["city"] != "合肥市"][:1]
A, B, C = (s["name"] for s in SCHOOLS)
BIM, WEB = catalogue()[0]["name"], "Web前端开发"


@pytest.fixture
def ledger(ledger_engine, tmp_path):
    """Units, catalogue and quotas imported; two summaries (one superseded), one increase, one rejection."""
    import_units(ledger_engine, write_csv(tmp_path / "u.csv", UNIT_COLUMNS, [
        [s["name"], TYPES[s["level"]], s["city"], "", f"jwc{s['code']}@school.example.cn"] for s in SCHOOLS]))
    import_catalog(ledger_engine, write_csv(tmp_path / "c.csv", CATALOG_COLUMNS, [
        [r["batch"], r["name"], r["organization"], r["levels"].replace("|", ";")] for r in catalogue()]))
    import_quotas(ledger_engine, write_csv(tmp_path / "q.csv", QUOTA_COLUMNS, [
        [2025, A, BIM, "初级", 30], [2025, B, WEB, "中级", 12]]))
    store = Store(ledger_engine, load_profile("anhui-2025"))

    def mail(uid, unit, kind, at, forms, decision):
        raw = f"{uid}".encode()
        record, _ = store.record_message(
            mailbox="INBOX", uidvalidity=1, uid=uid, message_id=f"<{uid}@school.example.cn>",
            sha256=hashlib.sha256(raw).hexdigest(), received_at=at, sender="jwc@school.example.cn",
            subject=f"{unit}+2025年证书申报", original_path=f"{uid}.eml")
        reply = OutgoingReply("jwc@school.example.cn", f"<r{uid}@office.example.cn>", b"Subject: x\r\n\r\nx\r\n")
        store.record_decision(record.id, claim=Claim(unit, 2025, kind), forms=forms, decision=decision, reply=reply)

    day = datetime(2025, 3, 20, 9, 30, tzinfo=SHANGHAI)
    accepted = Decision(Outcome.ACCEPTED)
    mail(1, A, "summary", day, [SummaryForm(A, True, 20, (SummaryLine(1, BIM, "初级", 20),))], accepted)
    mail(2, A, "summary", day + timedelta(days=1), [SummaryForm(A, True, 30, (
        SummaryLine(1, BIM, "初级", 25), SummaryLine(2, WEB, "中级", 5)))], accepted)
    mail(3, B, "increase", day + timedelta(days=2),
         [IncreaseForm(B, True, (IncreaseLine(1, WEB, "中级", 12, 20),))], accepted)
    mail(4, C, "summary", day + timedelta(days=3), [SummaryForm(C, False, 7, (SummaryLine(1, BIM, "中级", 7),))],
         Decision.from_reasons([Reason(ReasonCode.FORM_STAMP_MISSING), Reason(ReasonCode.SENDER_UNVERIFIED)]))
    mail(5, C, "summary", day + timedelta(days=4), [], Decision.from_reasons([Reason(ReasonCode.ATTACHMENT_MISSING)]))
    return ledger_engine


def test_json_export_has_exactly_the_contract_shape(ledger, tmp_path):
    write_json(collect(ledger), tmp_path / "ledger.json")
    data = json.loads((tmp_path / "ledger.json").read_text(encoding="utf-8"))
    assert set(data) == {"submissions", "quotas"}
    keys = {"message_id", "unit", "kind", "year", "received_at", "decision", "reasons", "stamp", "total", "lines"}
    assert all(set(s) == keys for s in data["submissions"])
    first, second, increase, unstamped, empty = data["submissions"]
    assert first == {
        "message_id": "<1@school.example.cn>", "unit": A, "kind": "summary", "year": 2025,
        "received_at": "2025-03-20T09:30:00+08:00", "decision": "accepted", "reasons": [], "stamp": True,
        "total": 20, "lines": [{"certificate": BIM, "level": "初级", "count": 20}]}
    assert [l["count"] for l in second["lines"]] == [25, 5]
    assert increase["lines"] == [{"certificate": WEB, "level": "中级", "approved": 12, "requested": 20}]
    assert increase["total"] is None
    assert (unstamped["decision"], unstamped["reasons"], unstamped["stamp"]) == (
        "rejected", ["form.stamp_missing", "sender.unverified"], False)
    assert (empty["lines"], empty["total"], empty["reasons"]) == ([], None, ["attachment.missing"])
    # The accepted increase is applied to the quotas.
    assert sorted(data["quotas"], key=lambda q: q["unit"] != A) == [
        {"year": 2025, "unit": A, "certificate": BIM, "level": "初级", "approved": 30},
        {"year": 2025, "unit": B, "certificate": WEB, "level": "中级", "approved": 20},
    ]


def _rows(sheet) -> list[list]:
    return [list(r) for r in sheet.iter_rows(values_only=True)]


def test_workbook_has_the_sheets_staff_need_formatted(ledger, tmp_path):
    path = tmp_path / "台账.xlsx"
    names = write_xlsx(collect(ledger), path)
    cities = sorted({s["city"] for s in SCHOOLS})
    assert names == ["汇总", "明细", "指标", "事件", *cities]
    book = load_workbook(path)
    assert book.sheetnames == names
    for name, headers in [("汇总", SUMMARY_HEADERS), ("明细", DETAIL_HEADERS), ("指标", QUOTA_HEADERS),
                          ("事件", EVENT_HEADERS), (cities[0], CITY_HEADERS)]:
        sheet = book[name]
        assert tuple(c.value for c in sheet[1]) == headers
        assert sheet.freeze_panes == "A2"
        assert sheet.auto_filter.ref.startswith("A1:")
        assert sheet[1][0].font.b
        assert all(sheet.column_dimensions[c.column_letter].width >= 8 for c in sheet[1])

    summary = {r[0]: r for r in _rows(book["汇总"])[1:]}
    assert summary[A][3:7] == [2, "通过", 30, "0/0"]  # the newer summary counts
    assert summary[B][3:7] == [1, "未收到", None, "1/1"]
    assert summary[C][3:6] == [2, "退回", None]
    assert summary[C][8] == "缺少附件"  # the newest summary's problems, in Chinese
    assert summary[A][7] == datetime(2025, 3, 21, 9, 30)  # office wall-clock time
    assert book["汇总"]["H2"].number_format == "yyyy-mm-dd hh:mm"

    detail = _rows(book["明细"])[1:]
    assert len(detail) == 1 + 2 + 1 + 1 + 1  # one row per line, one for a mail without a form
    assert [r[12] for r in detail if r[1] == C] == ["未盖章、发件人未核实", "缺少附件"]
    superseded = [r for r in detail if r[5] == "是"]
    assert [(r[1], r[7], r[9]) for r in superseded] == [(A, BIM, 20)]

    quotas = sorted(_rows(book["指标"])[1:], key=lambda r: r[1] != A)
    assert [(r[1], r[5], r[6], r[7]) for r in quotas] == [(A, 30, 0, 30), (B, 12, 1, 20)]
    assert book["指标"]["H2"].number_format == "0"
    assert any(r[2] == "quota.increased" for r in _rows(book["事件"])[1:])


def test_city_sheets_hold_only_that_citys_current_forms(ledger, tmp_path):
    path = tmp_path / "台账.xlsx"
    write_xlsx(collect(ledger), path)
    book = load_workbook(path)
    hefei = _rows(book["合肥市"])[1:]
    assert {r[0] for r in hefei} == {A, B}
    assert [(r[4], r[6]) for r in hefei if r[0] == A] == [(BIM, 25), (WEB, 5)]  # superseded summary left out
    other = _rows(book[SCHOOLS[2]["city"]])[1:]
    assert {r[0] for r in other} == {C}


def test_an_empty_ledger_exports_empty_but_valid_files(ledger_engine, tmp_path):
    export = collect(ledger_engine)
    assert to_json(export) == {"submissions": [], "quotas": []}
    assert write_xlsx(export, tmp_path / "empty.xlsx") == ["汇总", "明细", "指标", "事件"]
    assert load_workbook(tmp_path / "empty.xlsx")["汇总"].max_row == 1


def test_each_detail_line_shows_its_own_problems_and_the_forms(ledger, tmp_path):
    store = Store(ledger)
    record, _ = store.record_message(mailbox="INBOX", uidvalidity=1, uid=99, message_id="<99@school.example.cn>",
                                     sha256="9" * 64, received_at=datetime(2025, 4, 1, tzinfo=SHANGHAI),
                                     sender="jwc@school.example.cn", subject="s", original_path="99.eml")
    form = SummaryForm(B, True, 99, (SummaryLine(1, BIM, "初级", 5), SummaryLine(2, WEB, "特级", 5)))
    store.record_decision(record.id, claim=Claim(B, 2025, "summary"), forms=[form], reply=None,
                          decision=Decision.from_reasons([Reason(ReasonCode.CERT_LEVEL_INVALID, row=2),
                                                          Reason(ReasonCode.FORM_TOTAL_MISMATCH, column="合计")]))
    write_xlsx(collect(ledger), tmp_path / "x.xlsx")
    rows = [r for r in _rows(load_workbook(tmp_path / "x.xlsx")["明细"])[1:] if r[13] == "<99@school.example.cn>"]
    assert [(r[6], r[12]) for r in rows] == [(1, "人数或合计有误"), (2, "级别不符、人数或合计有误")]


def test_tallies_count_each_unit_once(ledger, tmp_path):
    """汇总 and the city sheets count each unit once: a mail recorded (before one submission per
    form kind) as the form plus its empty 附件1 page, a rejected summary followed by its accepted
    correction. The JSON keeps one entry per submission, as the contract says."""
    store = Store(ledger, load_profile("anhui-2025"))
    day = datetime(2025, 3, 25, 9, 0, tzinfo=SHANGHAI)

    def mail(uid, unit, at, forms, decision):
        record, _ = store.record_message(
            mailbox="INBOX", uidvalidity=1, uid=uid, message_id=f"<{uid}@school.example.cn>",
            sha256=hashlib.sha256(f"t{uid}".encode()).hexdigest(), received_at=at, sender="jwc@school.example.cn",
            subject=f"{unit}+2025年证书申报", original_path=f"{uid}.eml")
        store.record_decision(record.id, claim=Claim(unit, 2025, "summary"), forms=forms, decision=decision,
                              reply=None)

    # B: the form, then the empty 附件1 page of the same mail (the old reader order put it last).
    mail(20, B, day, [SummaryForm(B, True, 40, (SummaryLine(1, WEB, "中级", 40),)),
                      SummaryForm("", False, None, (), table_confident=False, total_confident=False)],
         Decision.from_reasons([Reason(ReasonCode.OCR_LOW_CONFIDENCE)]))
    # C (two rejections so far): the accepted correction.
    mail(21, C, day + timedelta(hours=1), [SummaryForm(C, True, 9, (SummaryLine(1, BIM, "初级", 9),))],
         Decision(Outcome.ACCEPTED))

    export = collect(ledger)
    assert len(to_json(export)["submissions"]) == 5 + 3  # one entry per submission, as before
    path = tmp_path / "台账.xlsx"
    write_xlsx(export, path)
    book = load_workbook(path)
    summary = {r[0]: r for r in _rows(book["汇总"])[1:]}
    assert summary[B][3:7] == [2, "待审核", 40, "1/1"]  # the increase, and the one summary mail
    assert summary[C][3:6] == [3, "通过", 9]
    hefei = _rows(book["合肥市"])[1:]
    assert [(r[0], r[1], r[4], r[6]) for r in hefei if r[0] == B and r[1] == "汇总表"] == [(B, "汇总表", WEB, 40)]
    other = _rows(book[SCHOOLS[2]["city"]])[1:]
    assert [(r[2], r[4], r[6]) for r in other] == [("通过", BIM, 9)]  # the rejected summaries no longer count
