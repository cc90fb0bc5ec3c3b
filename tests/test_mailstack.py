"""The test mail stack itself: Dovecot accepts logins and APPENDs, aiosmtpd records mail."""

import smtplib
from datetime import datetime
from email.message import EmailMessage
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_dovecot_keeps_internaldate_and_logs_imap_id(dovecot):
    raw = b"From: a@example.com\r\nSubject: hello\r\nMessage-ID: <m1@x>\r\n\r\nbody\r\n"
    arrived = datetime(2025, 3, 20, 9, 30, tzinfo=SHANGHAI)
    dovecot.append(raw, arrived)
    with dovecot.client() as imap:
        imap.id_({"name": "mailstack-test"})
        imap.select_folder("INBOX")
        (uid,) = imap.search("ALL")
        got = imap.fetch([uid], ["INTERNALDATE", "RFC822"])[uid]
    assert got[b"RFC822"].replace(b"\r\n", b"\n") == raw.replace(b"\r\n", b"\n")
    assert got[b"INTERNALDATE"].replace(tzinfo=None) == arrived.astimezone().replace(tzinfo=None)
    assert "mailstack-test" in dovecot.log()


def test_smtp_sink_records_and_can_refuse(smtp_sink):
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "a@x.cn", "b@y.cn", "测试"
    msg.set_content("正文")
    with smtplib.SMTP(smtp_sink.host, smtp_sink.port, timeout=5) as smtp:
        smtp.send_message(msg)
    assert smtp_sink.messages()[0]["Subject"] == "测试"
    smtp_sink.refuse_with = "451 MI:SFQ quota"
    with smtplib.SMTP(smtp_sink.host, smtp_sink.port, timeout=5) as smtp:
        try:
            smtp.send_message(msg)
        except smtplib.SMTPDataError as exc:
            assert exc.smtp_code == 451
        else:
            raise AssertionError("the sink should have refused the message")
    assert len(smtp_sink.received) == 1
