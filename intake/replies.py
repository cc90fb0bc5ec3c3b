"""The reply a school receives: one plain-text Chinese mail per submission attempt.

``build_reply`` renders a ``Decision`` into complete RFC 5322 bytes (threaded,
``Auto-Submitted: auto-replied``, ``X-Intake-*`` headers, UTF-8 with RFC 2047
headers). It is pure: the caller fixes the Message-ID (``new_reply_message_id``)
and the time, so a retried send produces the identical message.

Wording lives in the catalogue ``templates/`` (``reply.txt`` skeleton, ``reasons.txt`` one
sentence per reason code plus how to fix it, ``phrases.txt`` the rest), so a profile
can override it without code. Reason codes appear only in the headers.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr
from pathlib import Path
from string import Template

import templates as catalogue
from config.profile import Profile
from domain.decision import Claim, Decision, Outcome, Reason
from domain.envelope import Envelope
from domain.forms import Form, IncreaseForm, SummaryForm
from intake.headers import clean_text

__all__ = ["QuotaChange", "Templates", "build_reply", "load_templates", "new_reply_message_id", "render_body"]

QuotaChange = tuple[str, str, int, int]  # (certificate, level, old approved, new approved)
_MAX_REFERENCES = 20


@dataclass(frozen=True)
class Templates:
    skeleton: Template
    reasons: dict[str, str]
    phrases: dict[str, str]

    def reason(self, code: str, outcome: str = "") -> tuple[str, str]:
        """(what is wrong, how to fix it) for ``code``; the fix may differ for a rejection."""
        fix = self.reasons.get(f"{code}.fix.{outcome}") or self.reasons.get(
            f"{code}.fix", self.phrase("reason.unknown.fix"))
        return self.reasons.get(code, self.phrase("reason.unknown")), fix

    def phrase(self, key: str, *fallbacks: str, **values: object) -> str:
        """A line of ``phrases.txt`` (the first of ``key``, ``fallbacks`` it has); with ``values``,
        its ``{placeholders}`` filled in. Without, the text as is (a staff note may hold braces)."""
        found = next((k for k in (key, *fallbacks) if k in self.phrases), key)
        text = self.phrases[found]
        return text.format(**values) if values else text


def load_templates(directory: Path | None = None) -> Templates:
    """The bundled wording, with any file present in ``directory`` overriding its lines."""
    wording = catalogue.load(directory)
    return Templates(
        skeleton=Template(wording.document("reply")),
        reasons=wording.group("reasons"),
        phrases=wording.group("phrases"),
    )


_DEFAULT = load_templates()


def new_reply_message_id(profile: Profile) -> str:
    """A fresh, globally unique Message-ID in the office mailbox's domain."""
    domain = profile.mailbox.rpartition("@")[2] or "intake.invalid"
    return f"<intake.{profile.id}.{uuid.uuid4().hex}@{domain}>"


def build_reply(
    *,
    envelope: Envelope,
    decision: Decision,
    claim: Claim | None,
    forms: Sequence[Form],
    profile: Profile,
    from_addr: str,
    to_addr: str,
    reply_message_id: str,
    now: datetime,
    quota_changes: Sequence[QuotaChange] = (),
    supersedes_at: datetime | None = None,
    templates: Templates | None = None,
    remarks: Sequence[str] | None = None,
) -> bytes:
    """The complete reply as bytes, ready for SMTP (CRLF line ends).

    ``remarks``: sentences shown under the attachment names (two copies of one form
    counted once, pages not taken as a form); by default the decision's own ``remarks``
    (``intake.pipeline.MailDecision``)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if "@" not in to_addr or "@" not in from_addr:
        raise ValueError(f"a reply needs a sender and a recipient address, got from={from_addr!r} to={to_addr!r}")
    body = render_body(envelope=envelope, decision=decision, claim=claim, forms=forms, profile=profile,
                       now=now, quota_changes=quota_changes, supersedes_at=supersedes_at,
                       templates=templates, remarks=remarks)
    message = EmailMessage(policy=SMTP)
    message["From"] = formataddr((profile.office, from_addr))
    to_name = envelope.sender_name if to_addr.lower() == envelope.sender.lower() else ""
    message["To"] = formataddr((_one_line(to_name), to_addr))
    t = templates or _DEFAULT
    message["Subject"] = t.phrase("subject", subject=_one_line(envelope.subject) or t.phrase("subject.none"))
    message["Date"] = format_datetime(now.astimezone(profile.timezone))
    message["Message-ID"] = reply_message_id
    message["In-Reply-To"] = envelope.message_id
    references = list(dict.fromkeys([*envelope.references, envelope.message_id]))
    if len(references) > _MAX_REFERENCES:  # keep the thread root and the latest ones
        references = references[:1] + references[-(_MAX_REFERENCES - 1):]
    message["References"] = " ".join(references)
    message["Auto-Submitted"] = "auto-replied"
    message["X-Auto-Response-Suppress"] = "All"  # stop Exchange/Outlook out-of-office loops
    message["X-Intake-Decision"] = str(decision.outcome)
    message["X-Intake-Reasons"] = ",".join(decision.codes)
    message.set_content(body, charset="utf-8", cte="base64")
    return message.as_bytes()


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", clean_text(text or ""))


def _local(moment: datetime, profile: Profile, t: Templates) -> str:
    local = moment.astimezone(profile.timezone)
    china = profile.timezone.key in {"Asia/Shanghai", "Asia/Chongqing", "PRC"}
    return t.phrase("time", time=local, zone=t.phrase("time.zone.china") if china else profile.timezone.key)


def render_body(
    *,
    envelope: Envelope,
    decision: Decision,
    claim: Claim | None,
    forms: Sequence[Form],
    profile: Profile,
    now: datetime,
    quota_changes: Sequence[QuotaChange] = (),
    supersedes_at: datetime | None = None,
    templates: Templates | None = None,
    remarks: Sequence[str] | None = None,
) -> str:
    """The plain-text Chinese body (also used by staff tools to preview a reply)."""
    t = templates or _DEFAULT
    if remarks is None:
        remarks = getattr(decision, "remarks", ())
    outcome = decision.outcome
    kind_name = ""
    if claim is not None:
        try:
            kind_name = profile.form(claim.kind).name
        except KeyError:
            kind_name = claim.kind

    received = []
    if claim is not None:
        unit = claim.unit
        if claim.subject_unit and claim.subject_unit != claim.unit:
            unit = t.phrase("received.unit.written", unit=unit, written=claim.subject_unit)
        received.append((t.phrase("received.unit"), unit))
        received.append((t.phrase("received.kind"), t.phrase("received.kind.year", kind=kind_name, year=claim.year)))
    received.append((t.phrase("received.subject"), _one_line(envelope.subject) or t.phrase("subject.none")))
    received.append((t.phrase("received.sender"), envelope.sender or t.phrase("received.none")))
    names = [_attachment_label(a.filename, a.from_archive, t) for a in envelope.attachments]
    received.append((t.phrase("received.attachments"), "、".join(names) if names else t.phrase("received.none")))
    received += [(t.phrase("received.remark"), _one_line(remark)) for remark in remarks]
    received.append((t.phrase("received.time"), _local(envelope.received_at, profile, t)))

    if outcome is Outcome.ACCEPTED:
        outcome_text = t.phrase(f"outcome.accepted.{claim.kind if claim else ''}", "outcome.accepted")
    else:
        outcome_text = t.phrase(f"outcome.{outcome}")
    if supersedes_at is not None and outcome is not Outcome.REJECTED:
        # A newer summary in the same window replaces the one recorded before.
        outcome_text += "\n" + t.phrase("note.supersedes", time=_local(supersedes_at, profile, t))

    sections: list[str] = []
    if decision.reasons:
        sections.append(_problems(decision.reasons, str(outcome), t))
    if outcome is Outcome.ACCEPTED and quota_changes:
        sections.append(_increase_table(t.phrase("section.increase"), quota_changes, t))
    elif outcome is Outcome.ACCEPTED and forms:
        sections.append(_forms_table(t.phrase("section.summary"), forms, t))
    elif outcome is Outcome.REVIEW and forms:
        sections.append(_forms_table(t.phrase("section.read"), forms, t))
    # Sections 一 and 二 are in the skeleton; the rest are numbered in order.
    sections = [f"{numeral}、{s}" for numeral, s in zip(t.phrase("section.numerals"), sections)]

    greeting = f"{claim.unit if claim is not None else t.phrase('greeting.default')}："
    text = t.skeleton.substitute(
        greeting=greeting,
        office=profile.office,
        received="\n".join(f"  {label}：{value}" for label, value in received),
        outcome_label=t.phrase(f"outcome.{outcome}.label"),
        outcome_text=outcome_text,
        details="".join(f"\n{s}\n" for s in sections),
        signature=profile.signature,
        date=t.phrase("date", date=now.astimezone(profile.timezone)),
    )
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def _attachment_label(filename: str, archive: str, t: Templates) -> str:
    name = _one_line(filename)
    return t.phrase("received.in_archive", archive=_one_line(archive), name=name) if archive else name


def _problems(reasons: Sequence[Reason], outcome: str, t: Templates) -> str:
    lines = [t.phrase(f"section.problems.{outcome}", "section.problems", count=len(reasons))]
    for number, reason in enumerate(reasons, 1):
        what, fix = t.reason(str(reason.code), outcome)
        lines.append(f"  {number}. {what}")
        indent = " " * (len(str(number)) + 4)
        if reason.detail:
            lines.append(f"{indent}{t.phrase('problem.detail')}：{_sentence(reason.detail)}")
        where = _where(reason, t)
        if where:
            lines.append(f"{indent}{t.phrase('problem.where')}：{where}")
        if reason.value:
            lines.append(f"{indent}{t.phrase('problem.value')}：{_one_line(reason.value)}")
        if reason.expected:
            lines.append(f"{indent}{t.phrase('problem.expected')}：{_one_line(reason.expected)}")
        lines.append(f"{indent}{t.phrase('problem.fix')}：{fix}")
    return "\n".join(lines)


def _sentence(text: str) -> str:
    text = _one_line(text)
    return text if text.endswith(("。", "！", "？", ".")) else text + "。"


def _where(reason: Reason, t: Templates) -> str:
    """附件“x”第1页，第3行，“级别”栏 — only the parts that are known. ``page`` is 1-based."""
    parts = []
    if reason.attachment:
        page = t.phrase("where.page", page=reason.page) if reason.page else ""
        parts.append(t.phrase("where.attachment", name=_one_line(reason.attachment), page=page))
    elif reason.page:
        parts.append(t.phrase("where.page", page=reason.page))
    if reason.row is not None:
        parts.append(t.phrase("where.row", row=reason.row))
    if reason.column:
        column = _one_line(reason.column)
        bare = not reason.attachment and reason.row is None and not reason.page
        parts.append(column if bare else t.phrase("where.column", column=column))
    return "，".join(parts)


def _people(count: int | None, t: Templates) -> str:
    return t.phrase("table.unread") if count is None else t.phrase("table.people", count=count)


def _forms_table(title: str, forms: Sequence[Form], t: Templates) -> str:
    lines = [title]
    many = len(forms) > 1
    for index, form in enumerate(forms, 1):
        if many:
            lines.append("  " + t.phrase("table.copy", index=index, unit=_one_line(form.unit)))
        if isinstance(form, SummaryForm):
            lines.append("  " + t.phrase("table.summary"))
            for line in form.lines:
                count = _people(line.count, t)
                lines.append(f"  {line.row}｜{_one_line(line.certificate)}｜{_one_line(line.level)}｜{count}")
            counted = sum(line.count or 0 for line in form.lines)
            total = form.total if form.total is not None else counted
            lines.append("  " + t.phrase("table.total", total=total))
        elif isinstance(form, IncreaseForm):
            lines.append("  " + t.phrase("table.increase"))
            for line in form.lines:
                old, new = _people(line.approved, t), _people(line.requested, t)
                lines.append(f"  {line.row}｜{_one_line(line.certificate)}｜{_one_line(line.level)}｜{old}｜{new}")
    return "\n".join(lines)


def _increase_table(title: str, changes: Sequence[QuotaChange], t: Templates) -> str:
    lines = [title, "  " + t.phrase("table.changes")]
    for certificate, level, old, new in changes:
        old_text, new_text = t.phrase("table.people", count=old), t.phrase("table.people", count=new)
        lines.append(f"  {_one_line(certificate)}｜{_one_line(level)}｜{old_text} → {new_text}")
    return "\n".join(lines)
