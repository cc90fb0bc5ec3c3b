"""Reconciliation rules: a form, the subject's claim and the ledger state in, reasons out.

Pure functions, no session, no I/O. Every reason says where (row = the form's 序号,
column = the header text) and what (value read, value expected), because the reply
tells the school exactly what to fix. The sentences are ``templates/rules.txt``'s.

A line the reader was not sure of (``confident=False``) is never judged on its
values: it gets ``ocr.low_confidence`` (a human look) instead of a guessed rejection.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

from domain.decision import Claim, Decision, Reason, ReasonCode
from domain.forms import (
    LEVELS,
    Form,
    IncreaseForm,
    IncreaseLine,
    SummaryForm,
    SummaryLine,
)
from domain.names import UnitMatch, match_unit, normalise_name  # noqa: F401 — callers import it from here
from domain.state import LedgerState
from templates import say, text

# Header texts used in reasons when the caller passes none (the Anhui 2025 notice's forms):
# data, not wording — a reason's column is the form's own header, and staff pages match on it.
DEFAULT_COLUMNS: dict[str, dict[str, str]] = {
    "summary": {"certificate": "职业技能等级证书", "level": "级别", "count": "拟申报人数"},
    "increase": {"certificate": "证书名称", "level": "证书级别", "approved": "原批准人数",
                 "requested": "调增后人数"},
}
UNIT_COLUMN = "学校名称（校章）"
TOTAL_COLUMN = "合计"
STAMP_COLUMN = "校章"


def check_form(form: Form, claim: Claim, state: LedgerState, *, page: int | None = None,
               attachment: str = "", columns: Mapping[str, str] | None = None) -> list[Reason]:
    """Every problem of one form, in the order a reader meets them (header, rows, total)."""
    cols = {**DEFAULT_COLUMNS[form.kind], **(columns or {})}

    def reason(code: ReasonCode, detail: str, **where) -> Reason:
        return Reason(code, detail=detail, attachment=attachment, page=page, **where)

    reasons = list(_check_header(form, claim, state, reason))
    if not form.table_confident:
        return reasons  # rows the reader could not find are judged by staff, not by the rules
    if isinstance(form, SummaryForm):
        reasons += _check_summary(form, state, cols, reason)
    else:
        reasons += _check_increase(form, claim, state, cols, reason)
    return reasons


def settle_with_ledger(form: Form, claim: Claim, state: LedgerState) -> tuple[Form, tuple[int, ...]]:
    """An increase line whose only doubt is 原批准人数, read two ways: the ledger's approved quota
    is one of the readings, so the number is the ledger's and the line is sure. The ledger is
    no OCR: a reading that lands on it is evidence, not a guess. Returns the form and the rows
    settled."""
    if not isinstance(form, IncreaseForm):
        return form, ()
    lines, settled = [], []
    for line in form.lines:
        approved = state.quotas.get((claim.year, claim.unit, line.certificate, line.level))
        if not line.confident and line.unsure == ("approved",) and approved in line.approved_options:
            line = replace(line, approved=approved, confident=True, unsure=())
            settled.append(line.row)
        lines.append(line)
    return (replace(form, lines=tuple(lines)), tuple(settled)) if settled else (form, ())


def reconcile(forms: Sequence[tuple[Form, str, int | None]], claim: Claim, state: LedgerState,
              columns: Mapping[str, str] | None = None) -> Decision:
    """The decision over all forms of one message: ``(form, attachment name, page)`` each."""
    reasons = [r for form, attachment, page in forms
               for r in check_form(form, claim, state, page=page, attachment=attachment, columns=columns)]
    return Decision.from_reasons(reasons)


def _check_header(form: Form, claim: Claim, state: LedgerState, reason) -> Iterable[Reason]:
    if not form.stamp and not form.stamp_confident:
        # A gray or faint seal can escape the finder: "no stamp" is only sure on a text layer
        # or a colour scan, so an unsure absence goes to staff instead of rejecting the school.
        yield reason(ReasonCode.OCR_LOW_CONFIDENCE, text("rules.ocr.low_confidence.stamp"),
                     column=STAMP_COLUMN, expected=text("rules.form.stamp_missing.expected"))
    elif not form.stamp:
        yield reason(ReasonCode.FORM_STAMP_MISSING, text("rules.form.stamp_missing"),
                     column=STAMP_COLUMN, expected=text("rules.form.stamp_missing.expected"))
    if not form.table_confident:
        yield reason(ReasonCode.OCR_LOW_CONFIDENCE, text("rules.ocr.low_confidence.table"))
    verdict, _other = match_unit(form.unit, state.unit(claim.unit) or claim.unit, state.units)
    if not form.unit_confident:
        # An unsure reading that lands on the subject's unit (or a look-alike of it) agrees with
        # the subject and the sender: no doubt left. Anything else is for staff, never a rejection.
        if verdict not in (UnitMatch.SAME, UnitMatch.NEAR):
            yield reason(ReasonCode.OCR_LOW_CONFIDENCE, text("rules.ocr.low_confidence.unit"),
                         column=UNIT_COLUMN, value=form.unit, expected=claim.unit)
        return
    if verdict in (UnitMatch.OTHER_UNIT, UnitMatch.FAR):
        yield reason(ReasonCode.FORM_UNIT_MISMATCH,
                     say("rules.form.unit_mismatch", unit=form.unit, claimed=claim.unit),
                     column=UNIT_COLUMN, value=form.unit, expected=claim.unit)
    elif verdict is UnitMatch.UNSURE:
        # Blank, or neither clearly the subject's unit nor clearly another: a person looks.
        yield reason(ReasonCode.OCR_LOW_CONFIDENCE, text("rules.ocr.low_confidence.unit"),
                     column=UNIT_COLUMN, value=form.unit, expected=claim.unit)


def _check_line_identity(line: SummaryLine | IncreaseLine, state: LedgerState, cols, reason) -> list[Reason]:
    """The certificate is in the catalogue, with a level it offers."""
    certificate = state.certificate(line.certificate) if line.certificate_matched else None
    if certificate is None:
        read = line.certificate_read or line.certificate
        return [reason(ReasonCode.CERT_UNKNOWN, say("rules.cert.unknown", certificate=read),
                       row=line.row, column=cols["certificate"], value=read)]
    offered = [lv for lv in LEVELS if lv in certificate.levels] if certificate.levels else list(LEVELS)
    if line.level not in offered:
        levels = "、".join(offered)
        return [reason(ReasonCode.CERT_LEVEL_INVALID,
                       say("rules.cert.level_invalid", certificate=certificate.name,
                           level=line.level or text("rules.blank"), levels=levels),
                       row=line.row, column=cols["level"], value=line.level, expected=levels)]
    return []


def _low_confidence(line: SummaryLine | IncreaseLine, reason) -> Reason:
    return reason(ReasonCode.OCR_LOW_CONFIDENCE, say("rules.ocr.low_confidence.row", row=line.row), row=line.row)


def _duplicates(lines: Sequence[SummaryLine | IncreaseLine], cols, reason) -> list[Reason]:
    first_row: dict[tuple[str, str], int] = {}
    found = []
    for line in lines:
        key = (line.certificate, line.level)
        if key in first_row:
            found.append(reason(
                ReasonCode.FORM_TOTAL_MISMATCH,
                say("rules.form.total_mismatch.duplicate", row=line.row, first=first_row[key]),
                row=line.row, column=cols["certificate"], value=f"{line.certificate} {line.level}",
                expected=say("rules.form.total_mismatch.duplicate.expected", first=first_row[key])))
        else:
            first_row[key] = line.row
    return found


def _check_summary(form: SummaryForm, state: LedgerState, cols, reason) -> list[Reason]:
    reasons: list[Reason] = []
    confident_lines = []
    for line in form.lines:
        if not line.confident:
            reasons.append(_low_confidence(line, reason))
            continue
        confident_lines.append(line)
        reasons += _check_line_identity(line, state, cols, reason)
        if line.count is None or line.count <= 0:
            reasons.append(reason(ReasonCode.FORM_TOTAL_MISMATCH,
                                  say("rules.form.total_mismatch.count", row=line.row, column=cols["count"]),
                                  row=line.row, column=cols["count"],
                                  value="" if line.count is None else str(line.count),
                                  expected=text("rules.form.total_mismatch.count.expected")))
    reasons += _duplicates(confident_lines, cols, reason)
    if not form.total_confident:
        reasons.append(reason(ReasonCode.OCR_LOW_CONFIDENCE, text("rules.ocr.low_confidence.total"),
                              column=TOTAL_COLUMN, value="" if form.total is None else str(form.total)))
    elif len(confident_lines) == len(form.lines) and all(line.count is not None for line in form.lines):
        expected = sum(line.count for line in form.lines)
        if form.total != expected:
            detail = (say("rules.form.total_mismatch.total_missing", column=cols["count"], expected=expected)
                      if form.total is None else
                      say("rules.form.total_mismatch.total", total=form.total, column=cols["count"], expected=expected))
            reasons.append(reason(ReasonCode.FORM_TOTAL_MISMATCH, detail, column=TOTAL_COLUMN,
                                  value="" if form.total is None else str(form.total), expected=str(expected)))
    return reasons


def _check_increase(form: IncreaseForm, claim: Claim, state: LedgerState, cols, reason) -> list[Reason]:
    reasons: list[Reason] = []
    confident_lines = []
    for line in form.lines:
        if not line.confident:
            reasons.append(_low_confidence(line, reason))
            continue
        confident_lines.append(line)
        identity = _check_line_identity(line, state, cols, reason)
        reasons += identity
        if identity:
            continue  # no quota can exist for a certificate or level outside the catalogue
        approved = state.quotas.get((claim.year, claim.unit, line.certificate, line.level))
        if approved is None:
            reasons.append(reason(
                ReasonCode.QUOTA_NOT_APPROVED,
                say("rules.quota.not_approved", year=claim.year, certificate=line.certificate, level=line.level),
                row=line.row, column=cols["certificate"], value=f"{line.certificate} {line.level}"))
            continue
        if line.approved != approved:
            reasons.append(reason(
                ReasonCode.QUOTA_ORIGINAL_MISMATCH,
                say("rules.quota.original_mismatch", column=cols["approved"], approved=approved,
                    written=_written(line.approved)),
                row=line.row, column=cols["approved"], value=_value(line.approved), expected=str(approved)))
        if line.requested is None or line.requested <= approved:
            reasons.append(reason(
                ReasonCode.QUOTA_NOT_INCREASE,
                say("rules.quota.not_increase", column=cols["requested"], approved=approved,
                    written=_written(line.requested)),
                row=line.row, column=cols["requested"], value=_value(line.requested),
                expected=say("rules.quota.not_increase.expected", approved=approved)))
    return reasons + _duplicates(confident_lines, cols, reason)


def _value(value: int | None) -> str:
    """A number as the reason's 读到的内容: empty when the cell was."""
    return "" if value is None else str(value)


def _written(value: int | None) -> str:
    """A number inside a sentence: the blank word when the cell was empty."""
    return text("rules.blank.number") if value is None else str(value)
