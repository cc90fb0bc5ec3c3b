"""The 催报 a unit receives, and sending them: staff's pick from the review site, or the worker's
automatic run (``intake.daily``).

``render`` is pure (a candidate, the profile and the day in; subject and body out), so the
review page previews exactly the text that is sent. ``send_reminders`` builds each mail once,
fixes its Message-ID and queues it in the outbox (``ledger.reminders.record_reminder``), where
the worker's sender takes it like any reply: exactly once, threaded to the unit's last
rejected mail. Wording: ``templates/reminders.txt``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr

import sqlalchemy as sa

from config.profile import Profile
from intake.replies import load_templates, new_reply_message_id
from ledger.records import OutgoingReply
from ledger.reminders import NONE, REJECTED, Candidate, candidates, record_reminder
from templates import say, text

_REASONS = load_templates()


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str


@dataclass
class SendResult:
    queued: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)  # reminded today already
    no_address: list[str] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)  # its form's window is not open
    not_due: list[str] = field(default_factory=list)  # accepted, or waiting for staff: nothing to remind of


def render(candidate: Candidate, profile: Profile, today: date) -> Rendered:
    """The reminder's subject and plain-text body for ``candidate`` on ``today``."""
    rule, window = profile.form(candidate.kind), candidate.window
    if window is None:
        raise ValueError(f"{candidate.unit}: no {candidate.kind} window is open on {today}")
    values = {"unit": candidate.unit, "form": rule.name, "end": window.end}
    lines = [say("reminders.greeting", **values), "",
             say("reminders.opening", office=profile.office, window=window.label(),
                 days=(window.end - today).days + 1, **values)]
    rejected = candidate.rejected
    if rejected is None:
        lines.append(say("reminders.missing", today=today, **values))
    else:
        lines.append(say("reminders.rejected", time=rejected.received_at.astimezone(profile.timezone),
                         subject=rejected.subject, **values))
        for number, reason in enumerate(rejected.reasons, 1):
            what, fix = _REASONS.reason(reason["code"], "rejected")
            detail = reason.get("detail") or ""
            problem = say("reminders.problem.detail" if detail else "reminders.problem", number=number, what=what,
                          detail=detail)
            lines += [f"  {problem}",
                      f"     {say('reminders.problem.fix', fix=fix)}"]
    lines += ["", text("reminders.how"),
              f"  {say('reminders.how.subject', subject=rule.example_subject(candidate.unit))}",
              f"  {say('reminders.how.attachment', form=rule.name)}",
              f"  {say('reminders.how.mailbox', mailbox=profile.mailbox)}",
              "", text("reminders.closing"), "", profile.signature, say("reminders.date", date=today)]
    return Rendered(say("reminders.subject", **values), "\n".join(lines) + "\n")


def build_mail(candidate: Candidate, profile: Profile, *, from_addr: str, to_addr: str, message_id: str,
               now: datetime) -> bytes:
    """Complete RFC 5322 bytes, threaded to the unit's last rejected mail when there is one."""
    today = now.astimezone(profile.timezone).date()
    rendered = render(candidate, profile, today)
    message = EmailMessage(policy=SMTP)
    message["From"] = formataddr((profile.office, from_addr))
    message["To"] = to_addr
    message["Subject"] = rendered.subject
    message["Date"] = format_datetime(now.astimezone(profile.timezone))
    message["Message-ID"] = message_id
    if candidate.rejected is not None:
        message["In-Reply-To"] = candidate.rejected.message_id
        message["References"] = candidate.rejected.message_id
    message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "All"
    message["X-Intake-Kind"] = "reminder"
    message.set_content(rendered.body, charset="utf-8", cte="base64")
    return message.as_bytes()


def send_reminders(engine: sa.Engine, profile: Profile, from_addr: str, unit_ids: Iterable[int], now: datetime,
                   actor: str) -> SendResult:
    """Queue one reminder per chosen unit (to each of its usable addresses); say what was not sent and why."""
    today = now.astimezone(profile.timezone).date()
    chosen = set(unit_ids)
    result = SendResult()
    for candidate in candidates(engine, profile, today):
        if candidate.unit_id not in chosen:
            continue
        if candidate.state not in (NONE, REJECTED):
            result.not_due.append(candidate.unit)
        elif candidate.reminded_today:
            result.already.append(candidate.unit)
        elif candidate.window is None:
            result.closed.append(candidate.unit)
        elif not candidate.addresses:
            result.no_address.append(candidate.unit)
        else:
            mails = [_outgoing(candidate, profile, from_addr, to, now) for to in candidate.addresses]
            done = record_reminder(engine, candidate, today, mails, actor, now)
            (result.queued if done else result.already).append(candidate.unit)
    return result


def _outgoing(candidate: Candidate, profile: Profile, from_addr: str, to_addr: str, now: datetime) -> OutgoingReply:
    message_id = new_reply_message_id(profile)
    raw = build_mail(candidate, profile, from_addr=from_addr, to_addr=to_addr, message_id=message_id, now=now)
    return OutgoingReply(to_addr=to_addr, reply_message_id=message_id, raw=raw)


def remind_due(engine: sa.Engine, profile: Profile, from_addr: str, now: datetime) -> SendResult:
    """The automatic run: every unit in the default selection (``Candidate.due``) that can be written to."""
    today = now.astimezone(profile.timezone).date()
    due = [c.unit_id for c in candidates(engine, profile, today) if c.due]
    return send_reminders(engine, profile, from_addr, due, now, actor="worker")
