"""Bounces: which of our recipients a returned mail says cannot receive mail.

A delivery report (``multipart/report``, RFC 3464) names each recipient in a
``message/delivery-status`` part: ``Final-Recipient`` with ``Action: failed``. A plain
bounce (NetEase's 系统退信, an old MTA's text) names it only somewhere in its text: the
addresses it mentions are candidates, and ``ledger.bounces`` keeps only those we sent to.
Out-of-office replies are auto mail too, but never bounces.
"""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass
from datetime import datetime
from email.message import Message

import sqlalchemy as sa

from ledger.bounces import record_bounces

# ``intake.message`` says why a mail is auto-generated; these mark a bounce among them.
BOUNCE_MARKS = ("bounce", "退信", "投递失败", "undeliverable", "undelivered", "delivery status notification",
                "mail delivery failed", "returned mail", "delivery failure")
_ADDRESS = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.ASCII)
_MAX_PARTS = 100
_MAX_TEXT = 200_000


@dataclass(frozen=True)
class Bounced:
    address: str  # lower-cased
    status: str = ""  # the DSN's Status (5.1.1); "" when a plain bounce only named the address
    diagnostic: str = ""
    reported: bool = False  # True: a delivery report said so; False: a plain bounce's text names it


def is_bounce(auto_generated: str) -> bool:
    """``Envelope.auto_generated`` describes a bounce (not an auto-reply, a list, bulk mail)."""
    why = auto_generated.lower()
    return any(mark in why for mark in BOUNCE_MARKS)


def bounced_recipients(raw: bytes) -> list[Bounced]:
    """Recipients a returned mail reports as failed; from its text when it carries no report."""
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    parts = list(_walk(message))
    reports = [p for p in parts if p.get_content_type() == "message/delivery-status"]
    if reports:
        found = [b for part in reports for b in _from_report(part)]
        return list({b.address: b for b in found}.values())
    text = "\n".join(_text(p) for p in parts if p.get_content_maintype() == "text" or p.get_content_type()
                     == "message/rfc822")[:_MAX_TEXT]
    return [Bounced(a) for a in dict.fromkeys(m.lower() for m in _ADDRESS.findall(text))]


def _walk(message: Message):
    stack, seen = [message], 0
    while stack and seen < _MAX_PARTS:
        part = stack.pop(0)
        seen += 1
        yield part
        payload = part.get_payload()
        if part.get_content_type() != "message/delivery-status" and isinstance(payload, list):
            stack.extend(payload)


def _from_report(part: Message) -> list[Bounced]:
    """Per-recipient blocks of a ``message/delivery-status`` part (the first block is per message)."""
    blocks = part.get_payload()
    if not isinstance(blocks, list):  # some MTAs send it base64-encoded: parse the fields ourselves
        text = _text(part)
        blocks = [email.message_from_string(b, policy=email.policy.compat32) for b in re.split(r"\n\s*\n", text)]
    found = []
    for block in blocks:
        recipient = str(block.get("Final-Recipient") or block.get("Original-Recipient") or "")
        action = str(block.get("Action") or "").strip().lower()
        status = str(block.get("Status") or "").strip()
        if not recipient or not (action == "failed" or (not action and status.startswith("5"))):
            continue
        address = _ADDRESS.search(recipient.partition(";")[2] or recipient)
        if address:
            found.append(Bounced(address.group(0).lower(), status[:20],
                                 " ".join(str(block.get("Diagnostic-Code") or "").split())[:1000], reported=True))
    return found


def _text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if payload is None:
        inner = part.get_payload()
        # Parts inside parts (a returned message/rfc822): their text, never str(part), which
        # re-encodes the part in its declared charset and fails on what decoding replaced.
        return "\n".join(_text(p) for p in inner) if isinstance(inner, list) else str(inner or "")
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:
        return payload.decode("gb18030", errors="replace")


def note_bounce(engine: sa.Engine, message_pk: int, auto_generated: str, raw: bytes, now: datetime) -> list[str]:
    """The worker's hook for ignored auto mail: record the addresses a bounce names (none for other auto mail)."""
    if not is_bounce(auto_generated):
        return []
    return record_bounces(engine, message_pk, bounced_recipients(raw), now)
