"""Roster, catalogue and quota files as offices write them (csv in any encoding, xlsx with a title row).

Rows come from the real reference data (``testkit.ledger``); ``TYPES`` maps its school levels
to the unit types a roster states; ``count`` counts a ledger table's rows.
"""

from __future__ import annotations

import csv
from pathlib import Path

import sqlalchemy as sa
from openpyxl import Workbook

from testkit.ledger import catalogue

TYPES = {"本科": "本科", "专科": "高职"}


def catalog_rows() -> list[list[str]]:
    return [[r["batch"], r["name"] + ("职业技能等级证书" if i == 0 else ""), r["organization"],
             r["levels"].replace("|", ";")] for i, r in enumerate(catalogue())]


BIM = catalogue()[0]["name"]  # 建筑信息模型（BIM）, offers all three levels


def write_csv(path: Path, header, rows, encoding: str = "utf-8-sig") -> Path:
    with path.open("w", encoding=encoding, newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_xlsx(path: Path, header, rows, title: str | None = None) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    if title:
        sheet.append([title])
    sheet.append(list(header))
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def count(engine, model) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()
