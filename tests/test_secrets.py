"""Passwords never reach a log line, an error message or the process listing."""

from __future__ import annotations

from testkit.world import CONTACT, IN_WINDOW, UNIT, run_intake, submission

SMTP_SECRET = "smtp-Secret-7f3a9c"
IMAP_SECRET = "imap-Secret-0b41d2"


def test_passwords_stay_out_of_logs_on_success_and_on_failure(world, dovecot, smtp_sink):
    dovecot.append(submission(f"{UNIT}+2025年证书申报", sender=CONTACT), IN_WINDOW)
    # The SMTP server offers no AUTH: logging in fails, and the failure is logged.
    env = {**world, "INTAKE_SMTP_USER": "ahxzsbg@126.com", "INTAKE_SMTP_PASSWORD": SMTP_SECRET}
    sent = run_intake(env, "run", "--once")
    assert sent.returncode == 0, sent.stderr
    assert "reply.failed" in sent.stderr + sent.stdout
    assert smtp_sink.received == []
    # A wrong IMAP password: the run stops with advice, naming neither password.
    refused = run_intake({**world, "INTAKE_IMAP_PASSWORD": IMAP_SECRET}, "run", "--once")
    assert refused.returncode != 0
    assert "INTAKE_IMAP" in refused.stderr
    health = run_intake(env, "health")
    for done in (sent, refused, health):
        output = done.stdout + done.stderr
        for secret in (SMTP_SECRET, IMAP_SECRET, dovecot.password):
            assert secret not in output
