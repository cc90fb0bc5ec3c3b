"""The staff digest through two real workers and a real SMTP sink, the clock moved hour by hour:
one mail a day per staff address at the digest hour even with two workers at once (the
database's unique day), the day's figures, and a quiet day's single line."""

from __future__ import annotations

import hashlib
import threading
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from config.profile import load_profile
from config.settings import load_settings
from domain.decision import Claim, Decision, Outcome, Reason, ReasonCode
from domain.forms import SummaryForm, SummaryLine
from intake.worker import Worker
from ledger.db import connect, migrate
from ledger.models import Digest, Reply
from ledger.store import Store
from testkit.ledger import SHANGHAI, anhui_schools, outgoing_reply, seed
from testkit.mailstack import outbox_settings

PROFILE = load_profile("anhui-2025")
STAFF = ["wang@office.example.cn", "li@office.example.cn"]
SITE = "https://review.example.cn/"
SCHOOLS = [s["name"] for s in anhui_schools(4)]


def arrive(store: Store, n: int, at: datetime, decision: Decision | None, reply: bool = False) -> None:
    unit = SCHOOLS[n]
    record, _ = store.record_message(
        mailbox="INBOX", uidvalidity=1, uid=n + 1, message_id=f"<d{n}@school.example.cn>",
        sha256=hashlib.sha256(f"d{n}".encode()).hexdigest(), received_at=at, sender="jwc@school.example.cn",
        subject=f"{unit}+2025年证书申报", original_path="var/data/x.eml")
    form = SummaryForm(unit=unit, stamp=True, total=30, lines=(SummaryLine(1, "Web前端开发", "初级", 30),))
    store.record_decision(record.id, claim=Claim(unit=unit, year=2025, kind="summary") if decision else None,
                          forms=[form] if decision else [], decision=decision,
                          reply=outgoing_reply(n) if reply else None)


@pytest.fixture
def office(tmp_path, smtp_sink):
    settings = load_settings(outbox_settings(smtp_sink, tmp_path, INTAKE_STAFF_ADDRESSES="; ".join(STAFF),
                                             INTAKE_DIGEST_HOUR="8", INTAKE_SITE_URL=SITE))
    engine = connect(settings.database_url)
    migrate(engine)
    seed(engine, units=4)
    yield settings, engine, Store(engine, PROFILE)
    engine.dispose()


def run_day(workers, clock, smtp_sink, day: datetime) -> dict[str, list]:
    """Every hour of ``day``: the workers' sending cycle (the daily step, then the outbox) at the
    same moment; what each staff address received."""
    before = len(smtp_sink.received)
    for hour in range(24):
        clock[0] = day.replace(hour=hour)
        barrier = threading.Barrier(len(workers))

        def cycle(worker):
            barrier.wait()
            worker.cycle(None, frozenset({"send"}))

        threads = [threading.Thread(target=cycle, args=(w,)) for w in workers]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
    got: dict[str, list] = {}
    for (_from, to, _raw), mail in zip(smtp_sink.received[before:], smtp_sink.messages()[before:], strict=True):
        if mail["X-Intake-Kind"] == "digest":
            got.setdefault(to[0], []).append(mail)
    return got


def test_one_digest_a_day_from_two_workers(office, smtp_sink):
    settings, engine, store = office
    day = datetime(2025, 3, 20, tzinfo=SHANGHAI)
    stamp = (Reason(ReasonCode.FORM_STAMP_MISSING),)
    unsure = (Reason(ReasonCode.OCR_LOW_CONFIDENCE, row=1),)
    arrive(store, 0, day - timedelta(hours=3), Decision(Outcome.ACCEPTED))
    arrive(store, 1, day - timedelta(hours=2), Decision.from_reasons(stamp))
    # Two days old: before the first digest's day, so not new, but still waiting for staff.
    arrive(store, 2, day - timedelta(days=2, hours=1), Decision.from_reasons(unsure), reply=True)
    arrive(store, 3, day - timedelta(hours=1), None)  # ignored (an auto-reply, say)
    with engine.begin() as conn:  # its reply was refused for now (451): retried in two days
        conn.execute(sa.update(Reply).values(next_attempt_at=day + timedelta(days=2), attempts=1))
    clock = [day]
    workers = [Worker(settings, PROFILE, Store(engine, PROFILE), clock=lambda: clock[0]) for _ in range(2)]

    first = run_day(workers, clock, smtp_sink, day)
    assert sorted(first) == sorted(STAFF) and all(len(m) == 1 for m in first.values())
    mail = first[STAFF[0]][0]
    assert mail["Subject"] == "【申报受理日报】03月20日：新邮件3封，待审核1件，未发回复1封"
    assert mail["Date"].endswith("+0800") and " 08:00:00 " in mail["Date"]  # at the digest hour, not before
    body = mail.get_body().get_content()
    assert "新收邮件：3封（通过1，退回1，待审核0，未作为申报处理1）" in body
    assert "等待审核：1件，最早的一件03月17日 23:00收到，已等待2天" in body
    assert "距2025年03月14日至2025年04月10日截止还有22天。" in body
    assert f"详情请登录审核页面：{SITE}" in body
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(Digest)).scalar_one() == 1

    second = run_day(workers, clock, smtp_sink, day + timedelta(days=1))  # the review still waits
    assert all(len(m) == 1 for m in second.values())
    body = second[STAFF[1]][0].get_body().get_content()
    assert "新收邮件：0封（通过0，退回0，待审核0，未作为申报处理0）" in body
    assert "等待审核：1件" in body and "尚未发出的回复：1封" in body and "以下是03月20日 08:00以来" in body


def test_a_quiet_day_is_one_line(office, smtp_sink):
    settings, engine, store = office
    day = datetime(2025, 4, 10, tzinfo=SHANGHAI)  # the window's last day
    clock = [day]
    got = run_day([Worker(settings, PROFILE, store, clock=lambda: clock[0])], clock, smtp_sink, day)
    (mail,) = got[STAFF[0]]
    assert mail["Subject"] == "【申报受理日报】04月10日：无新邮件，无待办事项"
    lines = mail.get_body().get_content().strip().splitlines()
    assert lines == [f"自04月09日 08:00以来没有新邮件，也没有待办事项。距2025年03月14日至2025年04月10日截止还有1天。"
                     f" 详情请登录审核页面：{SITE}"]
