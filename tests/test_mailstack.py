"""The test mail stack itself: each IMAP server accepts logins and APPENDs, aiosmtpd records mail."""

import smtplib
import socket
from datetime import datetime
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import pytest

SHANGHAI = ZoneInfo("Asia/Shanghai")
RAW = b"From: a@example.com\r\nSubject: hello\r\nMessage-ID: <m1@x>\r\n\r\nbody\r\n"


def test_each_server_keeps_internaldate_and_logs_imap_id(imap_server):
    arrived = datetime(2025, 3, 20, 9, 30, tzinfo=SHANGHAI)
    imap_server.append(RAW, arrived)
    with imap_server.client() as imap:
        imap.id_({"name": "mailstack-test"})
        imap.select_folder("INBOX")
        (uid,) = imap.search("ALL")
        got = imap.fetch([uid], ["INTERNALDATE", "RFC822"])[uid]
    assert imap_server.as_delivered(got[b"RFC822"]) == RAW.replace(b"\r\n", b"\n")
    assert got[b"INTERNALDATE"].replace(tzinfo=None) == arrived.astimezone().replace(tzinfo=None)
    assert "mailstack-test" in imap_server.log()


def test_each_server_keeps_mail_over_a_restart_and_stops_cleanly(imap_server):
    imap_server.append(RAW, datetime(2025, 3, 20, 9, 30, tzinfo=SHANGHAI), folder="已处理/通过")
    imap_server.restart()
    assert [imap_server.as_delivered(m) for m in imap_server.messages("已处理/通过")] == [RAW.replace(b"\r\n", b"\n")]
    assert "已处理/通过" in imap_server.folders()
    proc = imap_server.proc
    imap_server.stop()
    assert proc.poll() is not None
    with pytest.raises(OSError):
        socket.create_connection((imap_server.host, imap_server.port), timeout=1).close()
    imap_server.start()  # the fixture's own teardown stops it again


def test_dovecot_fixture_is_dovecot_at_its_defaults(dovecot):
    """Offices run Dovecot as installed: maildir, no ``separator`` line, so the delimiter is ``.``."""
    assert "separator" not in (dovecot.root / "dovecot.conf").read_text()
    with dovecot.client() as imap:
        assert [sep for _flags, sep, _name in imap.list_folders("", "")] == [b"."]
    dovecot.append(RAW, datetime(2025, 3, 20, 9, 30, tzinfo=SHANGHAI), folder="已处理/通过")
    assert "已处理.通过" in dovecot.server_folders()


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
