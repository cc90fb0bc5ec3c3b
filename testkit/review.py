"""What the worker leaves behind for the review site, and a client to look at it.

``build_world`` makes a migrated ledger with real units and catalogue, an approved quota, a
stored original mail whose attachment is a rendered 指标调增申请表, the worker's ``review``
decision on it recorded through the real ``Store`` (its 调增后人数 misread), and a staff
account; ``add_season`` adds other units' summaries decided by the real rules. ``client_for``
is FastAPI's TestClient on the site at ``NOW``; ``login`` signs ``STAFF`` in.
"""

from __future__ import annotations

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

import sqlalchemy as sa
from fastapi.testclient import TestClient

from config.profile import load_profile
from config.settings import Settings, load_settings
from domain.decision import Claim, Decision, Outcome, Reason, ReasonCode
from domain.forms import IncreaseForm, IncreaseLine, SummaryForm, SummaryLine
from domain.rules import check_form
from intake import originals, replies
from intake.message import decode
from ledger.db import connect, migrate
from ledger.models import Quota, Reply, StaffAccount, Submission
from ledger.store import OutgoingReply, Store
from review.app import create_app
from review.auth import LoginLimiter, add_staff
from testkit.forms import INCREASE_HEADERS, FormSpec, Row, encode_image, render_image
from testkit.ledger import anhui_schools, catalogue, seed

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


def client_for(world: ReviewWorld, limiter: LoginLimiter | None = None) -> TestClient:
    app = create_app(world.settings, engine=world.engine, clock=lambda: NOW, limiter=limiter)
    return TestClient(app, base_url="http://127.0.0.1")


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([0-9a-f]{64})"', html).group(1)


def login(client: TestClient, name: str = STAFF, password: str = PASSWORD):
    token = csrf(client.get("/login").text)
    return client.post("/login", data={"csrf_token": token, "name": name, "password": password, "next": "/"},
                       follow_redirects=False)
