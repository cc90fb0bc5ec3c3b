"""Bounces through a real Dovecot and the in-process worker: a delivery report and a plain bounce
naming an address we sent to are recorded (table and an event on the unit); an out-of-office
reply and addresses we never wrote to are not."""

from __future__ import annotations

from datetime import datetime, timedelta
from email.message import EmailMessage

import sqlalchemy as sa

from config.profile import load_profile
from config.settings import load_settings
from intake.bounces import bounced_recipients, is_bounce
from intake.worker import Worker
from ledger.db import connect, migrate
from ledger.models import BouncedAddress, Event, Message, Reply
from ledger.store import Store
from testkit.ledger import anhui_schools, seed
from testkit.world import IN_WINDOW

SCHOOLS = anhui_schools(3)
WRITTEN = f"{SCHOOLS[0]['code']}@school.example.cn"  # a contact we sent a reminder to
PLAIN = f"{SCHOOLS[1]['code']}@school.example.cn"  # a contact we sent a reply to
NEVER = "someone@elsewhere.example.cn"  # named in a bounce, never written to by us


def delivery_report(recipient: str, action: str = "failed", status: str = "5.1.1") -> bytes:
    return (
        "From: MAILER-DAEMON@126.com\r\nTo: ahxzsbg@126.com\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <dsn1@126.com>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        f"--B\r\nContent-Type: text/plain\r\n\r\nYour mail to {NEVER} and others could not be delivered.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.126.com\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient.upper()}\r\nAction: {action}\r\nStatus: {status}\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 <user unknown>\r\n\r\n"
        f"Final-Recipient: rfc822; {NEVER}\r\nAction: delayed\r\nStatus: 4.4.1\r\n\r\n"
        f"--B\r\nContent-Type: text/rfc822-headers\r\n\r\nTo: {recipient}\r\n--B--\r\n").encode()


def plain_bounce() -> bytes:
    mail = EmailMessage()
    mail["From"], mail["To"] = "postmaster@126.com", "ahxzsbg@126.com"
    mail["Subject"] = "系统退信"
    mail["Message-ID"] = "<plain1@126.com>"
    mail.set_content(f"您发送给 {PLAIN} 的邮件投递失败：用户不存在。抄送 {NEVER}。\n发件人 ahxzsbg@126.com")
    return bytes(mail)


def out_of_office() -> bytes:
    mail = EmailMessage()
    mail["From"], mail["To"] = WRITTEN, "ahxzsbg@126.com"
    mail["Subject"], mail["Auto-Submitted"] = "自动回复：休假中", "auto-replied"
    mail["Message-ID"] = "<ooo1@school.example.cn>"
    mail.set_content(f"我在休假，急事请联系 {PLAIN}。")
    return bytes(mail)


def test_a_returned_message_in_a_broken_charset_is_read_not_re_encoded():
    """A plain bounce quoting the returned mail as message/rfc822 whose part says gbk but holds
    bytes gbk cannot decode (found by the MIME fuzz test): the parser reads it, no crash."""
    raw = ("From: postmaster@126.com\r\nTo: ahxzsbg@126.com\r\nSubject: 系统退信\r\nMIME-Version: 1.0\r\n"
           'Content-Type: multipart/mixed; boundary="B"\r\n\r\n'
           f"--B\r\nContent-Type: text/plain\r\n\r\nDelivery to {PLAIN} failed.\r\n"
           "--B\r\nContent-Type: message/rfc822\r\n\r\nSubject: x\r\n"
           "Content-Type: text/plain; charset=gbk\r\nContent-Transfer-Encoding: 8bit\r\n\r\n").encode() + \
        b"\xff\xfe\x80 broken\r\n--B--\r\n"
    assert PLAIN in {b.address for b in bounced_recipients(raw)}


def test_the_parser_reads_failed_recipients_only():
    assert [b.address for b in bounced_recipients(delivery_report(WRITTEN))] == [WRITTEN]
    assert bounced_recipients(delivery_report(WRITTEN, action="delivered", status="2.0.0")) == []
    (report,) = bounced_recipients(delivery_report(WRITTEN))
    assert (report.status, report.reported) == ("5.1.1", True)
    assert {b.address for b in bounced_recipients(plain_bounce())} >= {PLAIN, NEVER}
    assert is_bounce("bounce (delivery report)") and is_bounce("auto-reply subject (系统退信)")
    assert not is_bounce("auto-submitted (auto-replied)") and not is_bounce("mailing list")


def test_the_worker_records_bounced_addresses_we_wrote_to(mail_env, dovecot, smtp_sink):
    settings = load_settings(mail_env)
    engine = connect(settings.database_url)
    migrate(engine)
    seed(engine, units=3)
    sent_at = IN_WINDOW - timedelta(days=1)
    with engine.begin() as conn:  # our earlier mail to both schools, already sent
        for n, to in enumerate((WRITTEN, PLAIN)):
            conn.execute(sa.insert(Reply).values(
                message_pk=None, kind="reminder", to_addr=to, reply_message_id=f"<r{n}@126.com>", raw=b"x",
                status="sent", attempts=1, next_attempt_at=sent_at, last_error="", sent_at=sent_at,
                created_at=sent_at, lease_owner=""))
    for raw in (delivery_report(WRITTEN), plain_bounce(), out_of_office()):
        dovecot.append(raw, IN_WINDOW)
    now = datetime(2025, 3, 20, 11, 0, tzinfo=IN_WINDOW.tzinfo)
    worker = Worker(settings, load_profile("anhui-2025"), Store(engine), clock=lambda: now)
    worker.run_once()
    worker.run_once()  # a second pass records nothing twice

    with engine.connect() as conn:
        kept = conn.execute(sa.select(BouncedAddress.address, BouncedAddress.status, Message.message_id)
                            .join(Message, Message.id == BouncedAddress.message_pk)
                            .order_by(BouncedAddress.address)).all()
        events = conn.execute(sa.select(Event.subject, Event.detail).where(Event.action == "address.bounced")
                              .order_by(Event.id)).all()
        ignored = conn.execute(sa.select(sa.func.count()).where(Message.outcome.is_(None))).scalar_one()
    assert sorted(kept) == sorted([(WRITTEN, "5.1.1", "<dsn1@126.com>"), (PLAIN, "", "<plain1@126.com>")])
    assert ignored == 3 and smtp_sink.received == []  # still ignored mail: no reply to a bounce
    assert [s for s, _d in events] == [f"unit:{SCHOOLS[0]['name']}", f"unit:{SCHOOLS[1]['name']}"]
    assert events[0][1]["diagnostic"] == "smtp; 550 5.1.1 <user unknown>"
    engine.dispose()
