"""催报 through the real worker and a real SMTP sink, the season clock moved day by day (no sleeping):
automatic reminders go only on the profile's days inside the open window, threaded to a unit's
last rejected mail, never twice to a unit on one day (the database's unique key, even from two
threads at once), never to a bounced address, and not again to a unit that submitted since."""

from __future__ import annotations

import dataclasses
import hashlib
import threading
from datetime import date, datetime, timedelta
from email import message_from_bytes, policy

import pytest
import sqlalchemy as sa

from config.profile import load_profile
from config.settings import load_settings
from domain.decision import Claim, Decision, Reason, ReasonCode
from domain.forms import SummaryForm, SummaryLine
from intake import reminders
from intake.worker import Worker
from ledger.db import connect, migrate
from ledger.models import BouncedAddress, Event, Message, Reminder, Reply, Unit
from ledger.reminders import candidates, record_reminder
from ledger.store import Store
from testkit.ledger import SHANGHAI, anhui_schools, seed
from testkit.mailstack import outbox_settings

PROFILE = dataclasses.replace(load_profile("anhui-2025"), remind_days_before=(40, 3, 1), remind_hour=9)
SCHOOLS = [s["name"] for s in anhui_schools(5)]
ACCEPTED, REJECTED, SILENT, BOUNCED, NO_ADDRESS = SCHOOLS  # what each unit has done by 7 April
STAMP = Reason(ReasonCode.FORM_STAMP_MISSING, attachment="汇总表.pdf", page=1)


def contact(unit: str) -> str:
    return next(f"{s['code']}@school.example.cn" for s in anhui_schools(5) if s["name"] == unit)


def submit(store: Store, unit: str, at: datetime, reasons: tuple[Reason, ...] = ()) -> str:
    """The worker's record of a summary from ``unit`` arriving at ``at``; its Message-ID."""
    message_id = f"<{hashlib.sha1(f'{unit}{at}'.encode()).hexdigest()[:12]}@school.example.cn>"
    record, _ = store.record_message(
        mailbox="INBOX", uidvalidity=1, uid=int(at.timestamp()) % 10**6 + len(unit), message_id=message_id,
        sha256=hashlib.sha256(message_id.encode()).hexdigest(), received_at=at, sender=contact(unit),
        subject=f"{unit}+2025年证书申报", original_path="var/data/x.eml")
    form = SummaryForm(unit=unit, stamp=not reasons, total=30, lines=(SummaryLine(1, "Web前端开发", "初级", 30),))
    store.record_decision(record.id, claim=Claim(unit=unit, year=2025, kind="summary", subject_unit=unit),
                          forms=[form], decision=Decision.from_reasons(reasons), reply=None)
    return message_id


@pytest.fixture
def season(tmp_path, smtp_sink):
    settings = load_settings(outbox_settings(smtp_sink, tmp_path))
    engine = connect(settings.database_url)
    migrate(engine)
    seed(engine, units=5)
    store = Store(engine, PROFILE)
    with engine.begin() as conn:
        conn.execute(sa.update(Unit).where(Unit.name == NO_ADDRESS).values(contacts=[]))
    submit(store, ACCEPTED, datetime(2025, 3, 18, 10, tzinfo=SHANGHAI))
    rejected_id = submit(store, REJECTED, datetime(2025, 3, 19, 10, tzinfo=SHANGHAI), (STAMP,))
    bounce = submit(store, BOUNCED, datetime(2025, 3, 1, 10, tzinfo=SHANGHAI))  # before the window: not counted
    with engine.begin() as conn:  # a delivery report said the unit's address cannot receive mail
        pk = conn.execute(sa.select(Message.id).where(Message.message_id == bounce)).scalar_one()
        conn.execute(sa.insert(BouncedAddress).values(address=contact(BOUNCED), message_pk=pk, status="5.1.1",
                                                      diagnostic="", at=datetime(2025, 3, 2, tzinfo=SHANGHAI)))
    yield settings, engine, store, rejected_id
    engine.dispose()


def test_a_season_of_automatic_reminders(season, smtp_sink):
    settings, engine, store, rejected_id = season
    clock = [datetime(2025, 3, 1, 8, tzinfo=SHANGHAI)]
    worker = Worker(settings, PROFILE, store, clock=lambda: clock[0])
    sent_on: dict[date, list[str]] = {}
    while clock[0] < datetime(2025, 4, 13, tzinfo=SHANGHAI):
        before = len(smtp_sink.received)
        worker.cycle(None, frozenset({"send"}))
        for _from, to, _raw in smtp_sink.received[before:]:
            sent_on.setdefault(clock[0].date(), []).extend(to)
        if clock[0] == datetime(2025, 4, 8, 10, tzinfo=SHANGHAI):
            submit(store, SILENT, clock[0])  # answers its reminder: accepted
        clock[0] += timedelta(hours=2)

    # 40 days before the end is outside the window: nothing; 3 days and 1 day before, at 10:00.
    assert sent_on == {date(2025, 4, 7): [contact(REJECTED), contact(SILENT)],
                       date(2025, 4, 9): [contact(REJECTED)]}
    mails = {m["To"]: m for m in smtp_sink.messages()[:2]}
    threaded = mails[contact(REJECTED)]
    assert threaded["In-Reply-To"] == threaded["References"] == rejected_id
    assert threaded["Auto-Submitted"] == "auto-generated"
    body = threaded.get_body().get_content()
    assert "申报表上没有找到单位公章" in body and "2025年04月10日（含当天，还有4天）" in body
    assert f"邮件主题：{REJECTED}+2025年证书申报" in body
    assert mails[contact(SILENT)]["In-Reply-To"] is None
    assert "尚未收到贵单位的申报学校汇总表" in mails[contact(SILENT)].get_body().get_content()
    assert mails[contact(SILENT)]["Subject"] == f"【催报】请于04月10日前报送申报学校汇总表（{SILENT}）"

    with engine.connect() as conn:
        events = conn.execute(sa.select(Event.subject, Event.detail).where(Event.action == "reminder.queued")
                              .order_by(Event.id)).all()
        outbox = conn.execute(sa.select(Reply.kind, Reply.status, Reply.message_pk)
                              .where(Reply.kind == "reminder")).all()
    assert [s for s, _ in events] == [f"unit:{REJECTED}", f"unit:{SILENT}", f"unit:{REJECTED}"]
    assert outbox == [("reminder", "sent", None)] * 3
    # Shown, not dropped: the unit whose address bounced and the one with none.
    by_unit = {c.unit: c for c in candidates(engine, PROFILE, date(2025, 4, 9))}
    assert (by_unit[BOUNCED].addresses, by_unit[BOUNCED].bounced) == ((), (contact(BOUNCED),))
    assert by_unit[BOUNCED].due and by_unit[NO_ADDRESS].due and by_unit[NO_ADDRESS].addresses == ()
    assert by_unit[SILENT].state == "accepted" and not by_unit[SILENT].due


def test_staff_cannot_remind_outside_the_window_or_twice_a_day(season):
    _settings, engine, _store, _ = season
    ids = {c.unit: c.unit_id for c in candidates(engine, PROFILE, date(2025, 3, 20))}
    everyone = list(ids.values())
    closed = reminders.send_reminders(engine, PROFILE, "ahxzsbg@126.com", everyone,
                                      datetime(2025, 4, 11, 9, tzinfo=SHANGHAI), "staff:王老师")
    assert closed.queued == [] and sorted(closed.closed) == sorted(SCHOOLS)
    morning = reminders.send_reminders(engine, PROFILE, "ahxzsbg@126.com", everyone,
                                       datetime(2025, 3, 20, 9, tzinfo=SHANGHAI), "staff:王老师")
    # Picked but not sent, each named: the accepted unit, the bounced and the addressless ones.
    assert sorted(morning.queued) == sorted([REJECTED, SILENT]) and morning.not_due == [ACCEPTED]
    assert (sorted(morning.no_address), morning.already) == (sorted([BOUNCED, NO_ADDRESS]), [])
    evening = reminders.send_reminders(engine, PROFILE, "ahxzsbg@126.com", everyone,
                                       datetime(2025, 3, 20, 23, 50, tzinfo=SHANGHAI), "staff:李老师")
    assert evening.queued == [] and sorted(evening.already) == sorted([REJECTED, SILENT])
    next_day = reminders.send_reminders(engine, PROFILE, "ahxzsbg@126.com", [ids[SILENT]],
                                        datetime(2025, 3, 21, 0, 10, tzinfo=SHANGHAI), "staff:李老师")
    assert next_day.queued == [SILENT]  # a new local day (16:10 UTC the day before)


def test_two_senders_at_once_write_one_reminder(ledger_engine):
    seed(ledger_engine, units=1)
    (stale,) = candidates(ledger_engine, PROFILE, date(2025, 3, 20))  # both read before either writes
    now = datetime(2025, 3, 20, 9, tzinfo=SHANGHAI)
    barrier, results = threading.Barrier(2), []

    def send(n: int) -> None:
        mail = reminders._outgoing(stale, PROFILE, "ahxzsbg@126.com", stale.addresses[0], now)
        barrier.wait()
        results.append(record_reminder(ledger_engine, stale, now.date(), [mail], f"staff:{n}", now))

    threads = [threading.Thread(target=send, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(results) == [False, True]
    with ledger_engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(Reminder)).scalar_one() == 1
        assert conn.execute(sa.select(sa.func.count()).select_from(Reply)).scalar_one() == 1
        assert conn.execute(sa.select(sa.func.count()).where(Event.action == "reminder.queued")).scalar_one() == 1
    with pytest.raises(sa.exc.IntegrityError), ledger_engine.begin() as conn:  # the key itself, not Python
        conn.execute(sa.insert(Reminder).values(unit_id=stale.unit_id, day=now.date(), kind="summary",
                                                window_end=date(2025, 4, 10), addresses=[], actor="x",
                                                created_at=now))


def test_the_preview_is_the_mail(season):
    _settings, engine, _store, rejected_id = season
    now = datetime(2025, 3, 20, 9, tzinfo=SHANGHAI)
    (rejected,) = [c for c in candidates(engine, PROFILE, now.date()) if c.unit == REJECTED]
    shown = reminders.render(rejected, PROFILE, now.date())
    raw = reminders.build_mail(rejected, PROFILE, from_addr="ahxzsbg@126.com", to_addr=contact(REJECTED),
                               message_id="<x@126.com>", now=now)
    mail = message_from_bytes(raw, policy=policy.default)
    assert (mail["Subject"], mail.get_body().get_content().replace("\r\n", "\n")) == (shown.subject, shown.body)
    assert "03月19日 10:00" in shown.body and PROFILE.signature in shown.body


def test_the_page_shows_what_cannot_be_sent(season):
    from fastapi.testclient import TestClient

    from ledger.models import StaffAccount
    from review.app import create_app
    from testkit.review import STAFF, csrf, login, staff_hash

    settings, engine, _store, _ = season
    with engine.begin() as conn:
        conn.execute(sa.insert(StaffAccount).values(name=STAFF, password_hash=staff_hash(), active=True,
                                                    session_epoch=0, created_at=datetime(2025, 3, 1, tzinfo=SHANGHAI)))
    client = TestClient(create_app(settings, profile=PROFILE, engine=engine,
                                   clock=lambda: datetime(2025, 3, 20, 9, tzinfo=SHANGHAI)), base_url="http://127.0.0.1")
    login(client)
    page = client.get("/reminders").text
    rows = {unit: page.split(f'<tr data-unit="{unit}">')[1].split("</tr>")[0] for unit in SCHOOLS}
    assert [u for u in SCHOOLS if " checked " in rows[u]] == [REJECTED, SILENT]
    assert f'<s class="muted bounced" title="已退信">{contact(BOUNCED)}</s>' in rows[BOUNCED]
    assert "无可用邮箱" in rows[NO_ADDRESS] and "disabled" in rows[NO_ADDRESS] and "disabled" in rows[BOUNCED]
    ids = {u: rows[u].split('value="')[1].split('"')[0] for u in SCHOOLS}
    preview = client.post("/reminders/preview", data={"csrf_token": csrf(page), "unit": [ids[BOUNCED], ids[SILENT]]})
    bounced_card = preview.text.split(f'data-unit="{BOUNCED}"')[1].split("</section>")[0]
    assert f"没有可用的邮箱（{contact(BOUNCED)} 已退信）" in bounced_card and 'name="unit"' not in bounced_card
    sent = client.post("/reminders/send", data={"csrf_token": csrf(page), "unit": [ids[BOUNCED], ids[SILENT]]})
    assert "已将 1 个单位的催报邮件放入发件队列" in sent.text and f"没有可用的邮箱，未发送：{BOUNCED}" in sent.text
    with engine.connect() as conn:
        assert conn.execute(sa.select(Reply.to_addr).where(Reply.kind == "reminder")).scalars().all() == [contact(SILENT)]
    after = TestClient(create_app(settings, profile=PROFILE, engine=engine,
                                  clock=lambda: datetime(2025, 4, 11, 9, tzinfo=SHANGHAI)), base_url="http://127.0.0.1")
    login(after)
    closed = after.get("/reminders").text
    assert 'id="closed"' in closed and " checked " not in closed and closed.count("不在受理时段</span>") == len(SCHOOLS)
