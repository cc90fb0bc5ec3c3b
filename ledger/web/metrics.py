"""Prometheus text exposition of the ledger's state, for ``GET /metrics``.

Only counts: no names, addresses or subjects, so the endpoint needs no login and
can be scraped by a monitoring system that has no staff account.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from ledger.models import Message, Reply, Submission

STATES = ("stored", "decided", "replied", "filed")
DECISIONS = ("accepted", "rejected", "review")
REPLY_STATES = ("queued", "sent", "failed")


def _counts(conn, column, values) -> dict[str, int]:
    rows = dict(conn.execute(sa.select(column, sa.func.count()).group_by(column)).all())
    return {value: rows.get(value, 0) for value in values}


def render(engine: sa.Engine, now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    with engine.connect() as conn:
        states = _counts(conn, Message.state, STATES)
        decisions = _counts(conn, Submission.decision, DECISIONS)
        replies = _counts(conn, Reply.status, REPLY_STATES)
        oldest = conn.execute(sa.select(sa.func.min(Message.received_at)).where(Message.state == "stored")).scalar()
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    age = (now - oldest).total_seconds() if oldest else 0.0
    lines = [
        "# HELP intake_messages Messages in the ledger by processing state.",
        "# TYPE intake_messages gauge",
        *(f'intake_messages{{state="{k}"}} {v}' for k, v in states.items()),
        "# HELP intake_submissions Submissions by decision.",
        "# TYPE intake_submissions gauge",
        *(f'intake_submissions{{decision="{k}"}} {v}' for k, v in decisions.items()),
        "# HELP intake_replies Replies in the outbox by status.",
        "# TYPE intake_replies gauge",
        *(f'intake_replies{{status="{k}"}} {v}' for k, v in replies.items()),
        "# HELP intake_queue_depth Stored messages waiting for a decision.",
        "# TYPE intake_queue_depth gauge",
        f"intake_queue_depth {states['stored']}",
        "# HELP intake_oldest_unprocessed_age_seconds Age of the oldest message waiting for a decision.",
        "# TYPE intake_oldest_unprocessed_age_seconds gauge",
        f"intake_oldest_unprocessed_age_seconds {age:.0f}",
    ]
    return "\n".join(lines) + "\n"
