"""The names staff read on the page — decisions, form kinds, reason codes, fields, event actions —
by code; the words are the catalogue's (``templates/staff.txt``; the decisions and most reason
names are the workbook's, ``templates/export.txt``)."""

from __future__ import annotations

from domain.decision import ReasonCode
from templates import text

DECISIONS = {decision: text(f"export.decision.{decision}") for decision in ("accepted", "rejected", "review")}
KINDS = {kind: text(f"staff.kind.{kind}") for kind in ("summary", "increase")}
FIELDS = {field: text(f"staff.field.{field}")
          for field in ("certificate", "level", "count", "approved", "requested", "total", "unit")}


def _reason_name(code: ReasonCode) -> str:
    """The page's own short name of ``code`` where it has one, else the workbook's."""
    try:
        return text(f"staff.reason.{code}")
    except KeyError:
        return text(f"export.reason.{code}")


REASONS = {code: _reason_name(code) for code in ReasonCode}
# Reasons about the form's content: re-checked when staff correct a value.
FORM_CODES = frozenset(
    code for code in ReasonCode
    if str(code).split(".")[0] in {"form", "cert", "quota", "ocr"} and code != ReasonCode.FORM_UNRECOGNIZED
)
EVENT_ACTIONS = {action: text(f"staff.event.{action}") for action in (
    "message.stored", "message.duplicate", "message.failed", "message.ignored", "message.filed",
    "decision.recorded", "submission.superseded", "submission.restored", "quota.increased",
    "reply.queued", "reply.sent", "reply.failed",
    "staff.login", "staff.logout", "staff.login_failed", "staff.corrected", "staff.decided", "staff.exported",
    "staff.downloaded", "staff.login_refused",
)}


def reason_label(code: str) -> str:
    try:
        return REASONS[ReasonCode(code)]
    except ValueError:
        return code
