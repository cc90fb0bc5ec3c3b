"""``intake health``: is the service able to work, and is anything piling up?

Prints one JSON object and exits 0 when the mailbox and the database answer,
1 otherwise — usable from cron, systemd or a container health check.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from config.settings import Settings
from intake import mailbox as imap
from ledger import db
from ledger.models import Message, Reply
from ledger.store import FAILED, QUEUED, STORED, unfiled_status


def mailbox_status(settings: Settings) -> dict:
    try:
        with imap.Mailbox(imap.config_from_settings(settings)) as box:
            return {"ok": True, "capabilities": box.capabilities()}
    except imap.MailboxError as exc:
        return {"ok": False, "error": str(exc)}


def ledger_status(settings: Settings) -> dict:
    try:
        engine = db.connect(settings.database_url)
        with engine.connect() as conn:
            pending = conn.execute(
                sa.select(sa.func.count(), sa.func.min(Message.received_at)).where(Message.state == STORED)
            ).one()
            queued = conn.execute(sa.select(sa.func.count()).where(Reply.status == QUEUED)).scalar_one()
            failed = conn.execute(sa.select(sa.func.count()).where(Reply.status == FAILED)).scalar_one()
            unfiled = unfiled_status(conn, datetime.now(UTC))
    except (db.DatabaseError, sa.exc.SQLAlchemyError) as exc:
        return {"ok": False, "error": str(exc).splitlines()[0]}
    oldest = pending[1]
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    return {
        "ok": True,
        "queue_depth": pending[0],
        "oldest_unprocessed": oldest.isoformat() if oldest else None,
        "oldest_unprocessed_age_s": round((datetime.now(UTC) - oldest).total_seconds()) if oldest else None,
        "unsent_replies": queued,
        "failed_replies": failed,
        **unfiled,
    }


def check(settings: Settings) -> dict:
    report = {"mailbox": mailbox_status(settings), "database": ledger_status(settings)}
    report["ok"] = report["mailbox"]["ok"] and report["database"]["ok"]
    return report
