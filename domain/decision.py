"""What the pipeline concludes about one message: the claim, the reasons, the decision.

These value objects are the contract between the stages: ``intake.subject``
produces a ``Claim``, every check produces ``Reason``s, ``domain.rules``
combines them into a ``Decision``, and ``intake.replies`` renders it in Chinese.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class ReasonCode(StrEnum):
    SUBJECT_MALFORMED = "subject.malformed"
    SUBJECT_UNKNOWN_UNIT = "subject.unknown_unit"
    SUBJECT_WRONG_YEAR = "subject.wrong_year"
    WINDOW_CLOSED = "window.closed"
    ATTACHMENT_MISSING = "attachment.missing"
    ATTACHMENT_UNREADABLE = "attachment.unreadable"
    FORM_UNRECOGNIZED = "form.unrecognized"
    FORM_STAMP_MISSING = "form.stamp_missing"
    FORM_UNIT_MISMATCH = "form.unit_mismatch"
    FORM_TOTAL_MISMATCH = "form.total_mismatch"
    CERT_UNKNOWN = "cert.unknown"
    CERT_LEVEL_INVALID = "cert.level_invalid"
    QUOTA_NOT_APPROVED = "quota.not_approved"
    QUOTA_ORIGINAL_MISMATCH = "quota.original_mismatch"
    QUOTA_NOT_INCREASE = "quota.not_increase"
    SENDER_UNVERIFIED = "sender.unverified"
    OCR_LOW_CONFIDENCE = "ocr.low_confidence"


# Reasons that only ask for a human look; every other reason rejects.
REVIEW_CODES = frozenset({ReasonCode.SENDER_UNVERIFIED, ReasonCode.OCR_LOW_CONFIDENCE})


class Outcome(StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    REVIEW = "review"


@dataclass(frozen=True)
class Claim:
    """What the subject says: which unit sends which form for which year."""

    unit: str  # canonical unit name from the units list
    year: int
    kind: str  # summary | increase
    subject_unit: str = ""  # the unit name exactly as written in the subject


@dataclass(frozen=True)
class Reason:
    """One problem, precise enough for the school to fix it.

    ``row`` is the form's 序号 (1-based table row) where known, ``column`` the
    column's header text; ``value`` what was read, ``expected`` what would be right.
    ``detail`` is a short Chinese sentence for the reply when the code alone is not enough.
    """

    code: ReasonCode
    detail: str = ""
    attachment: str = ""
    page: int | None = None
    row: int | None = None
    column: str = ""
    value: str = ""
    expected: str = ""


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    reasons: tuple[Reason, ...] = field(default_factory=tuple)

    @classmethod
    def from_reasons(cls, reasons: tuple[Reason, ...] | list[Reason]) -> Decision:
        reasons = tuple(reasons)
        if not reasons:
            return cls(Outcome.ACCEPTED, ())
        if all(r.code in REVIEW_CODES for r in reasons):
            return cls(Outcome.REVIEW, reasons)
        return cls(Outcome.REJECTED, reasons)

    @property
    def codes(self) -> list[str]:
        """Distinct reason codes in first-seen order (for ``X-Intake-Reasons``)."""
        return list(dict.fromkeys(str(r.code) for r in self.reasons))
