"""End to end: a real mail in Dovecot, ``intake run --once`` as a process, the real reply in SMTP."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from datetime import datetime
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

SHANGHAI = ZoneInfo("Asia/Shanghai")
INTAKE = str(Path(sys.executable).with_name("intake"))
UNIT = "合肥职业技术学院"
CONTACT = "jwc@hfpu.edu.cn"


def run_intake(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    full_env = {**{k: v for k, v in os.environ.items() if not k.startswith("INTAKE_")}, **env}
    return subprocess.run(
        [INTAKE, *args], env=full_env, capture_output=True, text=True, timeout=300, check=False
    )


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture
def world(mail_env, tmp_path):
    """A small ledger: one school with a registered contact, two certificates, one quota."""
    units = write_csv(
        tmp_path / "units.csv",
        ["单位名称", "单位类型", "所属市", "别名", "联系邮箱"],
        [[UNIT, "高职", "合肥市", "合肥职院", CONTACT]],
    )
    catalog = write_csv(
        tmp_path / "catalog.csv",
        ["批次", "证书名称", "培训评价组织", "级别"],
        [["1", "Web前端开发", "工业和信息化部教育与考试中心", "初级;中级;高级"]],
    )
    for kind, path in (("units", units), ("catalog", catalog)):
        done = run_intake(mail_env, kind, "import", str(path))
        assert done.returncode == 0, done.stderr
    return mail_env


def submission(subject: str, *, sender: str = CONTACT, attachments=(), headers=None) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"教务处 <{sender}>"
    msg["To"] = "ahxzsbg@126.com"
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain="hfpu.edu.cn")
    msg["Date"] = "Thu, 20 Mar 2025 09:00:00 +0800"
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content("您好，附件为我校申报材料，请查收。")
    for filename, data, maintype, subtype in attachments:
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return bytes(msg)


IN_WINDOW = datetime(2025, 3, 20, 10, 0, tzinfo=SHANGHAI)


def test_missing_attachment_gets_exactly_one_threaded_reply(world, dovecot, smtp_sink):
    raw = submission(f"{UNIT}+2025年证书申报")
    dovecot.append(raw, IN_WINDOW)

    done = run_intake(world, "run", "--once")
    assert done.returncode == 0, done.stderr

    (reply,) = smtp_sink.messages()
    original_id = raw.split(b"Message-ID: ")[1].split(b"\n")[0].strip().decode()
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
    world = {**world, "INTAKE_SMTP_RETRY_BASE": "0"}  # retry at once instead of in a minute
    first = run_intake(world, "run", "--once")
    assert first.returncode == 0, first.stderr
    assert smtp_sink.received == []
    assert dovecot.messages("已处理/退回") == []  # not filed before the reply went out

    smtp_sink.refuse_with = None
    second = run_intake(world, "run", "--once")
    assert second.returncode == 0, second.stderr
    assert len(smtp_sink.received) == 1
    assert len(dovecot.messages("已处理/退回")) == 1
