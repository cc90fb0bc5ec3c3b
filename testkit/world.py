"""A small sample world for worker tests: one school, one certificate, mail builders.

``load_world`` imports the school (``UNIT``, contact ``CONTACT``) and one certificate through
the real ``intake`` command; ``write_anhui_world`` writes every Anhui school and the whole
catalogue as import files (the demo and the throughput bench); ``submission`` is a school's
mail and ``burst`` a deadline day of them, each a text-layer summary PDF.
"""

from __future__ import annotations

import csv
import os
import random
import subprocess
import sys
from datetime import datetime
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from zoneinfo import ZoneInfo

from testkit.forms import SUMMARY_HEADERS, FormSpec, Row, catalogue, render_pdf

SHANGHAI = ZoneInfo("Asia/Shanghai")
INTAKE = str(Path(sys.executable).with_name("intake"))
UNIT = "合肥职业技术学院"
CONTACT = "jwc@hfpu.edu.cn"
DATA = Path(__file__).resolve().parents[1] / "config" / "data"


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


UNITS_HEADER = ["单位名称", "单位类型", "所属市", "别名", "联系邮箱"]
CATALOG_HEADER = ["批次", "证书名称", "培训评价组织", "级别"]


def write_anhui_world(folder: Path) -> tuple[Path, Path, dict[str, str]]:
    """Every Anhui school (one registered contact each) and the whole public catalogue, as import CSVs."""
    with (DATA / "schools.csv").open(encoding="utf-8") as fh:
        anhui = [row for row in csv.DictReader(fh) if row["province"] == "安徽省"]
    contacts = {row["name"]: f"jwc-{row['code']}@example.edu.cn" for row in anhui}
    units = write_csv(folder / "units.csv", UNITS_HEADER, [
        [row["name"], "本科" if row["level"] == "本科" else "高职", row["city"], "", contacts[row["name"]]]
        for row in anhui])
    with (DATA / "certificates.csv").open(encoding="utf-8") as fh:
        catalog = write_csv(folder / "catalog.csv", CATALOG_HEADER, [
            [row["batch"], row["name"], row["organization"], row["levels"].replace("|", ";") or "初级;中级;高级"]
            for row in csv.DictReader(fh)])
    return units, catalog, contacts


def load_world(env: dict[str, str], folder: Path) -> dict[str, str]:
    """Import one school with a registered contact and one certificate into ``env``'s ledger."""
    units = write_csv(folder / "units.csv", UNITS_HEADER, [[UNIT, "高职", "合肥市", "合肥职院", CONTACT]])
    catalog = write_csv(folder / "catalog.csv", CATALOG_HEADER,
                        [["1", "Web前端开发", "工业和信息化部教育与考试中心", "初级;中级;高级"]])
    for kind, path in (("units", units), ("catalog", catalog)):
        done = run_intake(env, kind, "import", str(path))
        assert done.returncode == 0, done.stderr
    return env


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


def burst(contacts: dict[str, str], count: int, seed: int = 7) -> list[bytes]:
    """``count`` submissions from the schools in ``contacts`` in turn, each a summary PDF of 4 random lines."""
    rng = random.Random(seed)
    names = list(contacts)
    certs = catalogue()
    mails = []
    for i in range(count):
        unit = names[i % len(names)]
        picked = rng.sample(certs, 4)
        rows = tuple(Row(c, c, rng.choice(levels), (rng.randint(10, 80),)) for c, levels in picked)
        spec = FormSpec("summary", "安徽省 1+X 职业技能等级证书申报学校汇总表", unit, SUMMARY_HEADERS, rows,
                        total=sum(r.numbers[0] for r in rows))
        pdf = render_pdf([spec])
        mails.append(submission(f"{unit}+2025年证书申报", sender=contacts[unit],
                                attachments=[("汇总表.pdf", pdf, "application", "pdf")]))
    return mails
