"""The staff digest's figures, and recording one digest per local day (a unique key: two
workers reaching the digest hour together write one row, and one set of outbox rows)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ledger.bounces import bounced_after
from ledger.models import BouncedAddress, Digest, Event, Message, Reminder, Reply, Submission
from ledger.records import FAILED, QUEUED, OutgoingReply, unfiled_status
from ledger.reminders import reminded_after

FIRST_DIGEST_COVERS = timedelta(days=1)


@dataclass(frozen=True)
class Figures:
    since: datetime  # the last digest (a day before ``now`` for the first one)
    new_mail: int
    new_by_outcome: dict[str, int]  # accepted | rejected | review | ignored
    waiting_review: int  # mails whose decision staff still have to take
    oldest_review: datetime | None  # arrival of the longest-waiting one
    unsent: int  # replies and reminders still in the outbox
    refused: int  # refused for good by the SMTP server
    unfiled: int
    reminded: tuple[tuple[str, str], ...]  # (unit, actor) since the last digest
    bounced: tuple[str, ...]  # addresses that bounced since the last digest
    last_ids: dict[str, int] = field(default_factory=dict)  # the rows this digest counted up to

    @property
    def quiet(self) -> bool:
        return not (self.new_mail or self.waiting_review or self.unsent or self.refused or self.unfiled
                    or self.reminded or self.bounced)


def _last(s: Session) -> Digest | None:
    return s.execute(sa.select(Digest).order_by(Digest.day.desc()).limit(1)).scalar_one_or_none()


def figures(engine: sa.Engine, now: datetime) -> Figures:
    """What happened since the last digest: rows after the ones it counted (clock-proof), or for
    the first digest, mail that arrived in the day before ``now``."""
    with Session(engine) as s:
        last = _last(s)
        seen = last.figures if last is not None else {}
        since = last.created_at if last is not None else now - FIRST_DIGEST_COVERS
        new = sa.select(Message.outcome)
        new = new.where(Message.id > seen["last_message"]) if "last_message" in seen else \
            new.where(Message.received_at > since)
        outcomes = Counter(o or "ignored" for o in s.execute(new).scalars())
        review = s.execute(sa.select(Submission.message_pk, sa.func.min(Submission.received_at))
                           .where(Submission.decision == "review").group_by(Submission.message_pk)).all()
        outbox = dict(s.execute(sa.select(Reply.status, sa.func.count()).where(Reply.status.in_([QUEUED, FAILED]))
                                .group_by(Reply.status)).all())
        unfiled = unfiled_status(s.connection(), now)["unfiled"]
        return Figures(
            since=since, new_mail=sum(outcomes.values()), new_by_outcome=dict(outcomes),
            waiting_review=len(review), oldest_review=min((at for _pk, at in review), default=None),
            unsent=outbox.get(QUEUED, 0), refused=outbox.get(FAILED, 0), unfiled=unfiled,
            reminded=tuple(reminded_after(s, seen.get("last_reminder", 0))),
            bounced=tuple(bounced_after(s, seen.get("last_bounce", 0))),
            last_ids={"last_message": _max(s, Message), "last_reminder": _max(s, Reminder),
                      "last_bounce": _max(s, BouncedAddress)})


def _max(s: Session, model) -> int:
    return s.execute(sa.select(sa.func.coalesce(sa.func.max(model.id), 0))).scalar_one()


def record_digest(engine: sa.Engine, day: date, figures: Figures, mails: Sequence[OutgoingReply],
                  now: datetime) -> bool:
    """The day's digest and its outbox rows; False (nothing written) when the day has one already."""
    try:
        with Session(engine) as s, s.begin():
            s.add(Digest(day=day, addresses=[m.to_addr for m in mails], created_at=now, figures={
                "new_mail": figures.new_mail, "waiting_review": figures.waiting_review, "unsent": figures.unsent,
                "unfiled": figures.unfiled, "quiet": figures.quiet, **figures.last_ids}))
            s.flush()  # the unique day answers here
            for mail in mails:
                s.add(Reply(message_pk=None, kind="digest", to_addr=mail.to_addr, reply_message_id=mail.reply_message_id,
                            raw=mail.raw, status=QUEUED, attempts=0, next_attempt_at=now, last_error="",
                            created_at=now, lease_owner=""))
            s.add(Event(actor="worker", action="digest.queued", subject=f"digest:{day.isoformat()}", at=now,
                        detail={"to": [m.to_addr for m in mails], "quiet": figures.quiet}))
    except sa.exc.IntegrityError:
        return False
    return True
