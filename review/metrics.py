"""Prometheus text exposition of the ledger's state, for ``GET /metrics``.

Only counts: no names, addresses or subjects, so the endpoint needs no login and
can be scraped by a monitoring system that has no staff account.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from ledger.models import Message, Reply, Submission
from ledger.store import unfiled_status

STATES = ("stored", "decided", "replied", "filed")
DECISIONS = ("accepted", "rejected", "review")
REPLY_STATES = ("queued", "sent", "failed")
RECENT = timedelta(hours=24)
QUANTILES = (0.5, 0.95)


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value  # SQLite drops the zone


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
        answered = conn.execute(
            sa.select(Message.received_at, Message.created_at, Reply.created_at, Reply.sent_at)
            .join(Reply, Reply.message_pk == Message.id).where(Reply.sent_at >= now - RECENT)).all()
        unfiled = unfiled_status(conn, now)
    age = (now - _aware(oldest)).total_seconds() if oldest else 0.0
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
        "# HELP intake_unfiled Finished mail not yet moved into its folder on the server.",
        "# TYPE intake_unfiled gauge",
        f"intake_unfiled {unfiled['unfiled']}",
        "# HELP intake_unfiled_refused Finished mail whose filing the server refused; retried with back-off.",
        "# TYPE intake_unfiled_refused gauge",
        f"intake_unfiled_refused {unfiled['unfiled_refused']}",
        "# HELP intake_oldest_unfiled_age_seconds Seconds since the oldest unfiled mail's last step.",
        "# TYPE intake_oldest_unfiled_age_seconds gauge",
        f"intake_oldest_unfiled_age_seconds {unfiled['oldest_unfiled_age_s'] or 0}",
        *_stage_summary(answered),
    ]
    return "\n".join(lines) + "\n"


def _stage_summary(answered) -> list[str]:
    """Seconds per stage for mail answered in the last 24 hours: arrival → stored (fetch),
    stored → decided with its reply queued (decide), queued → accepted by SMTP (send)."""
    stages: dict[str, list[float]] = {"fetch": [], "decide": [], "send": []}
    for received, stored, queued, sent in answered:
        received, stored, queued, sent = map(_aware, (received, stored, queued, sent))
        stages["fetch"].append(max(0.0, (stored - received).total_seconds()))
        stages["decide"].append(max(0.0, (queued - stored).total_seconds()))
        stages["send"].append(max(0.0, (sent - queued).total_seconds()))
    lines = ["# HELP intake_stage_seconds Seconds per stage, mail answered in the last 24 hours.",
             "# TYPE intake_stage_seconds summary"]
    for stage, values in stages.items():
        values.sort()
        for q in QUANTILES:
            value = values[min(len(values) - 1, int(q * len(values)))] if values else 0.0
            lines.append(f'intake_stage_seconds{{stage="{stage}",quantile="{q}"}} {value:.3f}')
        lines.append(f'intake_stage_seconds_sum{{stage="{stage}"}} {sum(values):.3f}')
        lines.append(f'intake_stage_seconds_count{{stage="{stage}"}} {len(values)}')
    return lines
