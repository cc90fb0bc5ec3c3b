"""The staff digest: one plain-text mail a day to the staff addresses, through the outbox.

What came in since the last digest, what waits for staff (review, unsent replies, unfiled
mail), reminders sent and addresses that bounced, days left, and a link to the review site;
a quiet day is one line. Wording: ``templates/digest.txt``.
"""

from __future__ import annotations

from datetime import date, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr

import sqlalchemy as sa

from config.profile import Profile
from config.settings import Settings
from intake.replies import new_reply_message_id
from ledger.digest import Figures, figures, record_digest
from ledger.records import OutgoingReply
from ledger.reminders import open_window
from templates import say, text


def days_left(profile: Profile, today: date) -> str:
    """The sentence on the summary window: closes in N days, opens in N days, or over."""
    window = open_window(profile, "summary", today)
    if window is not None:
        return say("digest.left.open", window=window.label(), days=(window.end - today).days + 1)
    upcoming = sorted((w for w in profile.form("summary").windows if w.start > today), key=lambda w: w.start)
    if upcoming:
        return say("digest.left.next", window=upcoming[0].label(), days=(upcoming[0].start - today).days)
    return text("digest.left.none")


def render(f: Figures, profile: Profile, site_url: str, now: datetime) -> tuple[str, str]:
    """(subject, body) of the digest for figures ``f`` at ``now``."""
    zone = profile.timezone
    today, since = now.astimezone(zone).date(), f.since.astimezone(zone)
    link = [say("digest.link", url=site_url)] if site_url else []
    if f.quiet:  # one line
        return (say("digest.subject.quiet", date=today),
                " ".join([say("digest.quiet", since=since, left=days_left(profile, today)), *link]) + "\n")
    by = f.new_by_outcome
    lines = [text("digest.greeting"), "", say("digest.intro", since=since, office=profile.office), "",
             say("digest.new", count=f.new_mail, accepted=by.get("accepted", 0), rejected=by.get("rejected", 0),
                 review=by.get("review", 0), ignored=by.get("ignored", 0))]
    if f.oldest_review is not None:
        waited = (now - f.oldest_review).days
        lines.append(say("digest.review.oldest", count=f.waiting_review, time=f.oldest_review.astimezone(zone),
                         days=waited))
    else:
        lines.append(say("digest.review", count=f.waiting_review))
    lines.append(say("digest.unsent", count=f.unsent))
    if f.refused:
        lines.append(say("digest.refused", count=f.refused))
    lines.append(say("digest.unfiled", count=f.unfiled))
    separator = text("digest.list.separator")
    if f.reminded:
        units = list(dict.fromkeys(unit for unit, _actor in f.reminded))
        lines.append(say("digest.reminded", count=len(units), units=separator.join(units)))
    if f.bounced:
        lines.append(say("digest.bounced", addresses=separator.join(f.bounced)))
    lines += ["", days_left(profile, today), *link, "", profile.signature, say("digest.date", date=today)]
    subject = say("digest.subject", date=today, new=f.new_mail, review=f.waiting_review, unsent=f.unsent)
    return subject, "\n".join(lines) + "\n"


def build_mail(subject: str, body: str, profile: Profile, *, from_addr: str, to_addr: str, message_id: str,
               now: datetime) -> bytes:
    message = EmailMessage(policy=SMTP)
    message["From"] = formataddr((profile.office, from_addr))
    message["To"] = to_addr
    message["Subject"] = subject
    message["Date"] = format_datetime(now.astimezone(profile.timezone))
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "All"
    message["X-Intake-Kind"] = "digest"
    message.set_content(body, charset="utf-8", cte="base64")
    return message.as_bytes()


def send_digest(engine: sa.Engine, profile: Profile, settings: Settings, now: datetime) -> bool:
    """Queue today's digest to every staff address; False when today's was queued already (or no one gets it)."""
    if not settings.staff_list:
        return False
    found = figures(engine, now)
    subject, body = render(found, profile, settings.site_url, now)
    mails = []
    for to_addr in settings.staff_list:
        message_id = new_reply_message_id(profile)
        raw = build_mail(subject, body, profile, from_addr=settings.from_address, to_addr=to_addr,
                         message_id=message_id, now=now)
        mails.append(OutgoingReply(to_addr, message_id, raw))
    return record_digest(engine, now.astimezone(profile.timezone).date(), found, mails, now)
