"""What the ledger hands out: plain records of its rows, the message and reply states,
and the read-only status queries that health checks and ``/metrics`` share.

No session is kept in a record: they are frozen copies, safe to pass between threads.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from domain.decision import Reason, ReasonCode
from ledger.models import Message, Reply

# Message states, in order.
STORED, DECIDED, REPLIED, FILED = "stored", "decided", "replied", "filed"
QUEUED, SENT, FAILED = "queued", "sent", "failed"  # reply states


@dataclass(frozen=True)
class MessageRecord:
    id: int
    mailbox: str
    uidvalidity: int
    uid: int
    message_id: str
    sha256: str
    received_at: datetime
    sender: str
    subject: str
    original_path: str
    state: str
    attempts: int
    file_attempts: int = 0
    note: str = ""  # why a mail was ignored (or a remark on its decision)


@dataclass(frozen=True)
class ReplyRecord:
    id: int
    message_pk: int
    to_addr: str
    reply_message_id: str
    raw: bytes
    status: str
    attempts: int


@dataclass(frozen=True)
class OutgoingReply:
    """A reply built before the decision's transaction, so a retry sends the very same bytes."""

    to_addr: str
    reply_message_id: str
    raw: bytes  # the complete RFC 822 message


@dataclass(frozen=True)
class SubmissionRecord:
    id: int
    message_pk: int
    message_id: str
    unit: str
    year: int
    kind: str
    decision: str
    received_at: datetime
    total: int | None


def reason_to_json(reason: Reason) -> dict[str, Any]:
    data = asdict(reason)
    data["code"] = str(reason.code)
    return data


def reason_from_json(data: dict[str, Any]) -> Reason:
    return Reason(**{**data, "code": ReasonCode(data["code"])})


def message_record(row: Message) -> MessageRecord:
    return MessageRecord(
        id=row.id, mailbox=row.mailbox, uidvalidity=row.uidvalidity, uid=row.uid,
        message_id=row.message_id, sha256=row.sha256, received_at=row.received_at, sender=row.sender,
        subject=row.subject, original_path=row.original_path, state=row.state, attempts=row.attempts,
        file_attempts=row.file_attempts or 0, note=row.note or "",
    )


def reply_record(row: Reply) -> ReplyRecord:
    return ReplyRecord(
        id=row.id, message_pk=row.message_pk, to_addr=row.to_addr, reply_message_id=row.reply_message_id,
        raw=row.raw, status=row.status, attempts=row.attempts,
    )


def ready_to_file() -> sa.ColumnElement[bool]:
    """Decided (or replied) with no reply left to send: the mail may be moved on the server."""
    reply_due = sa.exists().where(Reply.message_pk == Message.id, Reply.status == QUEUED)
    return sa.and_(Message.state.in_([DECIDED, REPLIED]), ~reply_due)


def unfiled_status(conn: sa.Connection, now: datetime) -> dict[str, Any]:
    """How many finished mails wait to be filed, the oldest wait, and how many the server refused.

    The wait runs from the mail's last step (decision or reply sent), so a backlog's old
    arrival times do not count as filing delay."""
    count, oldest, refused = conn.execute(sa.select(
        sa.func.count(), sa.func.min(Message.updated_at),
        sa.func.count().filter(Message.file_attempts > 0)).where(ready_to_file())).one()
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    return {"unfiled": count, "unfiled_refused": refused,
            "oldest_unfiled_age_s": round((now - oldest).total_seconds()) if oldest else None}
