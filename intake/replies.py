"""The reply a school receives: one plain-text Chinese mail per submission attempt.

``build_reply`` renders a ``Decision`` into complete RFC 5322 bytes (threaded,
``Auto-Submitted: auto-replied``, ``X-Intake-*`` headers, UTF-8 with RFC 2047
headers). It is pure: the caller fixes the Message-ID (``new_reply_message_id``)
and the time, so a retried send produces the identical message.

Wording lives in ``intake/templates/`` (``reply.txt`` skeleton, ``reasons.txt`` one
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
from importlib import resources
from pathlib import Path
from string import Template

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
        fix = self.reasons.get(f"{code}.fix.{outcome}") or self.reasons.get(f"{code}.fix", "请修改后重新发送。")
        return self.reasons.get(code, "材料存在问题。"), fix


def _key_values(text: str, source: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"{source}, line {number}: expected 'key = text', got {line!r}")
        values[key.strip()] = value.strip()
    return values


def load_templates(directory: Path | None = None) -> Templates:
    """The bundled wording, with any file present in ``directory`` overriding its lines."""
    bundled = resources.files("intake") / "templates"

    def read(name: str) -> tuple[str, str]:
        override = directory / name if directory else None
        if override and override.is_file():
            return override.read_text(encoding="utf-8"), str(override)
        return (bundled / name).read_text(encoding="utf-8"), f"intake/templates/{name}"

    base_reasons = _key_values((bundled / "reasons.txt").read_text(encoding="utf-8"), "reasons.txt")
    base_phrases = _key_values((bundled / "phrases.txt").read_text(encoding="utf-8"), "phrases.txt")
    return Templates(
        skeleton=Template(read("reply.txt")[0]),
        reasons={**base_reasons, **_key_values(*read("reasons.txt"))},
        phrases={**base_phrases, **_key_values(*read("phrases.txt"))},
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
    message["Subject"] = "回复：" + (_one_line(envelope.subject) or "（无主题）")
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


def _local(moment: datetime, profile: Profile) -> str:
    local = moment.astimezone(profile.timezone)
    zone = "北京时间" if profile.timezone.key in {"Asia/Shanghai", "Asia/Chongqing", "PRC"} else profile.timezone.key
    return f"{local:%Y年%m月%d日 %H:%M}（{zone}）"


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
    p = t.phrases
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
            unit += f"（邮件主题中写作“{claim.subject_unit}”）"
        received.append((p["received.unit"], unit))
        received.append((p["received.kind"], f"{kind_name}（{claim.year}年）"))
    received.append((p["received.subject"], _one_line(envelope.subject) or "（无主题）"))
    received.append((p["received.sender"], envelope.sender or p["received.none"]))
    names = [_attachment_label(a.filename, a.from_archive) for a in envelope.attachments]
    received.append((p["received.attachments"], "、".join(names) if names else p["received.none"]))
    received += [(p["received.remark"], _one_line(remark)) for remark in remarks]
    received.append((p["received.time"], _local(envelope.received_at, profile)))

    if outcome is Outcome.ACCEPTED:
        kind = claim.kind if claim else ""
        outcome_text = p.get(f"outcome.accepted.{kind}", p["outcome.accepted"])
    else:
        outcome_text = p[f"outcome.{outcome}"]
    if supersedes_at is not None and outcome is not Outcome.REJECTED:
        # A newer summary in the same window replaces the one recorded before.
        outcome_text += "\n" + p["note.supersedes"].format(time=_local(supersedes_at, profile))

    sections: list[str] = []
    if decision.reasons:
        sections.append(_problems(decision.reasons, str(outcome), t))
    if outcome is Outcome.ACCEPTED and quota_changes:
        sections.append(_increase_table(p["section.increase"], quota_changes))
    elif outcome is Outcome.ACCEPTED and forms:
        sections.append(_forms_table(p["section.summary"], forms))
    elif outcome is Outcome.REVIEW and forms:
        sections.append(_forms_table(p["section.read"], forms))
    # Sections 一 and 二 are in the skeleton; the rest are numbered in order.
    sections = [f"{numeral}、{s}" for numeral, s in zip("三四五六", sections)]

    greeting = f"{claim.unit if claim is not None else p['greeting.default']}："
    text = t.skeleton.substitute(
        greeting=greeting,
        office=profile.office,
        received="\n".join(f"  {label}：{value}" for label, value in received),
        outcome_label=p[f"outcome.{outcome}.label"],
        outcome_text=outcome_text,
        details="".join(f"\n{s}\n" for s in sections),
        signature=profile.signature,
        date=f"{now.astimezone(profile.timezone):%Y年%m月%d日}",
    )
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def _attachment_label(filename: str, archive: str) -> str:
    name = _one_line(filename)
    return f"{_one_line(archive)} 中的 {name}" if archive else name


def _problems(reasons: Sequence[Reason], outcome: str, t: Templates) -> str:
    p = t.phrases
    title = p.get(f"section.problems.{outcome}", p["section.problems"])
    lines = [title.format(count=len(reasons))]
    for number, reason in enumerate(reasons, 1):
        what, fix = t.reason(str(reason.code), outcome)
        lines.append(f"  {number}. {what}")
        indent = " " * (len(str(number)) + 4)
        if reason.detail:
            lines.append(f"{indent}{p['problem.detail']}：{_sentence(reason.detail)}")
        where = _where(reason)
        if where:
            lines.append(f"{indent}{p['problem.where']}：{where}")
        if reason.value:
            lines.append(f"{indent}{p['problem.value']}：{_one_line(reason.value)}")
        if reason.expected:
            lines.append(f"{indent}{p['problem.expected']}：{_one_line(reason.expected)}")
        lines.append(f"{indent}{p['problem.fix']}：{fix}")
    return "\n".join(lines)


def _sentence(text: str) -> str:
    text = _one_line(text)
    return text if text.endswith(("。", "！", "？", ".")) else text + "。"


def _where(reason: Reason) -> str:
    """附件“x”第1页，第3行，“级别”栏 — only the parts that are known. ``page`` is 1-based."""
    parts = []
    if reason.attachment:
        page = f"第{reason.page}页" if reason.page else ""
        parts.append(f"附件“{_one_line(reason.attachment)}”{page}")
    elif reason.page:
        parts.append(f"第{reason.page}页")
    if reason.row is not None:
        parts.append(f"第{reason.row}行")
    if reason.column:
        column = _one_line(reason.column)
        parts.append(column if not reason.attachment and reason.row is None and not reason.page else f"“{column}”栏")
    return "，".join(parts)


def _forms_table(title: str, forms: Sequence[Form]) -> str:
    lines = [title]
    many = len(forms) > 1
    for index, form in enumerate(forms, 1):
        if many:
            lines.append(f"  第{index}份表：{_one_line(form.unit)}")
        if isinstance(form, SummaryForm):
            lines.append("  序号｜证书名称｜级别｜拟申报人数")
            for line in form.lines:
                count = "未能读取" if line.count is None else f"{line.count}人"
                lines.append(f"  {line.row}｜{_one_line(line.certificate)}｜{_one_line(line.level)}｜{count}")
            counted = sum(line.count or 0 for line in form.lines)
            total = form.total if form.total is not None else counted
            lines.append(f"  合计：{total}人")
        elif isinstance(form, IncreaseForm):
            lines.append("  序号｜证书名称｜级别｜原批准人数｜调增后人数")
            for line in form.lines:
                old = "未能读取" if line.approved is None else f"{line.approved}人"
                new = "未能读取" if line.requested is None else f"{line.requested}人"
                lines.append(f"  {line.row}｜{_one_line(line.certificate)}｜{_one_line(line.level)}｜{old}｜{new}")
    return "\n".join(lines)


def _increase_table(title: str, changes: Sequence[QuotaChange]) -> str:
    lines = [title, "  证书名称｜级别｜原批准人数 → 调整后批准人数"]
    for certificate, level, old, new in changes:
        lines.append(f"  {_one_line(certificate)}｜{_one_line(level)}｜{old}人 → {new}人")
    return "\n".join(lines)
