"""End to end: a real mail in Dovecot, ``intake run --once`` as a process, the real reply in SMTP."""

from __future__ import annotations

import json

from testkit.forms import SUMMARY_HEADERS, FormSpec, Row, render_pdf
from testkit.world import CONTACT, IN_WINDOW, UNIT, run_intake, submission


def test_missing_attachment_gets_exactly_one_threaded_reply(world, dovecot, smtp_sink):
    raw = submission(f"{UNIT}+2025年证书申报")
    dovecot.append(raw, IN_WINDOW)

    done = run_intake(world, "run", "--once")
    assert done.returncode == 0, done.stderr

    (reply,) = smtp_sink.messages()
    original_id = raw.split(b"Message-ID: ")[1].split(b"\n")[0].strip().decode()
    # JSON log lines; every line about this message's processing names it.
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    about = [line for line in lines if line["event"].startswith(("message.", "reply."))]
    assert {"message.stored", "message.decided", "reply.sent"} <= {line["event"] for line in about}
    assert all(line.get("message_id") == original_id for line in about if line["event"] != "reply.sent")
    assert reply["In-Reply-To"] == original_id
    assert original_id in reply["References"]
    assert reply["Auto-Submitted"] == "auto-replied"
    assert reply["X-Intake-Decision"] == "rejected"
    assert reply["X-Intake-Reasons"] == "attachment.missing"
    assert reply["Subject"] == f"回复：{UNIT}+2025年证书申报"
    assert smtp_sink.received[0][1] == [CONTACT]
    assert "附件" in reply.get_content()

    # The mail was filed, and the client identified itself (NetEase needs IMAP ID).
    assert dovecot.messages("INBOX") == []
    assert len(dovecot.messages("已处理/退回")) == 1
    assert "onex-intake" in dovecot.log()

    # A second run neither answers again nor loses the mail.
    again = run_intake(world, "run", "--once")
    assert again.returncode == 0, again.stderr
    assert len(smtp_sink.received) == 1
    assert len(dovecot.messages("已处理/退回")) == 1


def test_auto_reply_and_bounce_get_no_reply(world, dovecot, smtp_sink):
    dovecot.append(
        submission("自动回复：您好", headers={"Auto-Submitted": "auto-replied"}), IN_WINDOW
    )
    dovecot.append(
        submission(f"{UNIT}+2025年证书申报", sender="MAILER-DAEMON@126.com"), IN_WINDOW
    )
    done = run_intake(world, "run", "--once")
    assert done.returncode == 0, done.stderr
    assert smtp_sink.received == []
    assert len(dovecot.messages("已忽略")) == 2


def test_reply_waits_while_smtp_refuses_and_goes_out_once_later(world, dovecot, smtp_sink):
    dovecot.append(submission(f"{UNIT}+2025年证书申报"), IN_WINDOW)
    smtp_sink.refuse_with = "451 MI:SFQ 发送频率过快"
    world = {**world, "INTAKE_RETRY_BASE": "0"}  # retry at once instead of in a minute
    first = run_intake(world, "run", "--once")
    assert first.returncode == 0, first.stderr
    assert smtp_sink.received == []
    assert dovecot.messages("已处理/退回") == []  # not filed before the reply went out
    health = run_intake(world, "health")
    assert health.returncode == 0, health.stdout
    report = json.loads(health.stdout)
    assert (report["database"]["queue_depth"], report["database"]["unsent_replies"]) == (0, 1)

    smtp_sink.refuse_with = None
    second = run_intake(world, "run", "--once")
    assert second.returncode == 0, second.stderr
    assert len(smtp_sink.received) == 1
    assert len(dovecot.messages("已处理/退回")) == 1


def test_health_fails_when_the_mailbox_is_down(world, dovecot):
    dovecot.stop()
    health = run_intake(world, "health")
    assert health.returncode == 1
    assert json.loads(health.stdout)["mailbox"]["ok"] is False


def summary_pdf(rows: list[tuple[str, str, int]]) -> bytes:
    spec = FormSpec(
        kind="summary",
        title="安徽省 1+X 职业技能等级证书申报学校汇总表",
        unit=UNIT,
        headers=SUMMARY_HEADERS,
        rows=tuple(Row(c, c + "职业技能等级证书", level, (n,)) for c, level, n in rows),
        total=sum(n for _, _, n in rows),
    )
    return render_pdf([spec])


def test_stamped_summary_is_accepted_and_a_newer_one_supersedes_it(world, dovecot, smtp_sink, tmp_path):
    first = submission(
        f"{UNIT}+2025年证书申报",
        attachments=[("汇总表.pdf", summary_pdf([("Web前端开发", "初级", 45)]), "application", "pdf")],
    )
    dovecot.append(first, IN_WINDOW)
    assert run_intake(world, "run", "--once").returncode == 0
    later = IN_WINDOW.replace(day=21)
    second = submission(
        f"回复：{UNIT}+2025年证书申报",
        attachments=[("汇总表-更正.pdf", summary_pdf([("Web前端开发", "中级", 50)]), "application", "pdf")],
    )
    dovecot.append(second, later)
    assert run_intake(world, "run", "--once").returncode == 0

    replies = smtp_sink.messages()
    assert [r["X-Intake-Decision"] for r in replies] == ["accepted", "accepted"]
    assert "1｜Web前端开发｜初级｜45人" in replies[0].get_content()
    assert "替代贵单位于2025年03月20日 10:00（北京时间）提交的汇总表" in replies[1].get_content()

    out = tmp_path / "ledger.json"
    assert run_intake(world, "ledger", "export", "--format", "json", "-o", str(out)).returncode == 0
    submissions = json.loads(out.read_text(encoding="utf-8"))["submissions"]
    assert [(s["decision"], s["total"], s["lines"][0]["level"]) for s in submissions] == [
        ("accepted", 45, "初级"),
        ("accepted", 50, "中级"),
    ]
    assert len(dovecot.messages("已处理/通过")) == 2


def test_limits_come_from_settings_and_give_a_clear_reason(world, dovecot, smtp_sink):
    two_pages = render_pdf([FormSpec("summary", "安徽省 1+X 职业技能等级证书申报学校汇总表", UNIT, SUMMARY_HEADERS,
                                     (Row("Web前端开发", "Web前端开发", "初级", (5,)),), total=5)] * 2)
    dovecot.append(
        submission(f"{UNIT}+2025年证书申报", attachments=[("汇总表.pdf", two_pages, "application", "pdf")]),
        IN_WINDOW,
    )
    done = run_intake({**world, "INTAKE_MAX_PDF_PAGES": "1"}, "run", "--once")
    assert done.returncode == 0, done.stderr
    (reply,) = smtp_sink.messages()
    assert reply["X-Intake-Reasons"] == "attachment.unreadable"
    assert "汇总表.pdf" in reply.get_content() and "页" in reply.get_content()
