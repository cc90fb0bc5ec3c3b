"""The dashboard counts each unit once, and staff see the mail that got no reply (其他来信).

A ledger filled through the real ``Store``: a unit whose rejected summary was followed by
an accepted correction, a mail recorded (before one submission per form kind) as two
summaries — the form and its empty 附件1 page — and the same for an increase sent twice,
a superseded summary; then mail the worker ignored: a meeting receipt with a Word file
(no submission attempt) and an auto-reply.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from config.profile import load_profile
from domain.decision import Claim, Decision, Outcome, Reason, ReasonCode
from domain.forms import IncreaseForm, IncreaseLine, SummaryForm, SummaryLine
from intake import originals
from intake.message import decode
from intake.pipeline import process
from ledger.models import Submission
from ledger.store import Store
from review import queries
from testkit.ledger import anhui_schools, seed
from testkit.form_pages import DOCX_TYPE, word_document
from testkit.review import build_world, client_for, login

SHANGHAI = ZoneInfo("Asia/Shanghai")
PROFILE = load_profile("anhui-2025")
DAY = datetime(2025, 3, 18, 9, 0, tzinfo=SHANGHAI)
NOW = datetime(2025, 3, 24, 9, 30, tzinfo=SHANGHAI)
WEB = "Web前端开发"
ACCEPTED = Decision(Outcome.ACCEPTED)
REJECTED = Decision.from_reasons([Reason(ReasonCode.FORM_STAMP_MISSING)])


def summary(unit: str, counts: tuple[int, ...]) -> SummaryForm:
    return SummaryForm(unit, True, sum(counts), tuple(SummaryLine(i + 1, WEB, "初级", n) for i, n in enumerate(counts)))


EMPTY_ANNEX = SummaryForm("", False, None, (), table_confident=False, total_confident=False)


class Ledger:
    def __init__(self, engine):
        self.engine = engine
        self.store = Store(engine, PROFILE)
        self.uid = 0

    def mail(self, unit: str, kind: str, at: datetime, forms, decision) -> int:
        self.uid += 1
        record, _ = self.store.record_message(
            mailbox="INBOX", uidvalidity=1, uid=self.uid, message_id=f"<{self.uid}@school.example.cn>",
            sha256=hashlib.sha256(str(self.uid).encode()).hexdigest(), received_at=at,
            sender="jwc@school.example.cn", subject=f"{unit}+2025年证书申报", original_path=f"{self.uid}.eml")
        self.store.record_decision(record.id, claim=Claim(unit, 2025, kind), forms=forms, decision=decision,
                                   reply=None)
        return record.id


@pytest.fixture
def ledger(ledger_engine):
    schools = [s["name"] for s in anhui_schools(4)]
    seed(ledger_engine, units=4)
    book = Ledger(ledger_engine)
    a, b, c, d = schools
    # A: rejected, then the accepted correction (a rejection supersedes nothing: both stay current).
    book.mail(a, "summary", DAY, [summary(a, (10,))], REJECTED)
    book.mail(a, "summary", DAY + timedelta(days=1), [summary(a, (12,))], ACCEPTED)
    # B: one mail recorded as two summaries, the form and its empty 附件1 page (before part 6).
    book.mail(b, "summary", DAY, [EMPTY_ANNEX, summary(b, (20, 5))], Decision.from_reasons(
        [Reason(ReasonCode.OCR_LOW_CONFIDENCE)]))
    # C: a summary superseded by a newer one.
    book.mail(c, "summary", DAY, [summary(c, (7,))], ACCEPTED)
    book.mail(c, "summary", DAY + timedelta(days=2), [summary(c, (8,))], ACCEPTED)
    # D: one increase mail recorded twice (PDF and JPEG of the same form).
    increase = IncreaseForm(d, True, (IncreaseLine(1, WEB, "初级", 10, 20),))
    book.mail(d, "increase", DAY, [increase, increase], Decision.from_reasons([Reason(ReasonCode.QUOTA_NOT_APPROVED)]))
    return ledger_engine, schools


def test_the_dashboard_counts_each_unit_once(ledger):
    engine, (a, b, c, d) = ledger
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(Submission)).scalar_one() == 8
    board = queries.dashboard(engine, PROFILE, NOW)
    # A counts once, as accepted; B once (review); C once; D's increase once.
    assert board.by_decision == {"accepted": 2, "review": 1, "rejected": 1}
    assert sum(sum(n.values()) for _city, n in board.by_city) == 4
    assert sum(n for _day, n in board.per_day) == 4
    summary_window = next(counts for name, label, counts in board.by_window
                          if name == "申报学校汇总表" and label.startswith("2025年03月14日"))
    assert summary_window == {"accepted": 2, "review": 1}
    assert {m.unit for m in board.missing} == {b, d}


def test_the_list_still_shows_every_submission(ledger):
    engine, _units = ledger
    listing = queries.list_submissions(engine, PROFILE, queries.Filters())
    assert listing.total == 7  # only the superseded summary is left out by default


# --- 其他来信 ---------------------------------------------------------------------------------


def _stored(world, raw: bytes, uid: int, at: datetime):
    sha, path = originals.keep(world.settings.data_dir, raw)
    envelope = decode(raw, at)
    record, _ = world.store.record_message(
        mailbox="INBOX", uidvalidity=1, uid=uid, message_id=envelope.message_id, sha256=sha, received_at=at,
        sender=envelope.sender, subject=envelope.subject, original_path=str(path))
    return record, envelope


def _receipt() -> bytes:
    msg = EmailMessage()
    msg["From"] = "办公室 <office@axxzy.edu.cn>"
    msg["To"] = "ahxzsbg@126.com"
    msg["Subject"] = "安徽XX职业技术学院关于参加2025年1+X证书培训会议的回执"
    msg["Message-ID"] = "<receipt-1@axxzy.edu.cn>"
    msg.set_content("您好，附件为我校参会回执，请查收。")
    msg.add_attachment(word_document("参会回执"), maintype="application",
                       subtype=DOCX_TYPE.split("/")[1], filename="参会回执.docx")
    return bytes(msg)


def _auto_reply() -> bytes:
    msg = EmailMessage()
    msg["From"] = "jwc@school.example.cn"
    msg["To"] = "ahxzsbg@126.com"
    msg["Subject"] = "自动回复：您好"
    msg["Auto-Submitted"] = "auto-replied"
    msg["Message-ID"] = "<auto-1@school.example.cn>"
    msg.set_content("我已休假。")
    return bytes(msg)


@pytest.fixture
def world(tmp_path):
    w = build_world(f"sqlite:///{tmp_path / 'ledger.sqlite3'}", tmp_path)
    at = datetime(2025, 3, 21, 14, 5, tzinfo=SHANGHAI)
    for uid, raw in ((50, _receipt()), (51, _auto_reply())):
        record, envelope = _stored(w, raw, uid, at)
        result = process(envelope, PROFILE, w.store.snapshot())  # the worker's own decision: ignore
        assert result.decision is None
        w.store.record_decision(record.id, claim=None, forms=[], decision=None, reply=None, note=result.note)
    yield w
    w.engine.dispose()


def test_staff_see_other_mail_with_sender_subject_time_and_attachments(world):
    client = client_for(world)
    login(client)
    page = client.get("/other")
    assert page.status_code == 200
    html = page.text
    assert "安徽XX职业技术学院关于参加2025年1+X证书培训会议的回执" in html
    assert "office@axxzy.edu.cn" in html
    assert "2025-03-21 14:05" in html
    assert "主题含“回执”" in html  # why it got no reply
    assert "自动回复：您好" not in html  # auto-replies are under their own tab
    receipt_pk = 2  # the review world's own mail is message 1
    assert f'href="/messages/{receipt_pk}/original.eml"' in html
    assert f'<a href="/messages/{receipt_pk}/files/0">参会回执.docx</a>' in html
    original = client.get(f"/messages/{receipt_pk}/original.eml")
    assert original.status_code == 200 and b"receipt-1@axxzy.edu.cn" in original.content
    docx = client.get(f"/messages/{receipt_pk}/files/0")
    assert docx.status_code == 200 and docx.content.startswith(b"PK")
    assert docx.headers["content-type"] == "application/octet-stream"
    assert client.get(f"/messages/{receipt_pk}/files/9").status_code == 404

    auto = client.get("/other?kind=auto").text
    assert "自动回复：您好" in auto and "安徽XX职业技术学院" not in auto
    assert "其他来信（1）" in auto and "自动回复与退信（1）" in auto

    dashboard = client.get("/").text
    assert 'id="other-tile"' in dashboard and "其他来信（未回复）" in dashboard
    assert 'href="/other"' in dashboard


def test_other_mail_needs_a_login(world):
    client = client_for(world)
    for path in ("/other", "/messages/2/files/0"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_ignored_mail_query_separates_people_from_machines(world):
    listing = queries.ignored_mail(world.engine)
    assert listing.counts == {"all": 2, "auto": 1, "other": 1}
    (mail,) = listing.mails
    assert not mail.auto and mail.sender == "office@axxzy.edu.cn"
    assert mail.why.startswith("主题含“回执”")
    assert queries.dashboard(world.engine, PROFILE, NOW).other_total == 1
