"""``make demo``: the newcomer's first look, on a throw-away local mail stack.

Starts Dovecot and an SMTP sink on loopback, loads a sample world (Anhui's
schools, the public certificate list, a few approved quotas), delivers a
handful of sample mails (good and bad), runs ``intake run --once`` and prints
what was decided, where the replies and the ledger export are.
"""

from __future__ import annotations

import email
import email.policy
import os
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.table import Table

from testkit.forms import (
    INCREASE_HEADERS,
    SUMMARY_HEADERS,
    FormSpec,
    Row,
    Variant,
    degrade,
    encode_image,
    render_image,
    render_pdf,
)
from testkit.mailstack import Dovecot, SmtpSink, free_port
from testkit.world import submission, write_anhui_world, write_csv

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "demo-out"
SHANGHAI = ZoneInfo("Asia/Shanghai")
INTAKE = str(Path(sys.executable).with_name("intake"))
OFFICE = "ahxzsbg@126.com"
console = Console()

SCHOOL_A = "淮北职业技术学院"
SCHOOL_B = "安徽商贸职业技术学院"
SCHOOL_C = "阜阳职业技术学院"


def write_world(folder: Path) -> tuple[Path, Path, Path, dict[str, str]]:
    """Units, catalogue and quotas as the office would keep them in Excel (here CSV)."""
    units, catalog, contacts = write_anhui_world(folder)
    quotas = write_csv(folder / "quotas.csv", ["年度", "单位名称", "证书名称", "级别", "批准人数"], [
        [2025, SCHOOL_B, "Web前端开发", "中级", 40],
        [2025, SCHOOL_B, "物流管理", "初级", 60],
        [2025, SCHOOL_C, "智能财税", "中级", 30],
    ])
    return units, catalog, quotas, contacts


def summary_spec(unit: str, rows: list[tuple[str, str, int]], total_error: int = 0) -> FormSpec:
    total = sum(n for _, _, n in rows) + total_error
    return FormSpec(
        kind="summary",
        title="安徽省 1+X 职业技能等级证书申报学校汇总表",
        unit=unit,
        headers=SUMMARY_HEADERS,
        rows=tuple(Row(c, c + "职业技能等级证书", lvl, (n,)) for c, lvl, n in rows),
        total=total,
        blank_rows=2,
    )


def increase_spec(unit: str, rows: list[tuple[str, str, int, int]]) -> FormSpec:
    return FormSpec(
        kind="increase",
        title="安徽省 1+X 职业技能等级证书考核指标调增申请表",
        unit=unit,
        headers=INCREASE_HEADERS,
        rows=tuple(Row(c, c, lvl, (a, r)) for c, lvl, a, r in rows),
    )


def mail(sender: str, subject: str, attachments: list[tuple[str, bytes]] = (), headers: dict | None = None) -> bytes:
    parts = [(name, data, *(("application", "pdf") if name.endswith(".pdf") else ("image", "jpeg")))
             for name, data in attachments]
    return submission(subject, sender=sender, attachments=parts, headers=headers)


def sample_mails(contacts: dict[str, str]) -> list[tuple[str, bytes, datetime]]:
    a, b, c = contacts[SCHOOL_A], contacts[SCHOOL_B], contacts[SCHOOL_C]
    in_window = datetime(2025, 3, 20, 10, 0, tzinfo=SHANGHAI)
    good = summary_spec(SCHOOL_A, [("Web前端开发", "初级", 45), ("物流管理", "中级", 30), ("智能财税", "初级", 52)])
    photo = degrade(render_image(summary_spec(SCHOOL_C, [("老年照护", "初级", 25), ("网店运营推广", "中级", 18)]), dpi=200),
                    Variant(colour="color", skew=1.0, noise=4, jpeg_quality=80), seed=1)
    bad_total = summary_spec(SCHOOL_B, [("母婴护理", "初级", 20), ("电子商务数据分析", "中级", 35)], total_error=5)
    increase = increase_spec(SCHOOL_B, [("Web前端开发", "中级", 40, 55)])
    wrong_original = increase_spec(SCHOOL_C, [("智能财税", "中级", 25, 40)])
    return [
        ("text PDF summary", mail(a, f"{SCHOOL_A}+2025年证书申报", [("申报学校汇总表.pdf", render_pdf([good]))]), in_window),
        ("scanned summary (JPEG)", mail(c, f"{SCHOOL_C}+2025年证书申报", [("汇总表扫描件.jpg", encode_image(photo, "JPEG"))]), in_window),
        ("total does not add up", mail(b, f"Re: {SCHOOL_B} ＋ 2025年证书申报", [("汇总表.pdf", render_pdf([bad_total]))]), in_window),
        ("quota increase", mail(b, f"{SCHOOL_B}+2025年证书指标调增申请", [("调增申请表.pdf", render_pdf([increase]))]), in_window),
        ("wrong original quota", mail(c, f"{SCHOOL_C}+2025年证书指标调增申请", [("调增申请.pdf", render_pdf([wrong_original]))]), in_window),
        ("subject without the rule", mail(a, "申报材料", [("申报学校汇总表.pdf", render_pdf([good]))]), in_window),
        ("after the window", mail(a, f"{SCHOOL_A}+2025年证书申报", [("汇总表.pdf", render_pdf([good]))]),
         datetime(2025, 4, 11, 8, 30, tzinfo=SHANGHAI)),
        ("no attachment", mail(c, f"{SCHOOL_C}+2025年证书申报"), in_window),
        ("out-of-office auto-reply", mail(a, "自动回复：休假中", headers={"Auto-Submitted": "auto-replied"}), in_window),
    ]


def run(env: dict[str, str], *args: str) -> None:
    done = subprocess.run([INTAKE, *args], env={**os.environ, **env}, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        console.print(f"[red]intake {' '.join(args)} failed:[/red]\n{done.stderr}")
        raise SystemExit(1)


def main() -> None:
    shutil.rmtree(OUT, ignore_errors=True)
    (OUT / "replies").mkdir(parents=True)
    dovecot_root = Path(tempfile.mkdtemp(prefix="intake-demo-"))
    dovecot = Dovecot(root=dovecot_root, port=free_port())
    sink = SmtpSink(port=free_port())
    with console.status("starting a local Dovecot and SMTP sink…"):
        dovecot.start()
        sink.start()
    try:
        env = {
            "INTAKE_PROFILE": "anhui-2025",
            "INTAKE_DB_URL": f"sqlite:///{OUT / 'ledger.sqlite3'}",
            "INTAKE_DATA_DIR": str(OUT / "originals"),
            "INTAKE_IMAP_HOST": "127.0.0.1",
            "INTAKE_IMAP_PORT": str(dovecot.port),
            "INTAKE_IMAP_USER": dovecot.user,
            "INTAKE_IMAP_PASSWORD": dovecot.password,
            "INTAKE_IMAP_SSL": "0",
            "INTAKE_SMTP_HOST": "127.0.0.1",
            "INTAKE_SMTP_PORT": str(sink.port),
            "INTAKE_SMTP_SSL": "0",
            "INTAKE_FROM": OFFICE,
            "INTAKE_LOG_FORMAT": "json",
        }
        units, catalog, quotas, contacts = write_world(OUT)
        with console.status("importing units, catalogue and quotas…"):
            run(env, "units", "import", str(units))
            run(env, "catalog", "import", str(catalog))
            run(env, "quotas", "import", str(quotas))
        samples = sample_mails(contacts)
        with console.status(f"delivering {len(samples)} sample mails…"):
            for _label, raw, arrived in samples:
                dovecot.append(raw, arrived)
        with console.status("running the worker once (reading scans takes a few seconds)…"):
            run(env, "run", "--once")
            run(env, "ledger", "export", "--format", "json", "-o", str(OUT / "ledger.json"))
            run(env, "ledger", "export", "--format", "xlsx", "-o", str(OUT / "ledger.xlsx"))
        show(samples, sink)
    finally:
        sink.stop()
        dovecot.stop()
        shutil.rmtree(dovecot_root, ignore_errors=True)


def show(samples, sink: SmtpSink) -> None:
    replies = {}
    for i, (_frm, _to, raw) in enumerate(sink.received, 1):
        reply = email.message_from_bytes(raw, policy=email.policy.default)
        path = OUT / "replies" / f"{i:02d}.eml"
        path.write_bytes(raw)
        replies[reply["In-Reply-To"]] = (reply, path)
    table = Table(title="1+X Intake demo: what the worker decided")
    table.add_column("sample")
    table.add_column("decision")
    table.add_column("reasons", overflow="fold")
    table.add_column("reply")
    colours = {"accepted": "green", "rejected": "red", "review": "yellow"}
    for label, raw, _arrived in samples:
        original = email.message_from_bytes(raw, policy=email.policy.default)
        reply, path = replies.get(original["Message-ID"], (None, None))
        if reply is None:
            table.add_row(label, "[dim]ignored[/dim]", "no reply: auto-generated or no submission", "–")
            continue
        decision = reply["X-Intake-Decision"]
        reasons = (reply["X-Intake-Reasons"] or "").replace(",", ", ")
        table.add_row(label, f"[{colours.get(decision, 'white')}]{decision}[/]", reasons, path.name)
    console.print(table)
    console.print(f"Replies: {OUT.relative_to(ROOT)}/replies/*.eml   Ledger: {OUT.relative_to(ROOT)}/ledger.xlsx, ledger.json")
    first = next(iter(replies.values()), None)
    if first:
        console.print("\nOne reply as the school reads it:\n", style="bold")
        console.print(first[0].get_content())


if __name__ == "__main__":
    main()
