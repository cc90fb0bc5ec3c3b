"""What ``intake run --once`` prints when it ends, and its exit status.

The run itself never stops on one bad mail, one refused reply or one folder the
server will not create; those are counted. At the end the operator (or cron) reads
a short summary on stdout, and the exit status says whether staff must act:
``0`` nothing waits for staff, ``3`` something does (the summary says what).
Mail waiting in review is shown but is the normal daily work of the review page,
so it does not change the exit status.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from cli.errors import ExitCode
from ledger.models import Message, Reply, Submission
from ledger.store import FAILED, STORED, unfiled_status


def ledger_attention(engine: sa.Engine, now: datetime | None = None) -> dict[str, int]:
    """Counts that need a person, read from the ledger after the run."""
    now = now or datetime.now(UTC)
    with engine.connect() as conn:
        failed_replies = conn.execute(sa.select(sa.func.count()).where(Reply.status == FAILED)).scalar_one()
        failing = conn.execute(sa.select(sa.func.count()).where(
            Message.state == STORED, Message.attempts > 0)).scalar_one()
        review = conn.execute(sa.select(sa.func.count()).where(
            Submission.decision == "review", Submission.superseded_by_id.is_(None))).scalar_one()
        unfiled = unfiled_status(conn, now)
    return {"failed_replies": failed_replies, "failing_messages": failing, "review": review,
            "unfiled": unfiled["unfiled"], "unfiled_refused": unfiled["unfiled_refused"]}


def render(summary, attention: dict[str, int], folders) -> tuple[str, ExitCode]:
    """The closing summary (plain text, one fact a line) and the exit status."""
    decided = ", ".join(f"{k} {v}" for k, v in sorted(summary.decided.items())) or "none"
    lines = [
        f"Fetched {summary.fetched} new mail(s); decided: {decided}.",
        (f"Replies sent: {summary.sent}; refused by the SMTP server this run: {summary.send_failed}"
         f" ({summary.send_refused} for good, the rest retried with back-off)."),
        f"Filed: {summary.filed}; not filed this run: {summary.file_failed}.",
    ]
    staff: list[str] = []
    if attention["unfiled_refused"]:
        staff.append(f"{attention['unfiled_refused']} answered mail(s) could not be moved into their folder "
                     "(the server refused); they stay where they are and are retried with back-off. "
                     "`intake health` shows the oldest; the log line message.file_failed says why.")
    if summary.send_refused:
        staff.append(f"{summary.send_refused} reply(ies) were refused for good by the SMTP server this run; "
                     "those schools have not heard back (log line reply.failed says why).")
    if attention["failed_replies"]:
        lines.append(f"Replies refused for good so far (the schools have not heard back): "
                     f"{attention['failed_replies']}.")
    if attention["failing_messages"] or summary.errors:
        staff.append(f"{max(attention['failing_messages'], summary.errors)} mail(s) failed processing and will be "
                     f"retried; after 3 failures they go to {folders.review} for staff.")
    if attention["review"]:
        lines.append(f"Waiting for staff review (review page, folder {folders.review}): {attention['review']}.")
    if not staff:
        return "\n".join([*lines, "Nothing needs staff."]), ExitCode.OK
    return "\n".join([*lines, "Needs staff:", *(f"  - {s}" for s in staff)]), ExitCode.NEEDS_STAFF
