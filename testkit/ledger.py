"""A ledger with real rows in it, and the worker's records as the store writes them.

``anhui_schools`` and ``catalogue`` read the real reference data in ``config/data``;
``seed`` puts units, the whole catalogue and approved quotas into a migrated ledger.
``store_message`` and ``outgoing_reply`` are what the worker hands ``ledger.store.Store``
for one fetched mail and one reply (``UNIT``, 安徽大学, sends them at ``T0``).
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from pathlib import Path

import sqlalchemy as sa

from domain.decision import Claim
from ledger.store import OutgoingReply, Store

DATA = Path(__file__).resolve().parents[1] / "config" / "data"


def anhui_schools(limit: int | None = None) -> list[dict[str, str]]:
    """Real Anhui schools from schools.csv (name, city, level)."""
    import csv

    with (DATA / "schools.csv").open(encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["province"] == "安徽省"]
    return rows[:limit] if limit else rows


def catalogue(with_levels_only: bool = False) -> list[dict[str, str]]:
    """Real certificates from certificates.csv (levels separated by |)."""
    import csv

    with (DATA / "certificates.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [r for r in rows if r["levels"]] if with_levels_only else rows


def seed(engine: sa.Engine, *, units: int = 5, quotas: dict[tuple[int, str, str, str], int] | None = None) -> None:
    """Put real units and the whole catalogue into a migrated ledger (test setup only)."""
    from ledger.models import Certificate, Quota, Unit, utcnow

    now = utcnow()
    with engine.begin() as conn:
        for school in anhui_schools(units):
            conn.execute(sa.insert(Unit).values(
                name=school["name"], type=school["level"], city=school["city"], aliases=[],
                contacts=[f"{school['code']}@school.example.cn"], updated_at=now))
        for cert in catalogue():
            conn.execute(sa.insert(Certificate).values(
                name=cert["name"], organization=cert["organization"], batch=cert["batch"],
                levels=[lv for lv in cert["levels"].split("|") if lv], updated_at=now))
        for (year, unit, cert, level), approved in (quotas or {}).items():
            unit_id = conn.execute(sa.select(Unit.id).where(Unit.name == unit)).scalar_one()
            cert_id = conn.execute(sa.select(Certificate.id).where(Certificate.name == cert)).scalar_one()
            conn.execute(sa.insert(Quota).values(year=year, unit_id=unit_id, certificate_id=cert_id, level=level,
                                                 approved=approved, updated_at=now))


SHANGHAI = timezone(timedelta(hours=8))
T0 = datetime(2025, 3, 20, 9, 0, tzinfo=SHANGHAI)
UNIT = anhui_schools(1)[0]["name"]  # 安徽大学
BIM, ROBOT = "建筑信息模型（BIM）", "工业机器人应用编程"
SUMMARY = Claim(unit=UNIT, year=2025, kind="summary")


def store_message(store: Store, uid: int, *, at: datetime = T0, body: bytes | None = None,
                  message_id: str | None = None, mailbox: str = "INBOX"):
    raw = body if body is not None else f"message {uid}".encode()
    return store.record_message(
        mailbox=mailbox, uidvalidity=1, uid=uid, message_id=message_id or f"<m{uid}@school.example.cn>",
        sha256=hashlib.sha256(raw).hexdigest(), received_at=at, sender="jwc@school.example.cn",
        subject=f"{UNIT}+2025年证书申报", original_path=f"var/data/{uid}.eml")


def outgoing_reply(n: int) -> OutgoingReply:
    mail = EmailMessage()
    mail["Subject"] = f"回复：{UNIT}+2025年证书申报"
    mail["Message-ID"] = f"<reply{n}@office.example.cn>"
    mail["To"] = "jwc@school.example.cn"
    mail.set_content("已收到贵校的申报材料。")
    return OutgoingReply("jwc@school.example.cn", f"<reply{n}@office.example.cn>", mail.as_bytes())
