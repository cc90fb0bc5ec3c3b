"""Mail that is no submission, through a real Dovecot, ``intake run --once`` and a real SMTP sink:
no reply, recorded as ignored with the reason, filed for staff; a sloppy attempt is still answered."""

from __future__ import annotations

import sqlalchemy as sa

from ledger.db import connect
from ledger.models import Message
from testkit.world import CONTACT, IN_WINDOW, UNIT, run_intake, submission
from testkit.form_pages import DOCX_TYPE, filled, pdf_of, summary_spec, word_document

RECEIPTS = (
    "安徽XX职业技术学院关于参加2025年1+X证书培训会议的回执",
    f"{UNIT}关于参加2025年1+X证书申报培训会议的回执",
    f"{UNIT}+2025年证书申报培训会议回执",
    "回复：会议回执",
)


def _docx() -> tuple[str, bytes, str, str]:
    maintype, subtype = DOCX_TYPE.split("/")
    return ("2025年1+X证书培训会议回执.docx", word_document("参会回执"), maintype, subtype)


def _notes(env: dict[str, str]) -> dict[str, tuple[str | None, str]]:
    engine = connect(env["INTAKE_DB_URL"])
    try:
        with engine.connect() as conn:
            return {subject: (outcome, note) for subject, outcome, note in conn.execute(
                sa.select(Message.subject, Message.outcome, Message.note))}
    finally:
        engine.dispose()


def _deliver_and_run(world, dovecot):
    for subject in RECEIPTS:
        dovecot.append(submission(subject, attachments=[_docx()]), IN_WINDOW)
    sloppy = pdf_of([filled(summary_spec(UNIT, [("Web前端开发", "初级", 30)]))])
    dovecot.append(submission("请查收", attachments=[("scan0001.pdf", sloppy, "application", "pdf")]), IN_WINDOW)
    done = run_intake(world, "run", "--once")
    assert done.returncode == 0, done.stderr
    return done


def test_receipts_get_no_reply_and_a_sloppy_attempt_gets_subject_malformed(world, dovecot, smtp_sink):
    _deliver_and_run(world, dovecot)

    (reply,) = smtp_sink.messages()  # only the attempt is answered
    assert reply["Subject"] == "回复：请查收"
    assert reply["X-Intake-Decision"] == "rejected"
    assert reply["X-Intake-Reasons"] == "subject.malformed"
    assert "应为：单位全称+2025年证书申报" in reply.get_content()

    notes = _notes(world)
    for subject in RECEIPTS:
        outcome, note = notes[subject]
        assert outcome is None, subject  # ignored: no decision, no submission
        assert note.startswith("not a submission attempt: 主题含“"), note
        assert "附件不是可读取的 PDF 或图片" in note
    assert dovecot.messages("INBOX") == []
    assert len(dovecot.messages("已处理/退回")) == 1


def test_receipts_are_filed_in_the_other_mail_folder_and_auto_replies_stay_ignored(world, dovecot, smtp_sink):
    dovecot.append(submission("自动回复：您好", headers={"Auto-Submitted": "auto-replied"}), IN_WINDOW)
    _deliver_and_run(world, dovecot)
    assert len(dovecot.messages("其他来信")) == len(RECEIPTS)
    assert len(dovecot.messages("已忽略")) == 1
    assert smtp_sink.received and all(to == [CONTACT] for _f, to, _raw in smtp_sink.received)
