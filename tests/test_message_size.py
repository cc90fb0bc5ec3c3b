"""The message-size limit: a mail over ``INTAKE_MAX_MESSAGE_MB`` is never downloaded.

Only its header block is fetched and stored (marked); the sender gets one reply
naming the size and the limit; the mail itself stays whole on the server and is
filed like any other. The end-to-end tests run against the real Dovecot and SMTP
sink and read Dovecot's own byte count to prove the body never left the server.
"""

from __future__ import annotations

import os
import re
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from config.profile import load_profile
from config.settings import Settings
from domain.decision import Outcome, ReasonCode
from domain.state import LedgerState, UnitRef
from intake import mailbox as imap
from intake.mailbox import FETCH_BATCH_BYTES, _groups
from intake.message import (
    OVERSIZE_NAME,
    attachment_reasons,
    decode,
    header_only_original,
)
from intake.pipeline import process
from parsers.errors import ReaderError
from testkit import eml_corpus as corpus
from testkit.world import CONTACT, IN_WINDOW, UNIT, run_intake, submission

ARRIVED = datetime(2025, 3, 20, 2, 15, tzinfo=UTC)
MB = 1024 * 1024


def header_block(raw: bytes) -> bytes:
    return raw.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n"


# --- unit: the stored header block decodes to one precise reason -----------------------------


def test_header_block_of_an_oversize_mail_decodes_to_one_unreadable_reason():
    raw = corpus.submission(corpus.encode_header(corpus.SUBJECT))
    stored = header_only_original(header_block(raw), 73_400_320, 50 * MB)
    envelope = decode(stored, ARRIVED)

    # Everything a reply needs comes from the header: subject, sender, threading.
    assert envelope.subject == corpus.SUBJECT
    assert envelope.sender == corpus.SENDER
    assert envelope.message_id == "<case-0001@ahbvc.edu.cn>"
    assert not envelope.auto_generated
    (placeholder,) = envelope.attachments
    assert placeholder.filename == OVERSIZE_NAME and placeholder.data == b""
    (reason,) = attachment_reasons(envelope)
    assert reason.code is ReasonCode.ATTACHMENT_UNREADABLE
    assert reason.attachment == ""  # about the whole mail, not one file of it
    assert "70 MB" in reason.detail and "50 MB 的上限" in reason.detail
    assert "压缩" in reason.detail and "分开发送" in reason.detail


def test_oversize_submission_is_rejected_with_the_reason_and_replied_to_the_sender():
    raw = corpus.submission(corpus.encode_header(corpus.SUBJECT))
    envelope = decode(header_only_original(header_block(raw), 60 * MB, 50 * MB), ARRIVED)
    unit = UnitRef(name=corpus.UNIT, contacts=(corpus.SENDER,))
    result = process(envelope, load_profile("anhui-2025"), LedgerState(units=(unit,)),
                     read=lambda *a, **k: pytest.fail("nothing may be read from a header block"))
    assert result.decision.outcome is Outcome.REJECTED
    assert result.decision.codes == ["attachment.unreadable"]
    assert result.reply_to == corpus.SENDER


def test_oversize_bounce_gets_no_reply():
    raw = corpus.submission(corpus.encode_header(corpus.SUBJECT), sender=b"MAILER-DAEMON@126.com")
    envelope = decode(header_only_original(header_block(raw), 60 * MB, 50 * MB), ARRIVED)
    assert envelope.refused and envelope.auto_generated
    assert process(envelope, load_profile("anhui-2025"), LedgerState()).decision is None


def test_a_mark_written_by_the_sender_on_a_whole_mail_is_ignored():
    raw = corpus.submission(corpus.encode_header(corpus.SUBJECT))
    envelope = decode(header_only_original(raw, 60 * MB, 50 * MB), ARRIVED)  # a body follows
    assert envelope.refused == ""
    assert [a.filename for a in envelope.attachments] == ["汇总表.pdf"]


def test_a_size_just_over_the_limit_never_reads_as_equal_to_it():
    raw = corpus.submission(corpus.encode_header(corpus.SUBJECT))
    envelope = decode(header_only_original(header_block(raw), 50 * MB + 1, 50 * MB), ARRIVED)
    assert "邮件大小为 50.1 MB，超过 50 MB 的上限" in envelope.refused


def test_small_limits_are_written_in_kilobytes():
    raw = corpus.submission(corpus.encode_header(corpus.SUBJECT))
    envelope = decode(header_only_original(header_block(raw), 700_000, 512 * 1024), ARRIVED)
    assert "684 KB" in envelope.refused and "超过 512 KB 的上限" in envelope.refused


def test_setting_has_a_safe_default_and_is_validated():
    assert Settings().max_message_mb == 50
    with pytest.raises(ValueError):
        Settings(max_message_mb=0)


def test_fetch_groups_keep_uid_order_bound_memory_and_isolate_oversize_mail():
    sizes = {1: 10, 2: FETCH_BATCH_BYTES + 1, 3: 20, 4: FETCH_BATCH_BYTES - 10, 5: 30, 6: 5}
    groups = list(_groups([1, 2, 3, 4, 5, 6], sizes, max_bytes=FETCH_BATCH_BYTES))
    assert groups == [([1], True), ([2], False), ([3], True), ([4], True), ([5, 6], True)]
    assert [u for g, _ in groups for u in g] == [1, 2, 3, 4, 5, 6]
    assert list(_groups([1, 2], {1: 10, 2: 200}, None)) == [([1, 2], True)]


# --- against the real servers -----------------------------------------------------------------


def big_submission(subject: str, *, sender: str = CONTACT, size: int = 1 * MB) -> bytes:
    scan = os.urandom(size)  # incompressible, like a scan
    return submission(subject, sender=sender, attachments=[("汇总表扫描件.pdf", scan, "application", "pdf")])


def test_mailbox_fetches_only_the_header_of_mail_over_the_limit(dovecot):
    small = submission(f"{UNIT}+2025年证书申报")
    big = big_submission(f"{UNIT}+2025年证书申报")
    for raw in (small, big, small):
        dovecot.append(raw, IN_WINDOW)
    config = imap.MailboxConfig(dovecot.host, dovecot.port, dovecot.user, dovecot.password, False, 10)
    with imap.Mailbox(config) as box:
        uidvalidity, uids = box.uids("INBOX")
        fetched = list(box.fetch("INBOX", uidvalidity, uids, max_bytes=512 * 1024))
    assert [f.uid for f in fetched] == uids
    assert [f.complete for f in fetched] == [True, False, True]
    assert fetched[1].size > MB and len(fetched[1].raw) < 2048
    assert fetched[1].raw.endswith(b"\r\n\r\n") and b"Subject:" in fetched[1].raw
    assert fetched[1].internaldate == IN_WINDOW


def sessions(dovecot, count: int) -> list[dict[str, int]]:
    """Dovecot's account of the first ``count`` IMAP sessions, from its logout lines
    (``Logged out in=… out=… hdr_count=… body_bytes=…``); waits for lines not yet written."""
    deadline = time.monotonic() + 10
    while True:
        lines = re.findall(r"Logged out (.*)", dovecot.log())
        if len(lines) >= count:
            return [{k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", line)} for line in lines[:count]]
        assert time.monotonic() < deadline, f"Dovecot logged {len(lines)} sessions, expected {count}"
        time.sleep(0.1)


def test_oversize_mail_gets_one_reply_is_filed_and_its_body_is_never_fetched(world, dovecot, smtp_sink):
    env = {**world, "INTAKE_MAX_MESSAGE_MB": "0.5"}
    big = big_submission(f"{UNIT}+2025年证书申报", size=2 * MB)
    bounce = big_submission(f"{UNIT}+2025年证书申报", sender="MAILER-DAEMON@126.com")
    small = submission(f"{UNIT}+2025年证书申报")
    for raw in (big, bounce, small):
        dovecot.append(raw, IN_WINDOW)
    appends = len(sessions(dovecot, 3))  # one session per APPEND

    done = run_intake(env, "run", "--once")
    assert done.returncode == 0, done.stderr
    again = run_intake(env, "run", "--once")  # nothing is answered twice
    assert again.returncode == 0, again.stderr

    # Bodies never left the server: Dovecot counts two header fetches and one body (the small mail).
    first, second = sessions(dovecot, appends + 2)[appends:]
    assert (first["hdr_count"], first["body_count"], second["body_count"]) == (2, 1, 0), (first, second)
    assert first["body_bytes"] < 1024 and first["out"] + second["out"] < 64 * 1024
    # What was stored for it is its header block, marked; the small mail is stored whole.
    stored = sorted(p.read_bytes() for p in Path(env["INTAKE_DATA_DIR"]).rglob("*.eml"))
    assert len(stored) == 3
    headers_only = [raw for raw in stored if raw.startswith(b"X-Intake-Oversize:")]
    assert len(headers_only) == 2 and all(len(raw) < 4096 for raw in headers_only)
    for raw in headers_only:  # nothing after the header block's blank line
        assert raw.replace(b"\r\n", b"\n").split(b"\n\n")[1:] == [b""]

    # One reply each, to the sender, for the big and the small submission; none to the bounce.
    assert len(smtp_sink.received) == 2
    assert {to for _f, (to,), _raw in smtp_sink.received} == {CONTACT}
    replies = {r["X-Intake-Reasons"]: r for r in smtp_sink.messages()}
    assert set(replies) == {"attachment.unreadable", "attachment.missing"}
    text = replies["attachment.unreadable"].get_content()
    # 2 MB of scan, base64-encoded in the mail: 2.7 MB on the server.
    assert re.search(r"邮件大小为 2\.\d MB，超过 512 KB 的上限", text), text
    assert "压缩" in text and "分开发送" in text
    assert replies["attachment.unreadable"]["X-Intake-Decision"] == "rejected"

    # The whole mail is still on the server, filed like any other.
    assert dovecot.messages("INBOX") == []
    rejected = dovecot.messages("已处理/退回")
    assert len(rejected) == 2 and max(len(m) for m in rejected) > 2 * MB
    # (And the count is real: the session that just read the filed mail whole shows it.)
    assert sessions(dovecot, appends + 4)[-1]["body_bytes"] > 2 * MB
    (ignored,) = dovecot.messages("已忽略")
    assert len(ignored) > MB


def test_attachments_left_when_the_mail_read_budget_is_spent_are_refused_with_the_reason():
    pdfs = [corpus.named(corpus.sample_pdf(), "application/pdf", f"表{i}.pdf") for i in range(3)]
    envelope = decode(corpus.submission(corpus.encode_header(corpus.SUBJECT), *pdfs), ARRIVED)
    unit = UnitRef(name=corpus.UNIT, contacts=(corpus.SENDER,))
    read_names = []

    def slow_reader(data, filename, **_):
        read_names.append(filename)
        time.sleep(0.3)
        raise ReaderError("无法识别")

    result = process(envelope, load_profile("anhui-2025"), LedgerState(units=(unit,)), read=slow_reader,
                     budget_seconds=0.5)
    assert read_names == ["表0.pdf", "表1.pdf"]
    (refused,) = [r for r in result.decision.reasons if r.attachment == "表2.pdf"]
    assert refused.code is ReasonCode.ATTACHMENT_UNREADABLE and "超过 0.5 秒的上限" in refused.detail
    assert "分几封邮件发送" in refused.detail
