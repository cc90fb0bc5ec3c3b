"""What a school writes on the form, and the ground truth that goes beside each sample.

The content is drawn from the real catalogue (``config/data/certificates.csv``) and real
school names (``config/data/schools.csv``) plus secondary schools named after Anhui's
places (颍, 亳, 歙, 濉, 砀, 埇, 黟, 枞 …: the characters OCR confuses), written here.
The truth records what is *printed*: a school that added its 合计 wrong has that total.
"""

from __future__ import annotations

import csv
import json
import random
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

LEVELS = ("初级", "中级", "高级")
_DATA = Path(__file__).resolve().parents[2] / "config" / "data"

# Secondary vocational schools and technician colleges the public list lacks (it holds
# higher education only); named after Anhui's counties as such schools are.
LOCAL_SCHOOLS = (
    "阜阳清颍中等职业学校",
    "阜阳颍川职业技术学院",
    "颍上县职业教育中心",
    "亳州工业学校",
    "亳州市谯城区中等职业学校",
    "歙县职业教育中心",
    "濉溪县职业技术教育中心",
    "砀山县职业教育中心",
    "宿州市埇桥区职业教育中心",
    "黟县职业技术学校",
    "枞阳县职业技术学校",
    "泗县职业教育中心",
    "涡阳县中等职业学校",
    "霍邱县陈埠职业中学",
    "六安技师学院",
    "安徽汽车工业技师学院",
    "合肥市经贸旅游学校",
    "芜湖市中华艺术学校",
    "马鞍山工业学校",
    "淮北工业与艺术学校",
    "铜陵理工学校",
    "池州市贵池区职业教育中心",
)


@dataclass(frozen=True)
class Certificate:
    name: str
    levels: tuple[str, ...]


@lru_cache(maxsize=1)
def catalogue() -> tuple[Certificate, ...]:
    out = []
    with (_DATA / "certificates.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            levels = tuple(x for x in row["levels"].split("|") if x) or LEVELS
            out.append(Certificate(row["name"].strip(), levels))
    return tuple(out)


@lru_cache(maxsize=1)
def schools() -> tuple[str, ...]:
    with (_DATA / "schools.csv").open(encoding="utf-8") as fh:
        anhui = [r["name"].strip() for r in csv.DictReader(fh) if r["province"] == "安徽省"]
    return tuple(anhui)


@dataclass(frozen=True)
class Line:
    certificate: str  # the catalogue's name (what the reader should report)
    printed: str  # the name as the school typed it (suffix, bracket width)
    level: str
    count: int | None = None  # summary
    approved: int | None = None  # increase
    requested: int | None = None


@dataclass(frozen=True)
class Content:
    """One filled form: what is on the paper, before any layout."""

    kind: str  # summary | increase
    unit: str
    lines: tuple[Line, ...]
    total: int | None  # the printed 合计 (summary); None: no total row
    increase_totals: tuple[int, int] | None = None  # an increase form's 合计 row, when it has one
    blank_rows: int = 0  # empty ruled rows left at the bottom of the template
    filler: str = ""
    phone: str = ""
    date: str = ""


@dataclass(frozen=True)
class Truth:
    id: str
    category: str
    half: str
    seed: int
    file: str
    kind: str
    unit: str
    stamp: bool
    total: int | None
    lines: list[dict] = field(default_factory=list)
    form_page: int = 1  # 1-based page of the form inside the file
    pages: int = 1
    rows: int = 0  # ruled rows holding a line (the table's size)
    notes: list[str] = field(default_factory=list)  # how it was drawn (fonts, stamp, defects)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=1)

    @staticmethod
    def load(path: Path) -> Truth:
        return Truth(**json.loads(path.read_text(encoding="utf-8")))


_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程魏苏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦方"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玲红梅鹏飞雪琴兰凤玉萍晶颖慧婷宁浩宇"


def _row_count(rng: random.Random) -> int:
    bucket = rng.random()
    if bucket < 0.45:
        return rng.randint(3, 10)
    if bucket < 0.80:
        return rng.randint(11, 20)
    return rng.randint(21, 30)


def _printed_name(rng: random.Random, name: str) -> str:
    out = name
    if rng.random() < 0.3 and not out.endswith("证书"):
        out += "职业技能等级证书"
    if "（" in out and rng.random() < 0.5:
        out = out.replace("（", "(").replace("）", ")")
    return out


def make_content(rng: random.Random, kind: str, *, max_rows: int = 30) -> Content:
    pool = list(schools()) + list(LOCAL_SCHOOLS) * 2
    unit = rng.choice(pool)
    n = min(_row_count(rng), max_rows)
    pairs = [(c, lv) for c in catalogue() for lv in c.levels]
    rng.shuffle(pairs)
    chosen = pairs[:n]
    if rng.random() < 0.6:  # offices list a certificate's levels together
        order = {c.name: i for i, c in enumerate(catalogue())}
        chosen.sort(key=lambda p: (order[p[0].name], LEVELS.index(p[1])))
    lines = []
    for cert, level in chosen:
        printed = _printed_name(rng, cert.name)
        if kind == "summary":
            count = rng.choice([rng.randint(5, 60), rng.randint(1, 9), rng.randint(60, 200)]) if rng.random() < 0.3 else rng.randint(10, 80)
            lines.append(Line(cert.name, printed, level, count=count))
        else:
            approved = rng.randint(5, 120)
            requested = approved + rng.choice([rng.randint(1, 9), rng.randint(10, 60), rng.randint(60, 150)])
            lines.append(Line(cert.name, printed, level, approved=approved, requested=requested))
    total = None
    inc_totals = None
    if kind == "summary":
        total = sum(l.count or 0 for l in lines)
        if rng.random() < 0.04:  # a school's own arithmetic slip: the truth is what is printed
            total += rng.choice([-10, -1, 1, 2, 10])
    elif rng.random() < 0.4:
        inc_totals = (sum(l.approved or 0 for l in lines), sum(l.requested or 0 for l in lines))
    blank = 0 if rng.random() < 0.7 else rng.randint(1, 4)
    filler = rng.choice(_SURNAMES) + "".join(rng.choice(_GIVEN) for _ in range(rng.choice([1, 2])))
    phone = rng.choice(["13", "15", "18", "17"]) + "".join(str(rng.randint(0, 9)) for _ in range(9))
    if rng.random() < 0.3:
        phone = f"0{rng.choice(['551', '558', '554', '556', '553', '557'])}-{rng.randint(2000000, 6999999)}"
    month, day = rng.choice([(3, rng.randint(14, 31)), (4, rng.randint(1, 10)), (9, rng.randint(15, 19))])
    date = rng.choice([f"2025年{month}月{day}日", f"2025.{month}.{day}", f"2025-{month:02d}-{day:02d}", f"2025年{month:02d}月{day:02d}日"])
    return Content(kind, unit, tuple(lines), total, inc_totals, blank, filler, phone, date)


def truth_lines(content: Content) -> list[dict]:
    if content.kind == "summary":
        return [{"certificate": l.certificate, "level": l.level, "count": l.count} for l in content.lines]
    return [
        {"certificate": l.certificate, "level": l.level, "approved": l.approved, "requested": l.requested}
        for l in content.lines
    ]
