"""The worker's only door to the ledger: messages, decisions, the outbox, the audit trail.

Every method is one short transaction. The states of a message
(``stored → decided → replied → filed``) are written here, so a restarted worker
resumes exactly where the last one stopped; ``record_decision`` writes the decision,
its quota changes and its reply in one transaction, so a reply exists if and only if
a decision does.

Long because it is the one door: every write the exactly-once argument rests on (claims
and leases, decisions with their outbox row, quota increases, sends, filing) is a method
of ``Store``, read together in one place. Plain records and status queries live in
``ledger.records``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from config.profile import Profile
from domain.decision import Claim, Decision, Outcome
from domain.forms import Form, IncreaseForm, SummaryForm
from domain.state import CertificateRef, LedgerState, UnitRef
from ledger.db import reader
from ledger.leases import holder_gone
from ledger.models import (
    Certificate,
    Event,
    Message,
    MessageLocation,
    Quota,
    QuotaChange,
    Reply,
    Submission,
    SubmissionLine,
    Unit,
    utcnow,
)
from ledger.records import (  # noqa: F401 — re-exported: the store's callers import them from here
    DECIDED,
    FAILED,
    FILED,
    QUEUED,
    REPLIED,
    SENT,
    STORED,
    MessageRecord,
    OutgoingReply,
    ReplyRecord,
    SubmissionRecord,
    message_record,
    ready_to_file,
    reason_from_json,
    reason_to_json,
    reply_record,
    unfiled_status,
)

WORKER = "worker"


class StoreError(Exception):
    """The ledger refused an operation; the message says which record and why."""


class StaleDecision(StoreError):
    """An accepted increase quotes a number that changed since the snapshot it was decided on.

    Nothing was written. Take a new ``snapshot()``, decide again (the increase will now
    be checked against the new number) and call ``record_decision`` again.
    """


def _event(session: Session, actor: str, action: str, subject: str, detail: dict[str, Any]) -> None:
    session.add(Event(actor=actor, action=action, subject=subject, detail=detail, at=utcnow()))


def _outbox_subject(row: Reply) -> str:
    """What an outbox event is about: the message answered, or the mail itself when it answers none."""
    return f"message:{row.message_pk}" if row.message_pk is not None else f"{row.kind}:{row.id}"


def _claim_one(s: Session, query: sa.Select, model, holder: str, lease: timedelta, now: datetime):
    """Lease the first row of ``query`` that is free, or whose holder is gone (see ``ledger.leases``)."""
    free = sa.or_(model.lease_until.is_(None), model.lease_until <= now)
    row = s.execute(query.where(free).limit(1).with_for_update(skip_locked=True)).scalar_one_or_none()
    if row is None:
        host = holder.split(":", 1)[0] + ":"
        held_here = query.where(model.lease_owner.startswith(host, autoescape=True)).with_for_update(skip_locked=True)
        row = next((r for r in s.execute(held_here).scalars() if holder_gone(r.lease_owner, holder)), None)
    if row is not None:
        row.lease_owner, row.lease_until = holder, now + lease
    return row


class Store:
    def __init__(self, engine: sa.Engine, profile: Profile | None = None):
        """``profile`` tells which application window a summary belongs to (for superseding);
        without it, all summaries of a unit and year share one window."""
        self.engine = engine
        self.profile = profile

    @contextmanager
    def _transaction(self, read_only: bool = False) -> Iterator[Session]:
        bind = reader(self.engine) if read_only else self.engine
        with Session(bind, expire_on_commit=False) as session, session.begin():
            yield session

    def _message(self, session: Session, message_pk: int, *, lock: bool = False) -> Message:
        query = sa.select(Message).where(Message.id == message_pk)
        row = session.execute(query.with_for_update() if lock else query).scalar_one_or_none()
        if row is None:
            raise StoreError(f"no message with id {message_pk} in the ledger")
        return row

    # --- messages -------------------------------------------------------------------

    def known_uids(self, mailbox: str, uidvalidity: int) -> set[int]:
        with self._transaction(read_only=True) as s:
            return set(s.execute(sa.select(MessageLocation.uid).where(
                MessageLocation.mailbox == mailbox, MessageLocation.uidvalidity == uidvalidity)).scalars())

    def record_message(self, *, mailbox: str, uidvalidity: int, uid: int, message_id: str, sha256: str,
                       received_at: datetime, sender: str, subject: str,
                       original_path: str) -> tuple[MessageRecord, bool]:
        """Record a fetched message (state ``stored``); a known one returns ``(existing, False)``.

        Known means: the same location, the same bytes (sha256) or the same Message-ID.
        A known message seen at a new location remembers that location too.
        """
        for attempt in range(3):
            try:
                with self._transaction() as s:
                    return self._record_message(s, mailbox, uidvalidity, uid, message_id, sha256,
                                                received_at, sender, subject, original_path)
            except sa.exc.IntegrityError:
                # Another fetcher stored the same message at the same moment: look again.
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _record_message(self, s: Session, mailbox, uidvalidity, uid, message_id, sha256, received_at,
                        sender, subject, original_path) -> tuple[MessageRecord, bool]:
        located = s.execute(sa.select(Message).join(MessageLocation).where(
            MessageLocation.mailbox == mailbox, MessageLocation.uidvalidity == uidvalidity,
            MessageLocation.uid == uid)).scalar_one_or_none()
        if located is not None:
            return message_record(located), False
        same = s.execute(sa.select(Message).where(Message.sha256 == sha256)).scalar_one_or_none()
        if same is None and message_id:
            same = s.execute(sa.select(Message).where(Message.message_id == message_id)
                             .order_by(Message.id).limit(1)).scalar_one_or_none()
        if same is not None:
            s.add(MessageLocation(message_pk=same.id, mailbox=mailbox, uidvalidity=uidvalidity, uid=uid,
                                  seen_at=utcnow()))
            _event(s, WORKER, "message.duplicate", f"message:{same.id}",
                   {"mailbox": mailbox, "uidvalidity": uidvalidity, "uid": uid, "message_id": message_id,
                    "sha256": sha256, "same_bytes": same.sha256 == sha256})
            return message_record(same), False
        now = utcnow()
        row = Message(mailbox=mailbox, uidvalidity=uidvalidity, uid=uid, message_id=message_id, sha256=sha256,
                      received_at=received_at, sender=sender, subject=subject, original_path=original_path,
                      state=STORED, attempts=0, last_error="", reasons=[], note="", filed_folder="",
                      created_at=now, updated_at=now)
        s.add(row)
        s.flush()
        s.add(MessageLocation(message_pk=row.id, mailbox=mailbox, uidvalidity=uidvalidity, uid=uid, seen_at=now))
        _event(s, WORKER, "message.stored", f"message:{row.id}",
               {"mailbox": mailbox, "uidvalidity": uidvalidity, "uid": uid, "message_id": message_id,
                "sha256": sha256, "sender": sender, "subject": subject})
        return message_record(row), True

    def message(self, message_pk: int) -> MessageRecord:
        with self._transaction(read_only=True) as s:
            return message_record(self._message(s, message_pk))

    def pending(self, limit: int = 100) -> list[MessageRecord]:
        with self._transaction(read_only=True) as s:
            rows = s.execute(sa.select(Message).where(Message.state == STORED)
                             .order_by(Message.received_at, Message.id).limit(limit)).scalars()
            return [message_record(r) for r in rows]

    def claim(self, owner: str, lease: timedelta, now: datetime) -> MessageRecord | None:
        """Take the oldest stored message nobody holds, for ``lease``; None when none is free.

        PostgreSQL: ``FOR UPDATE SKIP LOCKED`` lets several workers claim at once without
        waiting on each other. SQLite serialises writers, which gives the same guarantee.
        """
        with self._transaction() as s:
            row = _claim_one(s, sa.select(Message).where(Message.state == STORED)
                             .order_by(Message.received_at, Message.id), Message, owner, lease, now)
            return None if row is None else message_record(row)

    def record_failure(self, message_pk: int, error: str, retry_at: datetime | None = None) -> int:
        """Count a failed processing attempt; the message stays ``stored`` for a retry.

        ``retry_at`` keeps other workers' claims away until then (a back-off)."""
        with self._transaction() as s:
            row = self._message(s, message_pk, lock=True)
            row.attempts += 1
            row.last_error = error
            row.lease_owner, row.lease_until = "", retry_at  # a back-off nobody holds
            row.updated_at = utcnow()
            _event(s, WORKER, "message.failed", f"message:{message_pk}",
                   {"attempts": row.attempts, "error": error})
            return row.attempts

    # --- decisions --------------------------------------------------------------------

    def record_decision(self, message_pk: int, *, claim: Claim | None, forms: Sequence[Form],
                        decision: Decision | None, reply: OutgoingReply | None, note: str = "") -> None:
        """Write a message's decision, submissions, quota changes, events and reply at once.

        ``decision=None`` records an ignored mail (no submission, no reply). A second
        call for a message that is already decided changes nothing. Raises
        ``StaleDecision`` (writing nothing) when an accepted increase quotes a number
        another decision has changed in the meantime.
        """
        with self._transaction() as s:
            message = self._message(s, message_pk, lock=True)
            if message.state != STORED:
                return
            now = utcnow()
            message.state, message.note, message.updated_at = DECIDED, note, now
            if decision is None:
                message.outcome = None
                _event(s, WORKER, "message.ignored", f"message:{message_pk}", {"note": note})
                return
            message.outcome = str(decision.outcome)
            message.reasons = [reason_to_json(r) for r in decision.reasons]
            submissions = []
            if claim is not None:
                submissions = self._add_submissions(s, message, claim, forms, decision)
            _event(s, WORKER, "decision.recorded", f"message:{message_pk}", {
                "outcome": str(decision.outcome), "reasons": decision.codes, "note": note,
                "unit": claim.unit if claim else None, "kind": claim.kind if claim else None,
                "submissions": [sub.id for sub, _ in submissions]})
            if decision.outcome == Outcome.ACCEPTED and claim is not None:
                for submission, form in submissions:
                    if isinstance(form, IncreaseForm):
                        self.apply_increase(s, claim, submission, form, now)
            if reply is not None:
                s.add(Reply(message_pk=message_pk, to_addr=reply.to_addr, reply_message_id=reply.reply_message_id,
                            raw=reply.raw, status=QUEUED, attempts=0, next_attempt_at=now, last_error="",
                            created_at=now))
                _event(s, WORKER, "reply.queued", f"message:{message_pk}",
                       {"to": reply.to_addr, "reply_message_id": reply.reply_message_id})

    def _add_submissions(self, s: Session, message: Message, claim: Claim, forms: Sequence[Form],
                         decision: Decision) -> list[tuple[Submission, Form | None]]:
        window = self.profile.window_for(claim.kind, message.received_at) if self.profile else None
        # Locking the unit serialises decisions of one unit, so two summaries decided at
        # once cannot both stay current.
        unit_known = s.execute(sa.select(Unit.id).where(Unit.name == claim.unit).with_for_update()).first()
        if unit_known is None:
            raise StoreError(f"unit {claim.unit!r} of message {message.id} is not in the units list")
        added = []
        for form in list(forms) or [None]:
            submission = Submission(
                message_pk=message.id, unit=claim.unit, year=claim.year,
                kind=form.kind if form is not None else claim.kind, claimed_kind=claim.kind,
                decision=str(decision.outcome), reasons=[reason_to_json(r) for r in decision.reasons],
                stamp=bool(form and form.stamp), total=form.total if isinstance(form, SummaryForm) else None,
                form_unit=form.unit if form is not None else "", received_at=message.received_at,
                window_start=window.start if window else None, window_end=window.end if window else None,
                created_at=utcnow(),
            )
            s.add(submission)
            s.flush()
            for position, line in enumerate(form.lines if form is not None else ()):
                s.add(SubmissionLine(
                    submission_id=submission.id, position=position, row=line.row, certificate=line.certificate,
                    level=line.level, count=getattr(line, "count", None), approved=getattr(line, "approved", None),
                    requested=getattr(line, "requested", None), confident=line.confident))
            if submission.kind == "summary" and decision.outcome != Outcome.REJECTED:
                self._supersede(s, submission)
            added.append((submission, form))
        return added

    def _active_summaries(self, s: Session, unit: str, year: int, window_start, exclude: int | None = None):
        query = sa.select(Submission).where(
            Submission.unit == unit, Submission.year == year, Submission.kind == "summary",
            Submission.decision != str(Outcome.REJECTED), Submission.superseded_by_id.is_(None),
            Submission.window_start.is_not_distinct_from(window_start))
        if exclude is not None:
            query = query.where(Submission.id != exclude)
        return s.execute(query.order_by(Submission.received_at, Submission.id).with_for_update()).scalars().all()

    def _supersede(self, s: Session, new: Submission) -> None:
        """The newest summary (by arrival) of a unit in a window is the one that counts."""
        others = self._active_summaries(s, new.unit, new.year, new.window_start, exclude=new.id)
        newer = [o for o in others if (o.received_at, o.message_pk) > (new.received_at, new.message_pk)]
        if newer:
            new.superseded_by_id = newer[-1].id
            _event(s, WORKER, "submission.superseded", f"submission:{new.id}",
                   {"by": newer[-1].id, "why": "arrived earlier than a summary already recorded"})
        for older in others:
            if older not in newer and older.message_pk != new.message_pk:
                older.superseded_by_id = newer[-1].id if newer else new.id
                _event(s, WORKER, "submission.superseded", f"submission:{older.id}",
                       {"by": older.superseded_by_id, "unit": new.unit, "year": new.year})

    def current_summary(self, unit: str, year: int, received_at: datetime) -> SubmissionRecord | None:
        """The summary a new one from ``unit`` arriving at ``received_at`` would supersede (for the reply)."""
        window = self.profile.window_for("summary", received_at) if self.profile else None
        with self._transaction() as s:
            rows = [r for r in self._active_summaries(s, unit, year, window.start if window else None)
                    if r.received_at <= received_at]
            if not rows:
                return None
            row = rows[-1]
            message_id = s.execute(sa.select(Message.message_id).where(Message.id == row.message_pk)).scalar_one()
            return SubmissionRecord(id=row.id, message_pk=row.message_pk, message_id=message_id, unit=row.unit,
                                    year=row.year, kind=row.kind, decision=row.decision,
                                    received_at=row.received_at, total=row.total)

    def apply_increase(self, s: Session, claim: Claim, submission: Submission, form: IncreaseForm,
                       now: datetime, *, actor: str = WORKER) -> None:
        """Raise the quotas of an accepted increase inside the caller's transaction ``s``.

        Used by ``record_decision`` and by a staff decision on the review page (``actor``
        ``staff:<name>``). Raises ``StaleDecision`` when a quoted number is no longer current;
        the caller's transaction must then be rolled back.
        """
        # Lock in a fixed order so two workers never wait on each other in a cycle.
        for line in sorted(form.lines, key=lambda l: (l.certificate, l.level)):
            quota = s.execute(
                sa.select(Quota).join(Unit, Quota.unit_id == Unit.id)
                .join(Certificate, Quota.certificate_id == Certificate.id)
                .where(Quota.year == claim.year, Unit.name == claim.unit, Certificate.name == line.certificate,
                       Quota.level == line.level)
                .with_for_update(of=Quota)).scalar_one_or_none()
            if quota is None or quota.approved != line.approved or line.requested is None:
                raise StaleDecision(
                    f"message {submission.message_pk}: quota {claim.year}/{claim.unit}/{line.certificate}/"
                    f"{line.level} is {quota.approved if quota else 'not approved'}, the accepted form quotes "
                    f"{line.approved}; decide again on a new snapshot")
            old = quota.approved
            quota.approved, quota.updated_at = line.requested, now
            s.add(QuotaChange(quota_id=quota.id, old_approved=old, new_approved=line.requested, cause="increase",
                              actor=actor, submission_id=submission.id, source="", at=now))
            _event(s, actor, "quota.increased", f"quota:{claim.year}/{claim.unit}/{line.certificate}/{line.level}",
                   {"old": old, "new": line.requested, "submission": submission.id,
                    "message": submission.message_pk, "row": line.row})


    # --- outbox ---------------------------------------------------------------------

    def queued_replies(self, now: datetime) -> list[ReplyRecord]:
        with self._transaction(read_only=True) as s:
            rows = s.execute(sa.select(Reply).where(Reply.status == QUEUED, Reply.next_attempt_at <= now)
                             .order_by(Reply.next_attempt_at, Reply.id)).scalars()
            return [reply_record(r) for r in rows]

    def _reply(self, s: Session, reply_pk: int) -> Reply:
        row = s.execute(sa.select(Reply).where(Reply.id == reply_pk).with_for_update()).scalar_one_or_none()
        if row is None:
            raise StoreError(f"no reply with id {reply_pk} in the outbox")
        return row

    def claim_reply(self, holder: str, lease: timedelta, now: datetime) -> ReplyRecord | None:
        """Take the next due reply nobody is sending, for ``lease``; None when none is due.

        A reply whose last sender vanished after handing it to the SMTP server (see
        ``mark_reply_handed_over``) may or may not have been delivered: it is sent again,
        with the same bytes and Message-ID, and the doubt is written to the audit trail.
        """
        with self._transaction() as s:
            query = (sa.select(Reply).where(Reply.status == QUEUED, Reply.next_attempt_at <= now)
                     .order_by(Reply.next_attempt_at, Reply.id))
            row = _claim_one(s, query, Reply, holder, lease, now)
            if row is None:
                return None
            if row.handed_over_at is not None:
                _event(s, WORKER, "reply.outcome_unknown", _outbox_subject(row),
                       {"reply": row.id, "reply_message_id": row.reply_message_id,
                        "handed_over_at": row.handed_over_at.isoformat()})
                row.handed_over_at = None
            return reply_record(row)

    def mark_reply_handed_over(self, reply_pk: int, at: datetime) -> None:
        """The SMTP server is about to receive the reply's data: from here on its fate is unsure."""
        with self._transaction() as s:
            self._reply(s, reply_pk).handed_over_at = at

    def mark_reply_sent(self, reply_pk: int, at: datetime) -> None:
        with self._transaction() as s:
            reply = self._reply(s, reply_pk)
            if reply.status == SENT:
                return
            reply.status, reply.sent_at, reply.attempts = SENT, at, reply.attempts + 1
            reply.lease_owner, reply.lease_until, reply.handed_over_at = "", None, None
            if reply.message_pk is not None:  # None: our own mail (a reminder, a digest)
                message = self._message(s, reply.message_pk, lock=True)
                if message.state == DECIDED:
                    message.state, message.updated_at = REPLIED, utcnow()
            _event(s, WORKER, "reply.sent", _outbox_subject(reply),
                   {"reply": reply_pk, "reply_message_id": reply.reply_message_id, "to": reply.to_addr})

    def mark_reply_failed(self, reply_pk: int, error: str, retry_at: datetime | None) -> None:
        """Count a failed send; ``retry_at=None`` means a permanent refusal: no more attempts."""
        with self._transaction() as s:
            reply = self._reply(s, reply_pk)
            if reply.status != QUEUED:
                return
            reply.attempts += 1
            reply.last_error = error
            if reply.handed_over_at is not None:  # the connection broke after the data went out
                _event(s, WORKER, "reply.outcome_unknown", _outbox_subject(reply),
                       {"reply": reply_pk, "reply_message_id": reply.reply_message_id, "error": error})
            reply.lease_owner, reply.lease_until, reply.handed_over_at = "", None, None
            if retry_at is None:
                reply.status = FAILED
            else:
                reply.next_attempt_at = retry_at
            _event(s, WORKER, "reply.failed", _outbox_subject(reply),
                   {"reply": reply_pk, "attempts": reply.attempts, "error": error,
                    "retry_at": retry_at.isoformat() if retry_at else None})

    # --- filing ---------------------------------------------------------------------

    def unfiled(self, now: datetime | None = None) -> list[tuple[MessageRecord, str]]:
        """Messages whose handling is complete (no reply still to send) but not yet moved on the server.

        With ``now``, a message whose last filing failed is left out until its retry time."""
        with self._transaction(read_only=True) as s:
            query = sa.select(Message).where(ready_to_file()).order_by(Message.id)
            if now is not None:
                query = query.where(sa.or_(Message.file_retry_at.is_(None), Message.file_retry_at <= now))
            return [(message_record(r), r.outcome or "ignored") for r in s.execute(query).scalars()]

    def record_filing_failure(self, message_pk: int, error: str, retry_at: datetime) -> int:
        """The server refused to file a message: it stays where it is until ``retry_at``."""
        with self._transaction() as s:
            row = self._message(s, message_pk, lock=True)
            row.file_attempts += 1
            row.file_error, row.file_retry_at = error, retry_at
            _event(s, WORKER, "message.file_failed", f"message:{message_pk}",
                   {"attempts": row.file_attempts, "error": error, "retry_at": retry_at.isoformat()})
            return row.file_attempts

    def mark_filed(self, message_pk: int, folder: str) -> None:
        with self._transaction() as s:
            message = self._message(s, message_pk, lock=True)
            message.state, message.filed_folder, message.updated_at = FILED, folder, utcnow()
            message.file_error, message.file_retry_at = "", None
            _event(s, WORKER, "message.filed", f"message:{message_pk}", {"folder": folder})

    # --- reference data and audit ---------------------------------------------------

    def snapshot(self) -> LedgerState:
        with self._transaction(read_only=True) as s:
            units = tuple(
                UnitRef(name=u.name, type=u.type, city=u.city, aliases=tuple(u.aliases),
                        contacts=tuple(u.contacts))
                for u in s.execute(sa.select(Unit).order_by(Unit.name)).scalars())
            certificates = tuple(
                CertificateRef(name=c.name, organization=c.organization, levels=frozenset(c.levels), batch=c.batch)
                for c in s.execute(sa.select(Certificate).order_by(Certificate.name)).scalars())
            quotas = {
                (year, unit, cert, level): approved
                for year, unit, cert, level, approved in s.execute(
                    sa.select(Quota.year, Unit.name, Certificate.name, Quota.level, Quota.approved)
                    .join(Unit, Quota.unit_id == Unit.id).join(Certificate, Quota.certificate_id == Certificate.id))
            }
            return LedgerState(units=units, certificates=certificates, quotas=quotas)

    def log_event(self, actor: str, action: str, subject: str, detail: dict) -> None:
        with self._transaction() as s:
            _event(s, actor, action, subject, detail)
