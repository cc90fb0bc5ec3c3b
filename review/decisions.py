"""What staff do to a submission: correct a value read from the form, then accept or reject.

Both are one transaction each. A correction re-runs ``domain.rules.check_form`` on the
corrected form and stores the new reasons; the decision stays ``review`` until staff
decide. A decision (only from ``review``, checked under a row lock, so a double click or
two staff at once cannot decide twice) updates the submission(s) of the message, applies
an accepted increase through the store's own code path, writes the events, and queues
exactly one follow-up reply in the outbox, which the worker sends.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from config.profile import Profile
from domain.decision import REVIEW_CODES, Claim, Decision, Outcome, Reason, ReasonCode
from domain.forms import IncreaseForm, IncreaseLine, SummaryForm, SummaryLine
from domain.rules import TOTAL_COLUMN, UNIT_COLUMN, check_form
from domain.state import LedgerState
from intake import originals, replies
from intake.message import decode
from ledger.models import Event, Message, Reply, StaffCorrection, Submission, SubmissionLine, utcnow
from ledger.store import QUEUED, StaleDecision, Store, reason_from_json, reason_to_json
from parsers.catalog import match_certificate
from review.labels import FIELDS, FORM_CODES, REASONS
from templates import say, text

NUMBER_FIELDS = {"summary": ("count",), "increase": ("approved", "requested")}
TEXT_FIELDS = ("certificate", "level")
MAX_COUNT = 100_000


class ReviewError(Exception):
    """Staff asked for something the ledger refuses; the message (``staff.correct.*``,
    ``staff.decide.*``) says what to do."""


@dataclass(frozen=True)
class CellChange:
    line_id: int | None  # None: the form's 合计
    field: str
    value: str  # as typed


@dataclass(frozen=True)
class DecisionResult:
    outcome: str
    reply_message_id: str
    to_addr: str
    quota_changes: tuple[tuple[str, str, int, int], ...]


# --- forms from the ledger --------------------------------------------------------------


def _unsure(submission: Submission, column: str) -> bool:
    """The reader flagged this header field (unit, 合计) as not clearly read."""
    return any(r.get("code") == str(ReasonCode.OCR_LOW_CONFIDENCE) and r.get("column") == column
               for r in submission.reasons)


def form_of(submission: Submission, lines: list[SubmissionLine], state: LedgerState, *,
            confirmed: bool = False, checked: frozenset[str] = frozenset()) -> SummaryForm | IncreaseForm:
    """The form as the ledger holds it now (corrections applied), for the rules and the reply.

    ``confirmed``: staff vouch for every value shown (they accept), so nothing is unsure any
    more and every rule applies to every line. ``checked``: header fields staff just corrected.
    """
    def matched(name: str) -> bool:
        return state.certificate(name) is not None

    unit_sure = confirmed or "unit" in checked or not _unsure(submission, UNIT_COLUMN)
    ordered = sorted(lines, key=lambda l: l.position)
    if submission.kind == "increase":
        return IncreaseForm(
            unit=submission.form_unit, stamp=submission.stamp, unit_confident=unit_sure,
            lines=tuple(IncreaseLine(row=l.row, certificate=l.certificate, level=l.level, approved=l.approved,
                                     requested=l.requested, confident=confirmed or l.confident,
                                     certificate_read=l.certificate, certificate_matched=matched(l.certificate))
                        for l in ordered))
    return SummaryForm(
        unit=submission.form_unit, stamp=submission.stamp, total=submission.total, unit_confident=unit_sure,
        total_confident=confirmed or "total" in checked or not _unsure(submission, TOTAL_COLUMN),
        lines=tuple(SummaryLine(row=l.row, certificate=l.certificate, level=l.level, count=l.count,
                                confident=confirmed or l.confident, certificate_read=l.certificate,
                                certificate_matched=matched(l.certificate)) for l in ordered))


def claim_of(submission: Submission) -> Claim:
    return Claim(unit=submission.unit, year=submission.year, kind=submission.claimed_kind or submission.kind)


def recheck(submission: Submission, form, profile: Profile, state: LedgerState) -> list[Reason]:
    """The message-level reasons kept, the form's reasons computed again on the corrected form."""
    old = [reason_from_json(r) for r in submission.reasons]
    kept = [r for r in old if r.code not in FORM_CODES]
    where = next((r for r in old if r.code in FORM_CODES and r.attachment), None)
    try:
        columns = profile.form(form.kind).column_names()
    except KeyError:
        columns = None
    fresh = check_form(form, claim_of(submission), state, page=where.page if where else None,
                       attachment=where.attachment if where else "", columns=columns)
    return kept + fresh


# --- corrections ------------------------------------------------------------------------


def _parse(field: str, kind: str, typed: str, state: LedgerState) -> int | str:
    typed = typed.strip()
    if field in NUMBER_FIELDS.get(kind, ()) or field == "total":
        digits = typed.translate(str.maketrans("０１２３４５６７８９", "0123456789"))
        if not digits.isdigit() or int(digits) > MAX_COUNT:
            raise ReviewError(say("staff.correct.number", field=FIELDS[field], limit=MAX_COUNT, value=typed))
        return int(digits)
    if field == "certificate":
        if not typed:
            raise ReviewError(text("staff.correct.certificate.empty"))
        match = match_certificate(typed, state.certificates)
        return match.name if match.name and match.confident else typed
    if field == "unit":
        if not typed:
            raise ReviewError(text("staff.correct.unit.empty"))
        return typed
    if field == "level":
        if not typed:
            raise ReviewError(text("staff.correct.level.empty"))
        return typed
    raise ReviewError(say("staff.correct.field", field=field))


def correct(engine: sa.Engine, profile: Profile, submission_id: int, changes: list[CellChange], *,
            staff: str, state: LedgerState, require_change: bool = True) -> list[Reason] | None:
    """Apply staff corrections; returns the reasons after the rules ran on the corrected form.

    ``state`` is a fresh ``Store.snapshot()``. Unchanged values are skipped; when nothing
    changed, raises ``ReviewError`` (or returns None if not ``require_change``). Lines staff
    corrected count as checked (``confident``).
    """
    with Session(engine, expire_on_commit=False) as s, s.begin():
        submission = _submission(s, submission_id, lock=True)
        if submission.decision != str(Outcome.REVIEW):
            raise ReviewError(text("staff.correct.not_review"))
        lines = {l.id: l for l in s.execute(sa.select(SubmissionLine).where(
            SubmissionLine.submission_id == submission_id)).scalars()}
        recorded = []
        for change in changes:
            if change.line_id is None:
                if change.field == "unit":
                    target, old = submission, submission.form_unit
                elif change.field == "total" and submission.kind == "summary":
                    target, old = submission, submission.total
                else:
                    raise ReviewError(text("staff.correct.header"))
            else:
                target = lines.get(change.line_id)
                if target is None:
                    raise ReviewError(say("staff.correct.no_line", line=change.line_id))
                if change.field not in (*TEXT_FIELDS, *NUMBER_FIELDS[submission.kind]):
                    raise ReviewError(say("staff.correct.field", field=change.field))
                old = getattr(target, change.field)
            if not change.value.strip() and old in (None, ""):
                continue  # an empty cell left empty: nothing to correct
            new = _parse(change.field, submission.kind, change.value, state)
            if new == old:
                continue
            setattr(target, "form_unit" if change.field == "unit" else change.field, new)
            if change.line_id is not None:
                target.confident = True
            recorded.append({"line": change.line_id, "row": getattr(target, "row", None), "field": change.field,
                             "old": "" if old is None else str(old), "new": str(new)})
            s.add(StaffCorrection(submission_id=submission_id, line_id=change.line_id, field=change.field,
                                  old_value="" if old is None else str(old), new_value=str(new), staff=staff,
                                  at=utcnow()))
        if not recorded:
            if not require_change:
                return None
            raise ReviewError(text("staff.correct.nothing"))
        s.flush()
        checked = frozenset(c["field"] for c in recorded if c["line"] is None)
        form = form_of(submission, list(lines.values()), state, checked=checked)
        reasons = recheck(submission, form, profile, state)
        submission.reasons = [reason_to_json(r) for r in reasons]
        s.add(Event(actor=f"staff:{staff}", action="staff.corrected", subject=f"submission:{submission_id}",
                    detail={"changes": recorded, "reasons": list(dict.fromkeys(str(r.code) for r in reasons))},
                    at=utcnow()))
        return reasons


# --- decisions --------------------------------------------------------------------------


def _submission(s: Session, submission_id: int, *, lock: bool = False) -> Submission:
    query = sa.select(Submission).where(Submission.id == submission_id)
    row = s.execute(query.with_for_update() if lock else query).scalar_one_or_none()
    if row is None:
        raise ReviewError(say("staff.submission.missing", id=submission_id))
    return row


def staff_templates(outcome: Outcome, staff_note: str, base: replies.Templates | None = None) -> replies.Templates:
    """The reply wording with the outcome sentence saying staff decided, and why (``phrases.staff.*``)."""
    t = base or replies.load_templates()
    note = " ".join(staff_note.split())
    phrases = dict(t.phrases)
    if outcome == Outcome.ACCEPTED:
        said = t.phrase("staff.note", note=note) if note else ""
        for key in ("outcome.accepted", "outcome.accepted.summary", "outcome.accepted.increase"):
            phrases[key] = t.phrase("staff.accepted", outcome=phrases[key], note=said)
    else:
        said = t.phrase("staff.rejected.note", note=note) if note else ""
        phrases["outcome.rejected"] = t.phrase("staff.rejected", note=said)
    return dataclasses.replace(t, phrases=phrases)


def decide(engine: sa.Engine, profile: Profile, submission_id: int, outcome: str, *, staff: str, note: str,
           from_addr: str, data_dir: str | Path, now: datetime | None = None) -> DecisionResult:
    """Accept or reject a ``review`` submission; queue one follow-up reply to the school."""
    outcome = Outcome(outcome)
    if outcome == Outcome.REVIEW:
        raise ReviewError(text("staff.decide.choose"))
    note = note.strip()
    if outcome == Outcome.REJECTED and not note:
        raise ReviewError(text("staff.decide.note_needed"))
    now = now or utcnow()
    store = Store(engine, profile)
    state = store.snapshot()

    # Everything the reply needs is read and rendered before the transaction (as the
    # worker does), so the outbox row holds fixed bytes.
    with Session(engine) as s:
        submission = _submission(s, submission_id)
        message = s.get(Message, submission.message_pk)
        lines = list(s.execute(sa.select(SubmissionLine).where(SubmissionLine.submission_id == submission_id)).scalars())
        first_reply_to = s.execute(sa.select(Reply.to_addr).where(Reply.message_pk == message.id)
                                   .order_by(Reply.id).limit(1)).scalar_one_or_none()
        has_form = bool(lines or submission.form_unit)
        # Accepting means staff vouch for every value shown: the rules then judge every line.
        form = form_of(submission, lines, state, confirmed=outcome == Outcome.ACCEPTED)
        reasons = (recheck(submission, form, profile, state) if has_form
                   else [reason_from_json(r) for r in submission.reasons])
        claim = claim_of(submission)
        expected_decision = submission.decision
    if expected_decision != str(Outcome.REVIEW):
        raise ReviewError(text("staff.decide.not_review"))
    blocking = [r for r in reasons if r.code not in REVIEW_CODES]
    if outcome == Outcome.ACCEPTED and blocking:
        listed = "；".join(dict.fromkeys(
            say("staff.decide.blocking.row", reason=REASONS.get(r.code, r.code), row=r.row) if r.row
            else f"{REASONS.get(r.code, r.code)}" for r in blocking))
        raise ReviewError(say("staff.decide.blocking", problems=listed))
    try:
        envelope = decode(originals.load(data_dir, message.original_path), message.received_at)
    except OSError as exc:
        raise ReviewError(say("staff.decide.original", path=message.original_path)) from exc
    to_addr = first_reply_to or envelope.reply_to or envelope.sender
    changes = tuple((l.certificate, l.level, l.approved, l.requested) for l in form.lines) \
        if outcome == Outcome.ACCEPTED and isinstance(form, IncreaseForm) else ()
    if any(old is None or new is None for _c, _l, old, new in changes):
        raise ReviewError(text("staff.decide.increase_blank"))
    decision = Decision(outcome, () if outcome == Outcome.ACCEPTED else tuple(reasons))
    reply_id = replies.new_reply_message_id(profile)
    raw = replies.build_reply(
        envelope=envelope, decision=decision, claim=claim, forms=[form] if has_form else [], profile=profile, from_addr=from_addr,
        to_addr=to_addr, reply_message_id=reply_id, now=now, quota_changes=list(changes),
        templates=staff_templates(outcome, note))

    actor = f"staff:{staff}"
    with Session(engine, expire_on_commit=False) as s, s.begin():
        locked = s.execute(sa.select(Message).where(Message.id == message.id).with_for_update()).scalar_one()
        submission = _submission(s, submission_id, lock=True)
        if submission.decision != str(Outcome.REVIEW):
            raise ReviewError(text("staff.decide.raced"))
        submission.decision = str(outcome)
        submission.reasons = [reason_to_json(r) for r in decision.reasons]
        locked.outcome = str(outcome)
        locked.reasons = submission.reasons
        locked.updated_at = now
        if outcome == Outcome.REJECTED:
            _restore_superseded(s, submission, actor)
        else:
            for line in s.execute(sa.select(SubmissionLine).where(SubmissionLine.submission_id == submission_id)).scalars():
                line.confident = True  # checked by staff against the original
        if changes:
            # The store's own path for an accepted increase (row locks, quota change rows,
            # events); it raises StaleDecision when the quoted number is no longer current.
            try:
                store.apply_increase(s, claim, submission, form, now, actor=actor)
            except StaleDecision as exc:
                raise ReviewError(text("staff.decide.stale_quota")) from exc
        s.add(Event(actor=actor, action="staff.decided", subject=f"submission:{submission_id}", at=now, detail={
            "outcome": str(outcome), "note": note, "reasons": decision.codes, "message": message.id,
            "quota_changes": [list(c) for c in changes]}))
        s.add(Reply(message_pk=message.id, to_addr=to_addr, reply_message_id=reply_id, raw=raw, status=QUEUED,
                    attempts=0, next_attempt_at=now, last_error="", created_at=now))
        s.add(Event(actor=actor, action="reply.queued", subject=f"message:{message.id}", at=now,
                    detail={"to": to_addr, "reply_message_id": reply_id, "follow_up": True}))
    return DecisionResult(str(outcome), reply_id, to_addr, changes)


def _restore_superseded(s: Session, rejected: Submission, actor: str) -> None:
    """A summary staff reject no longer counts: the one it had superseded counts again."""
    for older in s.execute(sa.select(Submission).where(Submission.superseded_by_id == rejected.id)).scalars():
        older.superseded_by_id = None
        s.add(Event(actor=actor, action="submission.restored", subject=f"submission:{older.id}", at=utcnow(),
                    detail={"because_rejected": rejected.id}))
