"""The review page over HTTP (FastAPI's TestClient, a real ledger): access control, CSRF,
the login rate limit, correcting a value and deciding, with exactly one follow-up reply.

``ReviewWorld`` builds what the worker would have left behind: real units and catalogue,
an approved quota, a stored original mail whose attachment is a rendered 指标调增申请表,
and the worker's ``review`` decision recorded through the real ``Store``. The browser test
(``test_review_browser.py``) reuses it.
"""

from __future__ import annotations

import email
import email.policy
import functools
import random
import re
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from bench.generate import INCREASE_HEADERS, FormSpec, Row, encode_image, render_image
from config.profile import load_profile
from config.settings import Settings, load_settings
from domain.decision import Claim, Decision, Outcome, Reason, ReasonCode
from domain.forms import IncreaseForm, IncreaseLine, SummaryForm, SummaryLine
from domain.rules import check_form
from intake import originals, replies
from intake.message import decode
from ledger.db import connect, migrate
from ledger.models import Event, Quota, Reply, Submission, SubmissionLine
from ledger.store import OutgoingReply, Store
from ledger.models import StaffAccount, StaffCorrection
from review.app import create_app
from review.auth import LoginLimiter, add_staff
from tests.fixtures.database import anhui_schools, catalogue, seed

SHANGHAI = ZoneInfo("Asia/Shanghai")
ARRIVED = datetime(2025, 3, 20, 10, 0, tzinfo=SHANGHAI)
NOW = datetime(2025, 3, 24, 9, 30, tzinfo=SHANGHAI)  # inside the first Anhui 2025 window
STAFF, PASSWORD = "王老师", "correct horse battery"


@dataclass
class ReviewWorld:
    engine: sa.Engine
    settings: Settings
    store: Store
    unit: str
    contact: str
    certificate: str
    submission_id: int
    message_pk: int
    approved: int  # the quota before the increase
    requested: int  # what the form really says
    misread: int  # what the reader took it for

    def quota(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(Quota.approved)).scalar_one()

    def queued(self) -> list[Reply]:
        with self.engine.connect() as conn:
            return list(conn.execute(sa.select(Reply).where(Reply.status == "queued")).all())


def increase_mail(unit: str, contact: str, certificate: str, approved: int, requested: int) -> bytes:
    spec = FormSpec(kind="increase", title="安徽省 1+X 职业技能等级证书指标调增申请表", unit=unit,
                    headers=INCREASE_HEADERS, rows=(Row(certificate, certificate, "中级", (approved, requested)),))
    png = encode_image(render_image(spec, dpi=150), "PNG")
    msg = EmailMessage()
    msg["From"] = f"教务处 <{contact}>"
    msg["To"] = "ahxzsbg@126.com"
    msg["Subject"] = f"{unit}+2025年证书指标调增申请"
    msg["Message-ID"] = make_msgid(domain="school.example.cn")
    msg["Date"] = "Thu, 20 Mar 2025 10:00:00 +0800"
    msg.set_content("您好，附件为我校指标调增申请表，请审核。")
    msg.add_attachment(png, maintype="image", subtype="png", filename="指标调增申请表.png")
    return bytes(msg)


@functools.cache
def staff_hash() -> str:
    """An argon2id hash of PASSWORD made by the real ``add_staff`` (half a second: made once)."""
    engine = connect(f"sqlite:///{tempfile.mkdtemp(prefix='intake-staff-')}/staff.sqlite3")
    migrate(engine)
    add_staff(engine, STAFF, PASSWORD)
    with engine.connect() as conn:
        hashed = conn.execute(sa.select(StaffAccount.password_hash)).scalar_one()
    engine.dispose()
    return hashed


def build_world(url: str, tmp_path: Path, *, smtp_port: int = 2525, units: int = 5) -> ReviewWorld:
    engine = connect(url)
    migrate(engine)
    school = anhui_schools(1)[0]
    unit, contact = school["name"], f"{school['code']}@school.example.cn"
    certificate = next(c["name"] for c in catalogue(with_levels_only=True) if "中级" in c["levels"])
    approved, requested, misread = 100, 150, 130
    seed(engine, units=units, quotas={(2025, unit, certificate, "中级"): approved})
    settings = load_settings({
        "INTAKE_PROFILE": "anhui-2025", "INTAKE_DB_URL": url, "INTAKE_DATA_DIR": str(tmp_path / "originals"),
        "INTAKE_FROM": "ahxzsbg@126.com", "INTAKE_SMTP_HOST": "127.0.0.1", "INTAKE_SMTP_PORT": str(smtp_port),
        "INTAKE_SMTP_SSL": "0", "INTAKE_SMTP_TIMEOUT": "10", "INTAKE_LOG_FORMAT": "json"})
    profile = load_profile("anhui-2025")
    store = Store(engine, profile)

    # What the worker leaves behind for a form whose 调增后人数 it could not read surely.
    raw = increase_mail(unit, contact, certificate, approved, requested)
    sha, path = originals.keep(settings.data_dir, raw)
    envelope = decode(raw, ARRIVED)
    record, _ = store.record_message(mailbox="INBOX", uidvalidity=1, uid=1, message_id=envelope.message_id,
                                     sha256=sha, received_at=ARRIVED, sender=envelope.sender,
                                     subject=envelope.subject, original_path=str(path))
    form = IncreaseForm(unit=unit, stamp=True, lines=(IncreaseLine(
        row=1, certificate=certificate, level="中级", approved=approved, requested=misread, confident=False,
        certificate_read=certificate),))
    claim = Claim(unit=unit, year=2025, kind="increase", subject_unit=unit)
    decision = Decision(Outcome.REVIEW, (Reason(ReasonCode.OCR_LOW_CONFIDENCE, detail="第1行未能清晰识别，将由工作人员核对原件",
                                                attachment="指标调增申请表.png", page=1, row=1),))
    reply_id = replies.new_reply_message_id(profile)
    first = replies.build_reply(envelope=envelope, decision=decision, claim=claim, forms=[form], profile=profile,
                                from_addr=settings.from_address, to_addr=envelope.sender, reply_message_id=reply_id,
                                now=ARRIVED + timedelta(minutes=1))
    store.record_decision(record.id, claim=claim, forms=[form], decision=decision,
                          reply=OutgoingReply(envelope.sender, reply_id, first))
    (queued,) = store.queued_replies(datetime.now(UTC))
    store.mark_reply_sent(queued.id, ARRIVED + timedelta(minutes=2))  # the worker already sent it
    with engine.connect() as conn:
        submission_id = conn.execute(sa.select(Submission.id)).scalar_one()
    with engine.begin() as conn:  # the account as `intake staff add` leaves it (hashing once per run)
        conn.execute(sa.insert(StaffAccount).values(name=STAFF, password_hash=staff_hash(), active=True,
                                                    session_epoch=0, created_at=ARRIVED))
    return ReviewWorld(engine, settings, store, unit, contact, certificate, submission_id, record.id,
                       approved, requested, misread)


def add_season(world: ReviewWorld, count: int, seed_: int = 7) -> None:
    """Summaries from other units over the first days of the window, decided by the real rules."""
    state = world.store.snapshot()
    rng = random.Random(seed_)
    others = [u for u in state.units if u.name != world.unit]
    offered = [(c.name, level) for c in state.certificates for level in sorted(c.levels)]
    for i in range(count):
        unit = others[i % len(others)]
        lines = tuple(SummaryLine(row=n + 1, certificate=cert, level=level, count=rng.randint(5, 120))
                      for n, (cert, level) in enumerate(rng.sample(offered, rng.randint(2, 6))))
        total = sum(l.count for l in lines) + (rng.choice([0, 0, 0, 10]))  # some schools add up wrongly
        form = SummaryForm(unit=unit.name, stamp=rng.random() > 0.1, total=total, lines=lines)
        claim = Claim(unit=unit.name, year=2025, kind="summary", subject_unit=unit.name)
        received = ARRIVED.replace(day=14, hour=9) + timedelta(days=rng.randint(0, 9), minutes=rng.randint(0, 600))
        msg = EmailMessage()
        msg["From"], msg["Subject"] = unit.contacts[0], f"{unit.name}+2025年证书申报"
        msg["Message-ID"] = make_msgid(domain="school.example.cn")
        msg.set_content(f"申报材料 {i}")
        raw = bytes(msg)
        sha, path = originals.keep(world.settings.data_dir, raw)
        record, _ = world.store.record_message(
            mailbox="INBOX", uidvalidity=1, uid=100 + i, message_id=msg["Message-ID"], sha256=sha,
            received_at=received, sender=unit.contacts[0], subject=msg["Subject"], original_path=str(path))
        decision = Decision.from_reasons(check_form(form, claim, state, attachment="汇总表.pdf", page=1))
        world.store.record_decision(record.id, claim=claim, forms=[form], decision=decision, reply=None)


@pytest.fixture
def world(tmp_path) -> ReviewWorld:
    w = build_world(f"sqlite:///{tmp_path / 'ledger.sqlite3'}", tmp_path)
    yield w
    w.engine.dispose()


def client_for(world: ReviewWorld, limiter: LoginLimiter | None = None) -> TestClient:
    app = create_app(world.settings, engine=world.engine, clock=lambda: NOW, limiter=limiter)
    return TestClient(app, base_url="http://127.0.0.1")


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([0-9a-f]{64})"', html).group(1)


def login(client: TestClient, name: str = STAFF, password: str = PASSWORD):
    token = csrf(client.get("/login").text)
    return client.post("/login", data={"csrf_token": token, "name": name, "password": password, "next": "/"},
                       follow_redirects=False)


# --- access control ----------------------------------------------------------------------------


def test_anonymous_requests_are_refused(world):
    client = client_for(world)
    for path in ("/", "/submissions", f"/submissions/{world.submission_id}", "/quotas", "/exports",
                 f"/messages/{world.message_pk}/original.eml", "/exports/ledger.json"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next="), path
    token = csrf(client.get("/login").text)  # a valid token, but nobody logged in
    response = client.post(f"/submissions/{world.submission_id}/decide",
                           data={"csrf_token": token, "outcome": "accepted"}, follow_redirects=False)
    assert response.status_code == 401
    assert "请重新登录" in response.text
    assert world.queued() == [] and world.quota() == world.approved


def test_login_sets_a_signed_httponly_samesite_cookie_and_logs_the_event(world):
    client = client_for(world)
    response = login(client)
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    page = client.get("/")
    assert page.status_code == 200 and "未提交单位" in page.text and STAFF in page.text
    assert client.get("/login", follow_redirects=False).headers["location"] == "/"
    # A tampered cookie is a new anonymous session.
    value = client.cookies.get("intake_session")
    client.cookies.set("intake_session", value[:-2] + ("AA" if not value.endswith("AA") else "BB"))
    assert client.get("/", follow_redirects=False).status_code == 303
    with world.engine.connect() as conn:
        actors = conn.execute(sa.select(Event.actor).where(Event.action == "staff.login")).scalars().all()
    assert actors == [f"staff:{STAFF}"]


def test_a_post_without_the_csrf_token_is_refused(world):
    client = client_for(world)
    login(client)
    for data in ({"outcome": "accepted"}, {"outcome": "accepted", "csrf_token": "0" * 64}):
        response = client.post(f"/submissions/{world.submission_id}/decide", data=data, follow_redirects=False)
        assert response.status_code == 403
        assert "表单校验码" in response.text
    response = client.post(f"/submissions/{world.submission_id}/correct", data={"total": "1"},
                           follow_redirects=False)
    assert response.status_code == 403
    with world.engine.connect() as conn:
        assert conn.execute(sa.select(Submission.decision)).scalar_one() == "review"
    assert world.queued() == []


def test_wrong_passwords_are_rate_limited(world):
    client = client_for(world, LoginLimiter(max_failures=3, window=600))
    for _ in range(3):
        assert login(client, password="wrong password!").status_code == 401
    refused = login(client)  # even the right password waits now
    assert refused.status_code == 429
    assert "分钟后再试" in refused.text
    with world.engine.connect() as conn:
        failed = conn.execute(sa.select(sa.func.count()).select_from(Event)
                              .where(Event.action == "staff.login_failed")).scalar_one()
    assert failed == 3


def test_logout_ends_the_session_everywhere(world):
    client = client_for(world)
    login(client)
    stolen = client.cookies.get("intake_session")
    page = client.get("/")
    client.post("/logout", data={"csrf_token": csrf(page.text)}, follow_redirects=False)
    other = client_for(world)
    other.cookies.set("intake_session", stolen)
    assert other.get("/", follow_redirects=False).status_code == 303


# --- correcting and deciding -------------------------------------------------------------------


def _line_id(world: ReviewWorld) -> int:
    with world.engine.connect() as conn:
        return conn.execute(sa.select(SubmissionLine.id)).scalar_one()


def test_correct_then_accept_raises_the_quota_and_queues_one_follow_up(world):
    client = client_for(world)
    login(client)
    detail = client.get(f"/submissions/{world.submission_id}")
    assert detail.status_code == 200
    assert f'value="{world.misread}"' in detail.text and "识别不确定" in detail.text
    line = _line_id(world)
    response = client.post(f"/submissions/{world.submission_id}/correct", follow_redirects=True, data={
        "csrf_token": csrf(detail.text), f"line-{line}-requested": str(world.requested),
        f"line-{line}-approved": str(world.approved)})
    assert response.status_code == 200 and "已保存更正" in response.text
    assert "没有发现问题" in response.text  # the rules ran again on the corrected line

    decided = client.post(f"/submissions/{world.submission_id}/decide", follow_redirects=True,
                          data={"csrf_token": csrf(response.text), "outcome": "accepted", "note": ""})
    assert "已通过" in decided.text
    assert world.quota() == world.requested
    (reply,) = world.queued()
    mail = email.message_from_bytes(reply.raw, policy=email.policy.default)
    assert mail["X-Intake-Decision"] == "accepted"
    assert mail["Subject"] == f"回复：{world.unit}+2025年证书指标调增申请"
    assert mail["In-Reply-To"] == world.store.message(world.message_pk).message_id
    body = mail.get_body().get_content()
    assert "人工审核" in body and f"{world.approved}人 → {world.requested}人" in body

    # A second click (or a second staff member) neither decides again nor sends again.
    again = client.post(f"/submissions/{world.submission_id}/decide", follow_redirects=False,
                        data={"csrf_token": csrf(response.text), "outcome": "accepted"})
    assert again.status_code == 409
    assert len(world.queued()) == 1 and world.quota() == world.requested
    with world.engine.connect() as conn:
        events = conn.execute(sa.select(Event.actor, Event.action).where(Event.actor == f"staff:{STAFF}")).all()
    assert ("staff:" + STAFF, "staff.corrected") in events and ("staff:" + STAFF, "staff.decided") in events


def test_reject_needs_a_reason_and_sends_it_to_the_school(world):
    client = client_for(world)
    login(client)
    page = client.get(f"/submissions/{world.submission_id}")
    empty = client.post(f"/submissions/{world.submission_id}/decide",
                        data={"csrf_token": csrf(page.text), "outcome": "rejected", "note": "  "})
    assert empty.status_code == 409 and "请填写退回理由" in empty.text
    note = "原件第1行调增后人数涂改不清，请重新填写并加盖公章"
    client.post(f"/submissions/{world.submission_id}/decide",
                data={"csrf_token": csrf(page.text), "outcome": "rejected", "note": note})
    (reply,) = world.queued()
    mail = email.message_from_bytes(reply.raw, policy=email.policy.default)
    assert mail["X-Intake-Decision"] == "rejected"
    assert note in mail.get_body().get_content()
    assert world.quota() == world.approved


def test_a_bad_correction_is_explained_and_changes_nothing(world):
    client = client_for(world)
    login(client)
    page = client.get(f"/submissions/{world.submission_id}")
    line = _line_id(world)
    response = client.post(f"/submissions/{world.submission_id}/correct",
                           data={"csrf_token": csrf(page.text), f"line-{line}-requested": "一百五"})
    assert response.status_code == 400
    assert "应填写 0 到" in response.text and "一百五" in response.text
    with world.engine.connect() as conn:
        assert conn.execute(sa.select(SubmissionLine.requested)).scalar_one() == world.misread


def test_list_filters_and_searches_by_alias(world):
    with world.engine.begin() as conn:
        from ledger.models import Unit
        conn.execute(sa.update(Unit).where(Unit.name == world.unit).values(aliases=["测试简称"]))
    client = client_for(world)
    login(client)
    hit = client.get("/submissions", params={"unit": "测试简称", "decision": "review",
                                             "reason": "ocr.low_confidence"})
    assert f"/submissions/{world.submission_id}" in hit.text
    for params in ({"decision": "accepted"}, {"reason": "cert.unknown"}, {"kind": "summary"},
                   {"from": "2025-03-21"}):
        miss = client.get("/submissions", params=params)
        assert f'href="/submissions/{world.submission_id}"' not in miss.text, params


def test_exports_download_the_ledger_and_are_logged(world):
    client = client_for(world)
    login(client)
    data = client.get("/exports/ledger.json")
    assert data.status_code == 200 and "attachment" in data.headers["content-disposition"]
    exported = data.json()
    assert [q["approved"] for q in exported["quotas"]] == [world.approved]
    assert [s["decision"] for s in exported["submissions"]] == ["review"]
    book = client.get("/exports/ledger.xlsx")
    assert book.status_code == 200 and book.content[:2] == b"PK"  # a zip: an xlsx workbook
    with world.engine.connect() as conn:
        formats = conn.execute(sa.select(Event.detail).where(Event.action == "staff.exported")
                               .order_by(Event.id)).scalars().all()
    assert [d["format"] for d in formats] == ["json", "xlsx"]


def test_downloads_of_the_original_and_its_attachment(world):
    client = client_for(world)
    login(client)
    original = client.get(f"/messages/{world.message_pk}/original.eml")
    assert original.status_code == 200
    assert original.content == originals.load(world.settings.data_dir, world.store.message(world.message_pk).original_path)
    attachment = client.get(f"/messages/{world.message_pk}/attachments/0")
    assert attachment.headers["content-type"] == "application/octet-stream"  # never rendered in our origin
    assert attachment.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert client.get(f"/messages/{world.message_pk}/attachments/5").status_code == 404
    with world.engine.connect() as conn:
        logged = conn.execute(sa.select(Event.actor, Event.detail).where(Event.action == "staff.downloaded")
                              .order_by(Event.id)).all()
    assert [(actor, d["file"]) for actor, d in logged] == [
        (f"staff:{STAFF}", f"message-{world.message_pk}.eml"), (f"staff:{STAFF}", "指标调增申请表.png")]


def test_a_corrected_value_that_breaks_a_rule_is_flagged_on_its_cell(world):
    client = client_for(world)
    login(client)
    page = client.get(f"/submissions/{world.submission_id}")
    line = _line_id(world)
    lower = world.approved - 10  # 调增后人数 below the approved number: not an increase
    response = client.post(f"/submissions/{world.submission_id}/correct", follow_redirects=True,
                           data={"csrf_token": csrf(page.text), f"line-{line}-requested": str(lower)})
    assert "调增后人数未增加" in response.text
    cell = re.search(r'<td class="num ([^"]*)"><input name="line-\d+-requested"', response.text).group(1)
    assert cell == "bad-cell"
    other = re.search(r'<td class="num ([^"]*)"><input name="line-\d+-approved"', response.text).group(1)
    assert other == ""
    with world.engine.connect() as conn:
        (reason,) = conn.execute(sa.select(Submission.reasons)).scalar_one()
    assert (reason["code"], reason["row"], reason["column"]) == ("quota.not_increase", 1, "调增后人数")
    # The rules still say no: staff cannot accept it, only correct it further or reject it.
    refused = client.post(f"/submissions/{world.submission_id}/decide",
                          data={"csrf_token": csrf(page.text), "outcome": "accepted"})
    assert refused.status_code == 409 and "调增后人数未增加（第1行）" in refused.text
    assert world.queued() == [] and world.quota() == world.approved


def test_a_lost_original_stops_the_decision_with_a_clear_message(world):
    (Path(world.settings.data_dir) / world.store.message(world.message_pk).original_path).unlink()
    client = client_for(world)
    login(client)
    page = client.get(f"/submissions/{world.submission_id}")
    assert page.status_code == 200 and "原始邮件文件无法读取" in page.text
    response = client.post(f"/submissions/{world.submission_id}/decide",
                           data={"csrf_token": csrf(page.text), "outcome": "accepted"})
    assert response.status_code == 409 and "INTAKE_DATA_DIR" in response.text
    assert world.queued() == [] and world.quota() == world.approved


def test_an_edit_not_saved_separately_is_part_of_the_decision(world):
    client = client_for(world)
    login(client)
    page = client.get(f"/submissions/{world.submission_id}")
    line = _line_id(world)
    response = client.post(f"/submissions/{world.submission_id}/decide", follow_redirects=True, data={
        "csrf_token": csrf(page.text), f"line-{line}-requested": str(world.requested),
        f"line-{line}-approved": str(world.approved), "unit": world.unit, "outcome": "accepted", "note": ""})
    assert "已通过" in response.text
    assert world.quota() == world.requested
    with world.engine.connect() as conn:
        corrections = conn.execute(sa.select(StaffCorrection.field, StaffCorrection.old_value,
                                             StaffCorrection.new_value)).all()
    assert corrections == [("requested", str(world.misread), str(world.requested))]


def test_an_unread_cell_left_empty_is_no_correction_and_blocks_acceptance(world):
    with world.engine.begin() as conn:
        conn.execute(sa.update(SubmissionLine).values(requested=None))
    client = client_for(world)
    login(client)
    page = client.get(f"/submissions/{world.submission_id}")
    line = _line_id(world)
    form = {"csrf_token": csrf(page.text), f"line-{line}-requested": "", f"line-{line}-approved": str(world.approved),
            "unit": world.unit}
    saved = client.post(f"/submissions/{world.submission_id}/correct", data=form)
    assert saved.status_code == 400 and "没有需要保存的更改" in saved.text
    accepted = client.post(f"/submissions/{world.submission_id}/decide", data={**form, "outcome": "accepted"})
    assert accepted.status_code == 409 and "调增后人数未增加（第1行）" in accepted.text
    assert world.queued() == [] and world.quota() == world.approved
