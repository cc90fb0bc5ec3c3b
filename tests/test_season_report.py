"""``intake report --season``: the department's workbook and PDF hold the ledger's figures.

One ledger, filled through the real ``Store``, in three cities: a rejected summary followed
by its accepted correction, a summary superseded by a newer one, a summary waiting for
review, accepted increases (one quota raised twice, one by staff after review), rejected
increases and a summary that arrived after the window. The report is written once by the command; the tests
compare it with figures computed here from the ORM rows, and with the dashboard.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pdfplumber
import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from cli.main import cli as main
from config.profile import load_profile
from domain.decision import Claim, Decision, Outcome, Reason, ReasonCode
from domain.forms import IncreaseForm, IncreaseLine, SummaryForm, SummaryLine
from ledger import season_pdf
from ledger.db import connect, migrate
from ledger.models import Certificate, Quota, QuotaChange, Submission, SubmissionLine, Unit
from ledger.store import Store
from review import queries
from testkit.ledger import BIM, ROBOT, anhui_schools, seed

SHANGHAI = ZoneInfo("Asia/Shanghai")
PROFILE = load_profile("anhui-2025")
DAY = datetime(2025, 3, 17, 9, 0, tzinfo=SHANGHAI)
NOW = datetime(2025, 3, 24, 9, 30, tzinfo=SHANGHAI)  # inside the first window: the dashboard charts its days
ACCEPTED = Decision(Outcome.ACCEPTED)
NAME = "安徽省2025年1+X证书申报情况汇总"
SHEETS = ["总览", "按地市汇总", "按证书汇总", "按受理时段", "每日提交", "最终指标", "调增记录"]
LEVELS = ("初级", "中级", "高级")


class Book:
    """Mail recorded and decided through the real ``Store``, as the worker does."""

    def __init__(self, engine: sa.Engine):
        self.store = Store(engine, PROFILE)
        self.uid = 0

    def mail(self, unit: str, kind: str, at: datetime, form, decision: Decision) -> None:
        self.uid += 1
        record, _ = self.store.record_message(
            mailbox="INBOX", uidvalidity=1, uid=self.uid, message_id=f"<{self.uid}@school.example.cn>",
            sha256=hashlib.sha256(str(self.uid).encode()).hexdigest(), received_at=at,
            sender="jwc@school.example.cn", subject=f"{unit}+2025年证书申报", original_path=f"{self.uid}.eml")
        self.store.record_decision(record.id, claim=Claim(unit, 2025, kind), forms=[form], decision=decision,
                                   reply=None)


def summary(unit: str, *lines: tuple[str, str, int]) -> SummaryForm:
    return SummaryForm(unit, True, sum(n for *_, n in lines),
                       tuple(SummaryLine(i + 1, cert, level, n) for i, (cert, level, n) in enumerate(lines)))


def increase(unit: str, cert: str, level: str, approved: int, requested: int) -> IncreaseForm:
    return IncreaseForm(unit, True, (IncreaseLine(1, cert, level, approved, requested),))


def decided(code: ReasonCode) -> Decision:
    return Decision.from_reasons([Reason(code)])


@pytest.fixture(scope="module")
def ledger(tmp_path_factory) -> tuple[str, list[str]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('season') / 'ledger.sqlite3'}"
    engine = connect(url)
    migrate(engine)
    a, b, c, d, e = (s["name"] for s in anhui_schools(5))  # 合肥市 ×3, 马鞍山市, 淮南市
    seed(engine, units=5, quotas={(2025, a, BIM, "初级"): 30, (2025, a, ROBOT, "中级"): 40,
                                  (2025, d, ROBOT, "中级"): 20, (2025, b, BIM, "初级"): 10})
    book = Book(engine)
    book.mail(a, "summary", DAY, summary(a, (BIM, "初级", 25)), decided(ReasonCode.FORM_STAMP_MISSING))
    book.mail(a, "summary", DAY + timedelta(days=1), summary(a, (BIM, "初级", 30), (ROBOT, "中级", 40)), ACCEPTED)
    book.mail(b, "summary", DAY, summary(b, (BIM, "初级", 10), (BIM, "中级", 5)), ACCEPTED)
    book.mail(b, "summary", DAY + timedelta(days=2), summary(b, (BIM, "初级", 12), (BIM, "高级", 3)), ACCEPTED)
    book.mail(c, "summary", DAY + timedelta(days=1), summary(c, (ROBOT, "初级", 9)),
              decided(ReasonCode.OCR_LOW_CONFIDENCE))
    book.mail(d, "summary", DAY + timedelta(days=1), summary(d, (ROBOT, "中级", 20), (ROBOT, "高级", 8)), ACCEPTED)
    book.mail(d, "increase", DAY + timedelta(days=3), increase(d, ROBOT, "中级", 20, 35), ACCEPTED)
    book.mail(d, "increase", DAY + timedelta(days=4), increase(d, ROBOT, "中级", 35, 50), ACCEPTED)
    book.mail(a, "increase", DAY + timedelta(days=3), increase(a, BIM, "初级", 30, 45), ACCEPTED)
    book.mail(a, "increase", DAY + timedelta(days=4), increase(a, ROBOT, "高级", 5, 10),
              decided(ReasonCode.QUOTA_NOT_APPROVED))
    book.mail(e, "increase", DAY + timedelta(days=2), increase(e, BIM, "初级", 10, 20),
              decided(ReasonCode.QUOTA_NOT_APPROVED))
    book.mail(e, "summary", datetime(2025, 5, 6, 10, 0, tzinfo=SHANGHAI), summary(e, (BIM, "初级", 6)),
              decided(ReasonCode.WINDOW_CLOSED))
    # B's increase waited for review; staff accepted it (the review page's path into the store).
    book.mail(b, "increase", DAY + timedelta(days=5), increase(b, BIM, "初级", 10, 16),
              decided(ReasonCode.OCR_LOW_CONFIDENCE))
    with Session(engine) as s, s.begin():
        waiting = s.execute(sa.select(Submission).where(Submission.unit == b, Submission.kind == "increase")).scalar_one()
        book.store.apply_increase(s, Claim(b, 2025, "increase"), waiting, increase(b, BIM, "初级", 10, 16),
                                  DAY + timedelta(days=6), actor="staff:王老师")
        waiting.decision = "accepted"
    engine.dispose()
    return url, [a, b, c, d, e]


def invoke(url: str, *args: str):
    env = {"INTAKE_DB_URL": url, "INTAKE_PROFILE": "anhui-2025", "INTAKE_LOG_FORMAT": "json"}
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


@pytest.fixture(scope="module")
def report(ledger, tmp_path_factory) -> tuple[Path, Path, str]:
    url, _units = ledger
    out = tmp_path_factory.mktemp("report") / "季度报表"  # created by the command
    result = invoke(url, "report", "--season", "-o", str(out))
    assert result.exit_code == 0, result.output
    return out / f"{NAME}.xlsx", out / f"{NAME}.pdf", result.stdout


@pytest.fixture(scope="module")
def expected(ledger) -> dict:
    """The figures, straight from the ORM rows: accepted summaries not superseded (each unit has
    one per window here), the quotas' rows and their changes after the first import."""
    url, _units = ledger
    engine = connect(url)
    with engine.connect() as conn:
        city = dict(conn.execute(sa.select(Unit.name, Unit.city)).all())
        planned: dict[str, Counter] = defaultdict(Counter)
        per_cert: dict[str, Counter] = defaultdict(Counter)
        for unit, cert, level, count in conn.execute(
                sa.select(Submission.unit, SubmissionLine.certificate, SubmissionLine.level, SubmissionLine.count)
                .join(SubmissionLine, SubmissionLine.submission_id == Submission.id)
                .where(Submission.kind == "summary", Submission.decision == "accepted",
                       Submission.superseded_by_id.is_(None))):
            planned[city[unit]][level] += count
            per_cert[cert][level] += count
        quotas = {(u, c, lv): n for u, c, lv, n in conn.execute(
            sa.select(Unit.name, Certificate.name, Quota.level, Quota.approved)
            .join(Unit, Quota.unit_id == Unit.id).join(Certificate, Quota.certificate_id == Certificate.id))}
        changes = [tuple(r) for r in conn.execute(
            sa.select(Unit.name, Quota.level, QuotaChange.old_approved, QuotaChange.new_approved)
            .join(Quota, QuotaChange.quota_id == Quota.id).join(Unit, Quota.unit_id == Unit.id)
            .where(QuotaChange.old_approved.is_not(None)).order_by(QuotaChange.id))]
    engine.dispose()
    return {"planned": planned, "per_cert": per_cert, "quotas": quotas, "changes": changes, "city": city}


def rows(sheet) -> list[tuple]:
    return [tuple(r) for r in sheet.iter_rows(min_row=2, values_only=True)]


# --- the workbook ---------------------------------------------------------------------------


def test_the_workbook_has_its_sheets_with_frozen_chinese_headers(report):
    xlsx, _pdf, _out = report
    book = load_workbook(xlsx)
    assert book.sheetnames == SHEETS
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2", sheet.title
        assert all(re.search(r"[\u4e00-\u9fff]", str(c.value)) for c in sheet[1]), sheet.title
    cities = book["按地市汇总"]
    assert [c.value for c in cities[1]][6:9] == list(LEVELS)
    assert cities.column_dimensions["C"].width >= 20  # 汇总表已通过的单位数, fitted to the Chinese text


def test_city_and_certificate_totals_equal_the_ledgers(report, expected):
    book = load_workbook(report[0])
    by_city = {r[0]: r for r in rows(book["按地市汇总"])}
    assert set(by_city) == {"合肥市", "马鞍山市", "淮南市", "合计"}
    for city, levels in expected["planned"].items():
        assert by_city[city][6:10] == (*(levels[lv] for lv in LEVELS), sum(levels.values())), city
    assert by_city["合计"][9] == sum(sum(n.values()) for n in expected["planned"].values()) == 113
    assert by_city["合肥市"][1:3] == (3, 2)  # units, of which with an accepted summary
    assert by_city["淮南市"][6:10] == (0, 0, 0, 0)  # its only summary came after the window
    approved = Counter()
    for (unit, _cert, _level), n in expected["quotas"].items():
        approved[expected["city"][unit]] += n
    assert {c: r[10] for c, r in by_city.items() if c != "合计"} == {**approved, "淮南市": 0}
    by_cert = {r[0]: r for r in rows(book["按证书汇总"])}
    for cert, levels in expected["per_cert"].items():
        assert by_cert[cert][2:6] == (*(levels[lv] for lv in LEVELS), sum(levels.values())), cert
    assert by_cert["合计"][1] == 3  # units with an accepted summary, each once


def test_final_quotas_and_their_increase_history_equal_the_ledgers(report, expected, ledger):
    book = load_workbook(report[0])
    finals = {(r[1], r[2], r[3]): r for r in rows(book["最终指标"])}
    assert {k: r[6] for k, r in finals.items()} == expected["quotas"]
    robot = finals[(ledger[1][3], ROBOT, "中级")]
    assert robot[5:8] == (2, 50, "20 → 35（03-20 09:00）；35 → 50（03-21 09:00）")
    history = [(r[3], r[5], r[6], r[7]) for r in rows(book["调增记录"])]
    assert sorted(history) == sorted(expected["changes"])
    assert all(r[-1].endswith("@school.example.cn>") and r[8] == "调增申请" for r in rows(book["调增记录"]))
    assert [r[9] for r in rows(book["调增记录"])] == ["系统自动受理"] * 3 + ["工作人员王老师"]  # by the mail's arrival


def test_the_report_shows_the_dashboards_figures(report, ledger):
    engine = connect(ledger[0])
    board = queries.dashboard(engine, PROFILE, NOW)
    engine.dispose()
    book = load_workbook(report[0])
    by_city = {r[0]: r[3:6] for r in rows(book["按地市汇总"]) if r[0] != "合计"}
    assert by_city == {city: (n.get("accepted", 0), n.get("rejected", 0), n.get("review", 0))
                       for city, n in board.by_city}
    assert [r[1:] for r in rows(book["按受理时段"])] == [
        (label, n.get("accepted", 0), n.get("rejected", 0), n.get("review", 0)) for _f, label, n in board.by_window]
    days = {r[0].date(): r[1] for r in rows(book["每日提交"])}
    assert {d: n for d, n in board.per_day} == {d: n for d, n in days.items() if d.month in (3, 4)}
    assert days[datetime(2025, 5, 6).date()] == 1  # outside every window: listed, not charted
    overview = dict(rows(book["总览"]))
    assert (overview["通过"], overview["退回"], overview["待审核"]) == (7, 3, 1) == tuple(
        board.by_decision.get(k, 0) for k in ("accepted", "rejected", "review"))
    assert overview["收到邮件（封）"] == board.messages_total == 13


# --- the PDF -----------------------------------------------------------------------------------


def test_the_pdf_embeds_a_chinese_truetype_font_and_every_other(report):
    fonts = subprocess.run(["pdffonts", str(report[1])], capture_output=True, text=True, check=True).stdout
    lines = fonts.splitlines()[2:]
    assert lines, fonts
    for line in lines:  # name, type, encoding, emb, sub, uni, object, generation
        *_name, emb, sub, uni, _obj, _gen = line.split()
        assert (emb, sub, uni) == ("yes", "yes", "yes"), fonts
    assert any(name in fonts for name in ("WenQuanYi", "BousungEG", "LXGWWenKai")), fonts


def test_the_pdf_text_holds_the_figures(report, expected):
    with pdfplumber.open(report[1]) as pdf:
        content = re.sub(r"\s+", " ", " ".join(page.extract_text() or "" for page in pdf.pages))
    flat = content.replace(" ", "")
    assert NAME in flat
    assert "有效提交11份（通过7，退回3，待审核1）" in flat
    assert "拟申报113人" in flat and "指标调增4次" in flat
    for heading in ("每日收到的提交", "按地市", "按证书", "指标调增记录"):
        assert heading in flat
    hefei = expected["planned"]["合肥市"]
    approved = sum(n for (unit, _c, _l), n in expected["quotas"].items() if expected["city"][unit] == "合肥市")
    # 所属市 单位数 已通过的单位数 通过 退回 待审核 初级 中级 高级 拟申报人数合计 批准指标合计
    row = f"合肥市 3 2 4 1 1 {' '.join(str(hefei[lv]) for lv in LEVELS)} {sum(hefei.values())} {approved}"
    assert row in content, content
    assert "另有1份在受理时段以外收到" in flat


# --- the command --------------------------------------------------------------------------------


def test_the_command_says_what_it_wrote(report):
    xlsx, pdf, out = report
    assert str(xlsx) in out and str(pdf) in out
    assert "有效提交 11 份（通过 7，退回 3，待审核 1），拟申报 113 人，指标调增 4 次" in out


def test_a_bad_command_line_an_empty_ledger_and_an_unwritable_directory(ledger, tmp_path):
    url, _units = ledger
    assert invoke(url, "report").exit_code == 2  # which report?
    empty = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    result = invoke(empty, "report", "--season", "-o", str(tmp_path / "out"))
    assert result.exit_code == 1 and "intake units import" in result.stderr
    seed(connect(empty), units=2)
    result = invoke(empty, "report", "--season", "-o", str(tmp_path / "out"))
    assert result.exit_code == 1 and "intake run" in result.stderr
    assert not (tmp_path / "out").exists()
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    result = invoke(url, "report", "--season", "-o", str(blocked / "sub"))
    assert result.exit_code == 1 and "-o" in result.stderr and str(blocked / "sub") in result.stderr


def test_without_a_chinese_font_nothing_is_written(ledger, tmp_path, monkeypatch):
    monkeypatch.setattr(season_pdf, "FONTS", ((str(tmp_path / "none.ttc"), 0),))
    monkeypatch.setattr(season_pdf, "FONT", "SeasonCJKMissing")
    result = invoke(ledger[0], "report", "--season", "-o", str(tmp_path / "out"))
    assert result.exit_code == 1 and "fonts-wqy-zenhei" in result.stderr
    assert not (tmp_path / "out").exists()


def test_the_profile_option_names_the_season(ledger, tmp_path):
    result = invoke(ledger[0], "report", "--season", "--profile", "jiangsu-2024", "-o", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["江苏省2024年1+X证书申报情况汇总.pdf",
                                                         "江苏省2024年1+X证书申报情况汇总.xlsx"]
    assert invoke(ledger[0], "report", "--season", "--profile", "no-such-profile").exit_code == 1
