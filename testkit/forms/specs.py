"""What a school writes on the form: the table's rows and headers, drawn from the real catalogue.

A ``FormSpec`` is the form's content and its truth, before any layout: ``random_form`` picks
plausible rows (distinct certificate and level pairs, 1–3 digit counts, names typed with or
without the 职业技能等级证书 suffix), ``application_form`` the 附件1 page schools send along.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parents[2] / "config" / "data"
CERT_SUFFIX = "职业技能等级证书"
LEVELS = ("初级", "中级", "高级")

# Column header texts as the notices print them.
SUMMARY_HEADERS = ("序号", "职业技能等级证书", "级别", "2025 年拟申报人数")
INCREASE_HEADERS = ("序号", "证书名称", "证书级别", "原批准人数", "调增后人数")
JIANGSU_HEADERS = ("序号", "证书名称", "证书级别", "原申报人数", "调整后人数")


@dataclass(frozen=True)
class Row:
    certificate: str  # canonical catalogue name (the truth)
    written: str  # the name as the school typed it (suffix, bracket style)
    level: str
    numbers: tuple[int, ...]  # (count,) for a summary, (approved, requested) for an increase


@dataclass(frozen=True)
class FormSpec:
    kind: str  # summary | increase | application
    title: str
    unit: str
    headers: tuple[str, ...]
    rows: tuple[Row, ...]
    total: int | None = None  # the 合计 row as written (summary only)
    blank_rows: int = 0  # empty rows left at the end of the table
    contact: str = "张老师 13912345678"
    date: str = "2025年3月20日"
    province: str = "安徽省"

    def truth(self, *, stamp: bool) -> dict:
        """The reading a perfect reader returns for this page (the contract's line shape)."""
        if self.kind == "application":
            return {"kind": "application"}
        if self.kind == "summary":
            lines = [
                {"row": i + 1, "certificate": r.certificate, "level": r.level, "count": r.numbers[0]}
                for i, r in enumerate(self.rows)
            ]
        else:
            lines = [
                {
                    "row": i + 1,
                    "certificate": r.certificate,
                    "level": r.level,
                    "approved": r.numbers[0],
                    "requested": r.numbers[1],
                }
                for i, r in enumerate(self.rows)
            ]
        truth = {"kind": self.kind, "unit": self.unit, "stamp": stamp, "lines": lines}
        if self.kind == "summary":
            truth["total"] = self.total
        return truth


@lru_cache(maxsize=1)
def catalogue() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """(name, levels) from the bundled certificate list; no levels listed means all three."""
    with (DATA_DIR / "certificates.csv").open(encoding="utf-8") as fh:
        return tuple(
            (row["name"], tuple(row["levels"].split("|")) if row["levels"] else LEVELS)
            for row in csv.DictReader(fh)
        )


@lru_cache(maxsize=4)
def schools(province: str = "安徽省") -> tuple[str, ...]:
    with (DATA_DIR / "schools.csv").open(encoding="utf-8") as fh:
        return tuple(row["name"] for row in csv.DictReader(fh) if row["province"] == province)


def _written_name(name: str, rng: random.Random) -> str:
    """How schools type the certificate: with or without the suffix, brackets of either width."""
    written = name + CERT_SUFFIX if rng.random() < 0.5 else name
    if rng.random() < 0.3:
        written = written.replace("（", "(").replace("）", ")")
    return written


def _number(rng: random.Random) -> int:
    # Every digit count matters to the reader: 1, 2 and 3 digits.
    return rng.choice([rng.randint(1, 9), rng.randint(10, 99), rng.randint(10, 99), rng.randint(100, 480)])


def random_form(
    kind: str = "summary",
    *,
    seed: int = 0,
    rows: int | None = None,
    province: str = "安徽省",
    blank_rows: int | None = None,
    total_error: int = 0,
    long_names: bool | None = None,
) -> FormSpec:
    """A plausible form: ``rows`` distinct (certificate, level) lines from the real catalogue.

    ``total_error`` adds that much to the written 合计 (a school's own arithmetic mistake).
    ``long_names`` forces at least one name long enough to wrap in its cell.
    """
    rng = random.Random(f"{kind}-{seed}-{province}")
    n = rows if rows is not None else rng.randint(3, 30)
    pairs = [(name, level) for name, levels in catalogue() for level in levels]
    rng.shuffle(pairs)
    chosen = pairs[:n]
    if long_names or (long_names is None and rng.random() < 0.5):
        longest = max(pairs, key=lambda p: len(p[0]))
        if longest not in chosen:
            chosen[rng.randrange(len(chosen))] = longest
    table = []
    for name, level in chosen:
        if kind == "summary":
            numbers: tuple[int, ...] = (_number(rng),)
        else:
            approved = _number(rng)
            numbers = (approved, approved + rng.randint(1, 120))
        table.append(Row(name, _written_name(name, rng), level, numbers))
    unit = rng.choice(schools(province))
    blanks = blank_rows if blank_rows is not None else rng.choice([0, 0, 1, 2, 3])
    if kind == "summary":
        title = f"{province} 1+X 职业技能等级证书申报学校汇总表"
        headers = SUMMARY_HEADERS
        total = sum(r.numbers[0] for r in table) + total_error
    elif province == "江苏省":
        title = f"{province}1+X证书申报调整申请表"
        headers = JIANGSU_HEADERS
        total = None
    else:
        title = f"{province} 1+X 职业技能等级证书指标调增申请表"
        headers = INCREASE_HEADERS
        total = None
    day = rng.randint(14, 31)
    return FormSpec(
        kind=kind,
        title=title,
        unit=unit,
        headers=headers,
        rows=tuple(table),
        total=total,
        blank_rows=blanks,
        contact=f"{rng.choice('张王李赵陈刘杨黄周吴')}老师 139{rng.randint(10000000, 99999999)}",
        date=f"2025年3月{day}日",
        province=province,
    )


def application_form(unit: str, province: str = "安徽省") -> FormSpec:
    """The 附件1 申报表 page schools often send alongside the summary: not a quota form."""
    return FormSpec(
        kind="application",
        title="附件1  1+X 证书制度试点院校申报表",
        unit=unit,
        headers=("项目", "内容"),
        rows=(
            Row("", "院校名称", "", ()),
            Row("", "所在地市", "", ()),
            Row("", "试点负责人", "", ()),
            Row("", "试点专业数", "", ()),
        ),
        province=province,
    )
