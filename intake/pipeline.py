"""One message, start to decision: the functional core of the worker.

``process`` takes a decoded ``Envelope`` and what the ledger knows, and returns
what should happen: ignore it, or decide (accept / reject / review) with every
reason. It reads attachments but does no other I/O, so it is tested without
any server.

Two questions are answered here besides the rules themselves:

* Is the mail a submission attempt at all? A subject that follows a rule is; so is a
  mail whose attachment holds a filled form; so is a subject with a submission word
  or a unit's name, unless it also says it is something else (回执, 会议 …: the
  profile's ``[attempts]``). Anything else is filed for staff without a reply.
* Which page is the submission? One mail gives at most one submission per form kind:
  pages without a single data line (a cover letter, the notice's empty 附件1 template)
  are never one; identical readings of the same form (a PDF and a photo of it) are one;
  copies that disagree go to staff with both readings shown.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from config.profile import Profile
from domain.decision import REVIEW_CODES, Claim, Decision, Reason, ReasonCode
from domain.envelope import Attachment, Envelope
from domain.forms import DocumentReading, Form, IncreaseLine, SummaryForm, SummaryLine
from domain.names import UnitMatch, match_unit
from domain.rules import TOTAL_COLUMN, UNIT_COLUMN, check_form, normalise_name, settle_with_ledger
from domain.state import LedgerState
from intake import subject as subjects
from intake.logs import get_logger
from intake.message import attachment_reasons
from parsers.errors import ReaderError
from parsers.reader import read_attachment
from templates import say

log = get_logger("intake.pipeline")

Reader = Callable[..., DocumentReading]

# Notes of ignored mail start with one of these; the worker files the first kind in the
# profile's ``ignored`` folder and the second in ``other``, where staff read it.
AUTO_GENERATED = "auto-generated"
NOT_ATTEMPT = "not a submission attempt"
# Differences between two copies of one form listed in the reply, at most.
MAX_DIFFERENCES = 10


@dataclass(frozen=True)
class Processed:
    decision: Decision | None  # None: not a submission attempt, no reply
    claim: Claim | None = None
    forms: tuple[Form, ...] = ()
    readings: tuple[DocumentReading, ...] = ()
    note: str = ""  # why a message was ignored; for a decision, remarks on the pages read
    reply_to: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def other_mail(self) -> bool:
        """Ignored as no submission attempt (filed for staff), not as auto-generated mail."""
        return self.decision is None and self.note.startswith(NOT_ATTEMPT)


@dataclass(frozen=True)
class MailDecision(Decision):
    """A decision with remarks for the reply's 收到的内容 (copies of one form, pages not taken).

    ``intake.replies`` prints ``remarks`` under the attachment names. Only used when there
    are remarks, so every other decision stays a plain ``Decision``.
    """

    remarks: tuple[str, ...] = ()


@dataclass(frozen=True)
class FormPage:
    """One page of one attachment that reads as one of the profile's forms."""

    attachment: str
    page: int  # 1-based
    form: Form
    source: str = ""  # "text" or "ocr"
    order: int = 0  # position among the mail's form pages: ties go to the earlier page

    @property
    def filled(self) -> bool:
        """Holds at least one data line (an empty template or a cover letter holds none)."""
        return bool(self.form.lines)

    @property
    def where(self) -> str:
        return say("details.where", name=self.attachment, pages=self.page)


@dataclass(frozen=True)
class Reading:
    """Every attachment of a mail, read once."""

    readings: tuple[DocumentReading, ...] = ()
    pages: tuple[FormPage, ...] = ()
    reasons: tuple[Reason, ...] = ()  # attachment.unreadable for what could not be read

    def filled(self) -> list[FormPage]:
        return [p for p in self.pages if p.filled]


@dataclass(frozen=True)
class Selection:
    """The one page that stands for the claimed form, and what was said about the others."""

    pages: tuple[FormPage, ...] = ()  # at most one
    reasons: tuple[Reason, ...] = ()
    remarks: tuple[str, ...] = ()  # for the reply's 收到的内容 and the ledger note
    extra: dict = field(default_factory=dict)


def documents(envelope: Envelope) -> list[Attachment]:
    """The attachments to read (the decoder already dropped inline images beside real ones)."""
    return [a for a in envelope.attachments if not a.unreadable]


def read_attachments(
    envelope: Envelope, profile: Profile, state: LedgerState, read: Reader, budget_seconds: float | None = None,
) -> Reading:
    """Read every attachment; once ``budget_seconds`` are spent on this mail, refuse the rest."""
    readings: list[DocumentReading] = []
    pages: list[FormPage] = []
    reasons: list[Reason] = []
    started = time.monotonic()
    for attachment in documents(envelope):
        if budget_seconds is not None and time.monotonic() - started > budget_seconds:
            reasons.append(Reason(
                ReasonCode.ATTACHMENT_UNREADABLE, attachment=attachment.filename,
                detail=say("attachments.mail.time_spent", seconds=budget_seconds)))
            continue
        try:
            reading = read(
                attachment.data, attachment.filename, profile=profile, certificates=state.certificates
            )
        except ReaderError as exc:
            reasons.append(
                Reason(ReasonCode.ATTACHMENT_UNREADABLE, detail=str(exc), attachment=attachment.filename)
            )
            continue
        readings.append(reading)
        for page in reading.pages:
            if page.form is not None:
                pages.append(FormPage(attachment.filename, page.index + 1, page.form, page.source, len(pages)))
    return Reading(tuple(readings), tuple(pages), tuple(reasons))


def _unrecognized(profile: Profile, claim: Claim, readings: Sequence[DocumentReading] = ()) -> Reason:
    """No page is the claimed form. Rejected only when every page was read and none even holds a
    table: a table the reader could not name (in any orientation), or a picture it read next to
    nothing of, may be the form misread, so staff look."""
    expected = profile.form(claim.kind).name
    doubtful = [(d.filename, p) for d in readings for p in d.pages if (p.has_table or p.illegible) and p.kind == "unknown"]
    if doubtful:
        name, page = doubtful[0]
        return Reason(ReasonCode.OCR_LOW_CONFIDENCE, detail=say(
            "details.form.unrecognized.table" if page.has_table else "details.form.unrecognized.illegible",
            form=expected),
                      attachment=name, page=page.index + 1, expected=expected)
    return Reason(ReasonCode.FORM_UNRECOGNIZED, detail=say("details.form.unrecognized", form=expected),
                  expected=expected)


# --- one submission per form kind ---------------------------------------------------------


def _values(line: SummaryLine | IncreaseLine) -> tuple:
    return (line.count,) if isinstance(line, SummaryLine) else (line.approved, line.requested)


def _reading_key(form: Form) -> tuple:
    """What two copies of one form must share to be the same reading: unit, lines, total."""
    lines = sorted((line.row, line.certificate, line.level, *_values(line)) for line in form.lines)
    return (normalise_name(form.unit), tuple(lines), form.total if isinstance(form, SummaryForm) else None)


def _rank(page: FormPage) -> tuple:
    """The copy to keep: stamped first, then the most surely read, then the text layer, then the first."""
    form = page.form
    return (form.stamp, form.stamp_confident, form.table_confident, form.unit_confident,
            getattr(form, "total_confident", True), sum(line.confident for line in form.lines),
            len(form.lines), page.source == "text", -page.order)


def _page_list(pages: Sequence[FormPage]) -> str:
    """附件“a.pdf”第1、2页，附件“b.jpg”第1页"""
    by_attachment: dict[str, list[int]] = {}
    for page in pages:
        by_attachment.setdefault(page.attachment, []).append(page.page)
    return "，".join(say("details.where", name=name, pages="、".join(map(str, numbers)))
                    for name, numbers in by_attachment.items())


def _settled(page: FormPage, claim: Claim, state: LedgerState) -> FormPage:
    form, rows = settle_with_ledger(page.form, claim, state)
    if rows:
        log.info("form.settled_by_ledger", attachment=page.attachment, page=page.page, rows=list(rows))
    return replace(page, form=form) if rows else page


def select_forms(pages: Sequence[FormPage], claim: Claim, profile: Profile, state: LedgerState) -> Selection:
    """At most one page stands for the claimed form; the rules judge that page.

    * Pages without a data line are never the submission when another page has lines
      (a cover letter naming the form, the notice's 附件1 template printed empty).
      When no page has a line (a table the reader could not find), the best of them
      stands for the form, as before: its unread table sends it to staff.
    * Copies with the same reading are one submission: the stamped, most surely read
      copy is kept and the others are named in the remarks.
    * Copies that disagree: ``review`` (``ocr.low_confidence``, never a rejection — we
      cannot tell which copy the school meant), one reason per difference, each with
      both readings. Only the kept copy's own review reasons are added: the rules'
      rejections wait for staff, who see both copies.
    """
    rule = profile.form(claim.kind)
    columns = rule.column_names()
    same_kind = [_settled(p, claim, state) for p in pages if p.form.kind == claim.kind]
    if not same_kind:
        return Selection()

    def check(page: FormPage) -> list[Reason]:
        return check_form(page.form, claim, state, page=page.page, attachment=page.attachment, columns=columns)

    filled = [p for p in same_kind if p.filled]
    if not filled:
        best = max(same_kind, key=_rank)
        return Selection((best,), tuple(check(best)))

    remarks: list[str] = []
    extra: dict = {}
    empty = [p for p in same_kind if not p.filled]
    if empty:
        remarks.append(say("details.remark.pages_without_data", pages=_page_list(empty), form=rule.name))
        extra["pages_without_data"] = [{"attachment": p.attachment, "page": p.page} for p in empty]

    best = max(filled, key=_rank)
    groups: dict[tuple, list[FormPage]] = {}
    for page in filled:
        groups.setdefault(_reading_key(page.form), []).append(page)
    copies = [p for p in groups[_reading_key(best.form)] if p is not best]
    if copies:
        remarks.append(say("details.remark.same_copy", pages=_page_list(copies), kept=best.where, form=rule.name))
        extra["copies"] = [{"attachment": p.attachment, "page": p.page, "same_as": best.where} for p in copies]
    differing = [max(group, key=_rank) for key, group in groups.items() if key != _reading_key(best.form)]
    if not differing:
        return Selection((best,), tuple(check(best)), tuple(remarks), extra)

    reasons: list[Reason] = []
    for other in differing:
        reasons += differences(best, other, rule.name, columns)
    reasons += [r for r in check(best) if r.code in REVIEW_CODES]
    extra["differing_copies"] = [{"attachment": p.attachment, "page": p.page} for p in (best, *differing)]
    return Selection((best,), tuple(reasons), tuple(remarks), extra)


def _shown(value) -> str:
    if value is None or value == "":
        return say("details.value.blank")
    return str(value)


def _line_text(line: SummaryLine | IncreaseLine | None) -> str:
    if line is None:
        return say("details.value.no_line")
    return " ".join([_shown(line.certificate), _shown(line.level), *(_shown(v) for v in _values(line))])


def differences(a: FormPage, b: FormPage, form_name: str, columns: dict[str, str]) -> list[Reason]:
    """Where two readings of one form differ: one ``ocr.low_confidence`` each, located on ``a``
    (the copy kept), the value naming both copies and what each says."""

    def reason(row: int | None, column: str, va, vb) -> Reason:
        place = ((say("details.copies.differ.row", row=row) if row is not None else "")
                 + (say("details.copies.differ.column", column=column) if column else ""))
        return Reason(
            ReasonCode.OCR_LOW_CONFIDENCE,
            detail=say("details.copies.differ", form=form_name, place=place),
            attachment=a.attachment, page=a.page, row=row, column=column,
            value=f"{a.where}：{_shown(va)}；{b.where}：{_shown(vb)}")

    found: list[Reason] = []
    if normalise_name(a.form.unit) != normalise_name(b.form.unit):
        found.append(reason(None, UNIT_COLUMN, a.form.unit, b.form.unit))

    def by_row(form: Form) -> dict[tuple[int, int], SummaryLine | IncreaseLine]:
        seen: dict[int, int] = {}
        out = {}
        for line in sorted(form.lines, key=lambda l: l.row):
            seen[line.row] = seen.get(line.row, 0) + 1
            out[(line.row, seen[line.row])] = line
        return out

    rows_a, rows_b = by_row(a.form), by_row(b.form)
    fields = ["certificate", "level", *(("count",) if isinstance(a.form, SummaryForm) else ("approved", "requested"))]
    for key in sorted(rows_a.keys() | rows_b.keys()):
        la, lb = rows_a.get(key), rows_b.get(key)
        if la is None or lb is None:
            found.append(reason(key[0], "", _line_text(la), _line_text(lb)))
            continue
        for name in fields:
            va, vb = getattr(la, name), getattr(lb, name)
            if va != vb:
                found.append(reason(key[0], columns.get(name, name), va, vb))
    total_a = a.form.total if isinstance(a.form, SummaryForm) else None
    total_b = b.form.total if isinstance(b.form, SummaryForm) else None
    if total_a != total_b:
        found.append(reason(None, TOTAL_COLUMN, total_a, total_b))
    if not found:  # the readings differ (the keys say so) in a way not listed above: never accept
        found.append(reason(None, "", _reading_summary(a.form), _reading_summary(b.form)))
    if len(found) > MAX_DIFFERENCES:
        rest = len(found) - MAX_DIFFERENCES + 1
        found = found[: MAX_DIFFERENCES - 1] + [Reason(
            ReasonCode.OCR_LOW_CONFIDENCE, attachment=a.attachment, page=a.page,
            detail=say("details.copies.differ.more", form=form_name, count=rest),
            value=f"{a.where}；{b.where}")]
    return found


def _reading_summary(form: Form) -> str:
    return "；".join(_line_text(line) for line in form.lines)


# --- one message --------------------------------------------------------------------------


def _why_not(envelope: Envelope, hints: subjects.AttemptHints) -> str:
    """Why a mail is no submission attempt, in Chinese for staff (the review page shows it)."""
    if hints.marker:
        said = say("details.not_attempt.marker", marker=hints.marker)
    else:
        said = say("details.not_attempt.subject")
    if not envelope.attachments:
        seen = say("details.not_attempt.no_attachment")
    elif not documents(envelope):
        seen = say("details.not_attempt.unreadable")
    else:
        seen = say("details.not_attempt.no_form")
    return f"{NOT_ATTEMPT}: {said}；{seen}"


def process(
    envelope: Envelope, profile: Profile, state: LedgerState, read: Reader = read_attachment,
    budget_seconds: float | None = None,
) -> Processed:
    if envelope.auto_generated:
        return Processed(None, note=f"{AUTO_GENERATED}: {envelope.auto_generated}")
    if "@" not in envelope.sender:
        return Processed(None, note=f"{NOT_ATTEMPT}: {say('details.not_attempt.no_sender')}")

    hints = subjects.attempt_hints(envelope, profile, state.units)
    reading: Reading | None = None
    kind_found: str | None = None
    if not hints.attempt:
        # Only a form in an attachment makes this mail an attempt: read them. A filled one
        # (the 附件1 template printed empty proves nothing); for a subject that follows a
        # rule and then says 回执/会议 …, any page read as the form (a scan whose table could
        # not be read is still the school's form).
        reading = read_attachments(envelope, profile, state, read, budget_seconds)
        found = reading.filled() or (list(reading.pages) if hints.rule else [])
        if not found:
            return Processed(None, readings=reading.readings, note=_why_not(envelope, hints))
        kind_found = found[0].form.kind

    parsed = subjects.parse_subject(envelope.subject, profile, state.units, kind=kind_found)
    malformed = any(r.code is ReasonCode.SUBJECT_MALFORMED for r in parsed.reasons)
    if malformed and reading is None and documents(envelope):
        # A sloppy subject: the form in the attachment tells which subject rule to quote.
        reading = read_attachments(envelope, profile, state, read, budget_seconds)
        filled = reading.filled()
        if filled:
            parsed = subjects.parse_subject(envelope.subject, profile, state.units, kind=filled[0].form.kind)

    reasons: list[Reason] = list(parsed.reasons)
    claim = parsed.claim
    unit = state.unit(claim.unit) if claim else None
    if claim is not None:
        closed = subjects.check_window(claim.kind, envelope.received_at, profile)
        if closed is not None:
            reasons.append(closed)
    reasons.extend(attachment_reasons(envelope))
    selection = Selection()
    if claim is not None and documents(envelope):
        reading = reading or read_attachments(envelope, profile, state, read, budget_seconds)
        selection = select_forms(reading.pages, claim, profile, state)
        form_reasons = [*reading.reasons, *selection.reasons]
        if not selection.pages and not form_reasons:
            form_reasons.append(_unrecognized(profile, claim, reading.readings))
        reasons.extend(form_reasons)
    elif reading is not None:
        reasons.extend(reading.reasons)
    if claim is not None:
        unverified = subjects.check_sender(envelope, unit)
        if unverified is not None:
            reasons.append(unverified)

    decision = Decision.from_reasons(reasons)
    if selection.remarks:
        decision = MailDecision(decision.outcome, decision.reasons, remarks=selection.remarks)
        log.info("message.form_pages", remarks=list(selection.remarks))
    staff_notes = [*selection.remarks, *_near_unit_names(selection, claim, state)]
    return Processed(
        decision,
        claim=claim,
        forms=tuple(p.form for p in selection.pages),
        readings=reading.readings if reading else (),
        note="；".join(staff_notes),
        reply_to=subjects.reply_address(envelope, unit),
        extra=selection.extra,
    )


def _near_unit_names(selection: Selection, claim: Claim | None, state: LedgerState) -> list[str]:
    """A unit name read with look-alike characters was taken as the subject's unit: staff see it
    in the ledger note (and the decision's event), the school is not told of our misreading."""
    if claim is None:
        return []
    unit = state.unit(claim.unit) or claim.unit
    return [say("details.remark.unit_near", printed=page.form.unit, unit=claim.unit)
            for page in selection.pages
            if match_unit(page.form.unit, unit, state.units)[0] is UnitMatch.NEAR]

