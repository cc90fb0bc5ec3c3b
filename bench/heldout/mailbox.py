"""The mailbox-level line: what the worker would answer each sample's mail, against what it
would answer the same mail read perfectly.

Each sample becomes the mail a school sends: the subject its profile rule asks for, from the
unit's registered address, inside the window, the sample file attached. ``intake.pipeline.process``
— the worker's own decision, every rule — runs twice: on the reader's reading, and on the
truth turned into a reading (every field sure). The office's ledger holds the approved
quotas the increase forms start from. Three ways to be wrong, the issue's order of cost:

- **wrong acceptance**: accepted, though the form read right would not be;
- **wrong rejection**: rejected, though the form read right would be accepted (or rejected
  for another reason);
- **needless review**: sent to staff, though the form read right would be accepted.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from bench.heldout.truth import Truth
from config.profile import Profile
from domain.envelope import Attachment, Envelope
from domain.forms import DocumentReading, IncreaseForm, IncreaseLine, PageReading, SummaryForm, SummaryLine
from domain.state import CertificateRef, LedgerState, UnitRef

SENDER = "office@school.example.cn"
CONTENT_TYPES = {".pdf": "application/pdf", ".png": "image/png", ".jpg": "image/jpeg", ".tif": "image/tiff"}
OUTCOMES = ("right", "wrong acceptance", "wrong rejection", "needless review", "review of a faulty form")


@dataclass(frozen=True)
class MailOutcome:
    expected: str  # the decision on the truth: accepted | rejected | review
    got: str
    reasons: tuple[str, ...]  # the reason codes of ``got``, each with where it points

    @property
    def verdict(self) -> str:
        if self.got == self.expected:
            return "right"
        if self.got == "accepted":
            return "wrong acceptance"
        if self.got == "rejected":
            return "wrong rejection"
        return "needless review" if self.expected == "accepted" else "review of a faulty form"


def truth_reading(truth: Truth) -> DocumentReading:
    """The sample as a perfect reader would report it."""
    if truth.kind == "summary":
        form = SummaryForm(unit=truth.unit, stamp=truth.stamp, total=truth.total, lines=tuple(
            SummaryLine(row=i + 1, certificate=line["certificate"], level=line["level"], count=line["count"],
                        certificate_read=line["certificate"]) for i, line in enumerate(truth.lines)))
    else:
        form = IncreaseForm(unit=truth.unit, stamp=truth.stamp, lines=tuple(
            IncreaseLine(row=i + 1, certificate=line["certificate"], level=line["level"], approved=line["approved"],
                         requested=line["requested"], certificate_read=line["certificate"])
            for i, line in enumerate(truth.lines)))
    return DocumentReading(truth.file, (PageReading(index=truth.form_page - 1, kind=truth.kind, form=form,
                                                    source="text"),))


def mail_for(truth: Truth, data: bytes, profile: Profile) -> Envelope:
    rule = profile.form(truth.kind)
    window = rule.windows[0]
    arrived = datetime.combine(window.start + timedelta(days=1), time(10, 0), tzinfo=profile.timezone)
    suffix = "." + truth.file.rsplit(".", 1)[-1].lower()
    return Envelope(message_id=f"<{truth.id}@bench.example>", subject=rule.subject.replace("{单位名称}", truth.unit),
                    sender=SENDER, sender_name="", reply_to="", received_at=arrived,
                    attachments=(Attachment(truth.file, CONTENT_TYPES.get(suffix, "application/octet-stream"), data),))


def ledger_for(truth: Truth, profile: Profile, units: tuple[UnitRef, ...],
               certificates: tuple[CertificateRef, ...]) -> LedgerState:
    """The office's ledger: the registered units (this one with its address) and the quotas
    the increase form starts from."""
    registered = tuple(UnitRef(u.name, contacts=(SENDER,)) if u.name == truth.unit else u for u in units)
    quotas = {(profile.year, truth.unit, line["certificate"], line["level"]): line["approved"]
              for line in truth.lines if truth.kind == "increase"}
    return LedgerState(units=registered, certificates=certificates, quotas=quotas)


def _reader(reading: DocumentReading | BaseException):
    """A reader that gives ``reading`` (or raises what the real reader raised)."""
    def read(*_args, **_kwargs) -> DocumentReading:
        if isinstance(reading, BaseException):
            raise reading
        return reading
    return read


def decide(truth: Truth, data: bytes, reading: DocumentReading | BaseException, profile: Profile, units: tuple[UnitRef, ...],
           certificates: tuple[CertificateRef, ...]) -> MailOutcome:
    from intake.pipeline import process

    envelope = mail_for(truth, data, profile)
    state = ledger_for(truth, profile, units, certificates)
    expected = process(envelope, profile, state, read=_reader(truth_reading(truth))).decision
    got = process(envelope, profile, state, read=_reader(reading)).decision
    return MailOutcome(expected.outcome.value, got.outcome.value, tuple(sorted({_why(r) for r in got.reasons})))


def _why(reason) -> str:
    """A reason code and where it points: a line, or the column it names (学校名称, 合计, 印章 …)."""
    where = "line" if reason.row is not None else (reason.column or "form")
    return f"{reason.code.value} ({where})"


def per_hundred(outcomes: list[MailOutcome]) -> dict:
    """Verdicts and, for review, the reason codes that sent mail to staff — per 100 mails."""
    n = len(outcomes) or 1
    verdicts = Counter(o.verdict for o in outcomes)
    review_codes = Counter(code for o in outcomes if o.got == "review" for code in o.reasons)
    wrong_codes = Counter(code for o in outcomes if o.verdict == "wrong rejection" for code in o.reasons)
    return {
        "mails": len(outcomes),
        "verdicts": {v: round(100 * verdicts.get(v, 0) / n, 1) for v in OUTCOMES},
        "counts": {v: verdicts.get(v, 0) for v in OUTCOMES},
        "review_reasons": dict(review_codes.most_common()),
        "wrong_rejection_reasons": dict(wrong_codes.most_common()),
    }
