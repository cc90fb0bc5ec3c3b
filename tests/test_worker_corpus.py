"""Every mail of the decoding corpus, through a real Dovecot and the real worker."""

from __future__ import annotations

import email.utils

from testkit import eml_corpus
from testkit.world import IN_WINDOW, run_intake, write_csv

NO_SUBMISSION = {"not_a_submission"}  # a question, not an attempt: no reply, filed in 其他来信


def case_mail(name: str) -> bytes:
    """The corpus case with a Message-ID of its own (the corpus shares one on purpose)."""
    raw = eml_corpus.CASES[name][0]()
    return raw.replace(b"<case-0001@ahbvc.edu.cn>", f"<case-{name}@ahbvc.edu.cn>".encode())


def test_corpus_through_dovecot_gets_one_correct_reply_per_attempt(mail_env, dovecot, smtp_sink, tmp_path):
    units = write_csv(tmp_path / "units.csv", ["单位名称", "单位类型", "所属市", "别名", "联系邮箱"],
                      [[eml_corpus.UNIT, "高职", "芜湖市", "安徽商贸职院", eml_corpus.SENDER]])
    assert run_intake(mail_env, "units", "import", str(units)).returncode == 0
    expected: dict[str, str] = {}  # original Message-ID (or None) -> decoded subject
    silent = 0
    for name, (_builder, subject, _names, no_reply) in eml_corpus.CASES.items():
        raw = case_mail(name)
        dovecot.append(raw, IN_WINDOW)
        if no_reply or name in NO_SUBMISSION:
            silent += 1
            continue
        message_id = email.message_from_bytes(raw)["Message-ID"]
        expected[message_id.strip() if message_id else name] = subject

    done = run_intake(mail_env, "run", "--once")
    assert done.returncode == 0, done.stderr

    replies = smtp_sink.messages()
    assert len(expected) == 33 and len(replies) == len(expected)
    by_original = {r["In-Reply-To"]: r for r in replies}
    for original_id, subject in expected.items():
        if original_id == "no_message_id":
            continue  # answered under a synthetic Message-ID, checked below
        reply = by_original[original_id]
        assert str(reply["Subject"]) == f"回复：{subject}"
        assert reply["Auto-Submitted"] == "auto-replied"
    synthetic = [r for r in replies if r["In-Reply-To"] not in expected]
    assert len(synthetic) == 1 and synthetic[0]["In-Reply-To"].startswith("<")

    reasons = {r["In-Reply-To"]: r["X-Intake-Reasons"] for r in replies}
    for case, code in (("zip_bomb", "attachment.unreadable"), ("rar", "attachment.unreadable"),
                       ("seven_zip", "attachment.unreadable"), ("no_attachment", "attachment.missing")):
        assert code in reasons[f"<case-{case}@ahbvc.edu.cn>"], case

    assert dovecot.messages("INBOX") == []
    assert len(dovecot.messages("已忽略")) == silent - len(NO_SUBMISSION)
    assert len(dovecot.messages("其他来信")) == len(NO_SUBMISSION)
