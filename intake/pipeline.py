"""One message, start to decision: the functional core of the worker.

``process`` takes a decoded ``Envelope`` and what the ledger knows, and returns
what should happen: ignore it, or decide (accept / reject / review) with every
reason. It reads attachments but does no other I/O, so it is tested without
any server.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from config.profile import Profile
from intake import subject as subjects
from intake.envelope import Attachment, Envelope
from intake.logs import get_logger
from intake.message import attachment_reasons
from ledger.decision import Claim, Decision, Reason, ReasonCode
from ledger.reconcile import check_form, columns_for
from ledger.state import LedgerState
from parsers.errors import ReaderError
from parsers.model import DocumentReading, Form
from parsers.reader import read_attachment

log = get_logger("intake.pipeline")

Reader = Callable[..., DocumentReading]


@dataclass(frozen=True)
class Processed:
    decision: Decision | None  # None: not a submission attempt, no reply
    claim: Claim | None = None
    forms: tuple[Form, ...] = ()
    readings: tuple[DocumentReading, ...] = ()
    note: str = ""  # why a message was ignored
    reply_to: str = ""
    extra: dict = field(default_factory=dict)


def documents(envelope: Envelope) -> list[Attachment]:
    """The attachments to read (the decoder already dropped inline images beside real ones)."""
    return [a for a in envelope.attachments if not a.unreadable]


def read_forms(
    envelope: Envelope, claim: Claim, profile: Profile, state: LedgerState, read: Reader,
    budget_seconds: float | None = None,
) -> tuple[list[Form], list[DocumentReading], list[Reason]]:
    """Read every attachment; once ``budget_seconds`` are spent on this mail, refuse the rest."""
    forms: list[Form] = []
    readings: list[DocumentReading] = []
    reasons: list[Reason] = []
    started = time.monotonic()
    for attachment in documents(envelope):
        if budget_seconds is not None and time.monotonic() - started > budget_seconds:
            reasons.append(Reason(
                ReasonCode.ATTACHMENT_UNREADABLE, attachment=attachment.filename,
                detail=f"本邮件的附件处理时间已超过 {budget_seconds:g} 秒的上限，未读取此附件；"
                       "请只发送两张申报表（每张一页、300 dpi 扫描即可），附件较多时请分几封邮件发送"))
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
            if page.form is not None and page.form.kind == claim.kind:
                form_reasons = check_form(
                    page.form,
                    claim,
                    state,
                    page=page.index + 1,
                    attachment=attachment.filename,
                    columns=columns_for(profile.form(claim.kind)),
                )
                forms.append(page.form)
                reasons.extend(form_reasons)
    if not forms and not reasons:
        expected = profile.form(claim.kind).name
        reasons.append(
            Reason(
                ReasonCode.FORM_UNRECOGNIZED,
                detail=f"附件中未找到《{expected}》",
                expected=expected,
            )
        )
    return forms, readings, reasons


def process(
    envelope: Envelope, profile: Profile, state: LedgerState, read: Reader = read_attachment,
    budget_seconds: float | None = None,
) -> Processed:
    if envelope.auto_generated:
        return Processed(None, note=f"auto-generated: {envelope.auto_generated}")
    if not subjects.is_submission_attempt(envelope, profile, state.units):
        return Processed(None, note="not a submission attempt")

    parsed = subjects.parse_subject(envelope.subject, profile, state.units)
    reasons: list[Reason] = list(parsed.reasons)
    claim = parsed.claim
    unit = state.unit(claim.unit) if claim else None
    forms: list[Form] = []
    readings: list[DocumentReading] = []
    if claim is not None:
        closed = subjects.check_window(claim.kind, envelope.received_at, profile)
        if closed is not None:
            reasons.append(closed)
    reasons.extend(attachment_reasons(envelope))
    if claim is not None and documents(envelope):
        forms, readings, form_reasons = read_forms(envelope, claim, profile, state, read, budget_seconds)
        reasons.extend(form_reasons)
    if claim is not None:
        unverified = subjects.check_sender(envelope, unit)
        if unverified is not None:
            reasons.append(unverified)
    return Processed(
        Decision.from_reasons(reasons),
        claim=claim,
        forms=tuple(forms),
        readings=tuple(readings),
        reply_to=subjects.reply_address(envelope, unit),
    )
