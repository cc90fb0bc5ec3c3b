"""Raw mail bytes → ``Envelope``: headers, sender, attachments, and whether to answer at all.

Entry point: ``decode(raw, received_at)``. It never raises on any bytes: what it
cannot understand becomes ``Envelope.problems`` (for the log) or an attachment
marked ``unreadable`` (for the school, in Chinese).

Header text is decoded by ``intake.headers`` from the raw bytes, never by
``email.policy.default`` (which garbles GBK). The stdlib parser is used only to
split the MIME tree, with a policy that hands back header values untouched.
"""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from collections.abc import Iterator
from datetime import datetime
from email.message import Message
from email.parser import BytesParser
from email.policy import Compat32
from email.utils import getaddresses

from domain.decision import Reason, ReasonCode
from domain.envelope import Attachment, Envelope
from intake.archive import (
    ARCHIVE_TYPES,
    READABLE_TYPES,
    ZIP,
    Limits,
    expand_zip,
    sniff,
    unreadable_reason,
)
from intake.headers import (
    clean_text,
    decode_bytes,
    decode_header_bytes,
    decode_header_text,
    to_raw,
)
from intake.rawcheck import (  # noqa: F401 — header_only_original is part of this module's API
    OVERSIZE_NAME,
    TOO_MANY_PARTS_NAME,
    header_only_original,
    oversize,
    split,
    too_many_parts,
)
from templates import say

__all__ = ["Limits", "attachment_reasons", "decode", "header_only_original", "synthetic_message_id"]

SYNTHETIC_DOMAIN = "synthetic.intake.invalid"
_MAX_BODY_CHARS = 20_000
_MAX_BODY_BYTES = 1024 * 1024  # read of a text body, before tags are stripped
_MAX_NAME_CHARS = 200
_MAX_HEADER_CHARS = 16 * 1024  # of one header value, before decoding
# Signatures and delivery reports travel as parts but are never submissions.
_NOT_ATTACHMENTS = frozenset(
    {"application/pgp-signature", "application/pkcs7-signature", "application/x-pkcs7-signature",
     "message/delivery-status", "message/disposition-notification", "text/rfc822-headers",
     "message/feedback-report", "text/calendar", "application/pgp-keys"}
)
_EXTENSIONS = {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png",
               "image/bmp": ".bmp", "image/tiff": ".tif", "image/heic": ".heic", ZIP: ".zip"}
_AUTO_SUBJECTS = ("自动回复", "自动答复", "auto reply", "auto-reply", "autoreply", "automatic reply",
                  "out of office", "系统退信", "退信", "投递失败", "undeliverable", "undelivered mail",
                  "delivery status notification", "mail delivery failed", "returned mail",
                  "delivery failure")
_BOUNCE_SENDERS = ("mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon")


class _RawHeaders(Compat32):
    """Compat32 that returns header values as read: str holding surrogate-escaped bytes."""

    def header_fetch_parse(self, name, value):  # noqa: D102 - stdlib hook
        return value


_PARSER_POLICY = _RawHeaders()
# Printable ASCII only, bounded: the id is a ledger key and goes back out in our headers.
_MSGID = re.compile(r"<[!-;=?-~]{1,250}>")


def synthetic_message_id(raw: bytes) -> str:
    """A stable Message-ID for a message without one: the SHA-256 of its bytes."""
    return f"<{hashlib.sha256(raw).hexdigest()}@{SYNTHETIC_DOMAIN}>"


def decode(raw: bytes, received_at: datetime, *, limits: Limits = Limits()) -> Envelope:
    """Decode one raw message. ``received_at`` is its IMAP INTERNALDATE, timezone-aware.

    Raises only for a naive ``received_at`` (a caller bug: imapclient returns naive
    local times unless created with ``normalise_times=False``).
    """
    if received_at.tzinfo is None or received_at.utcoffset() is None:
        raise ValueError(
            "received_at must be timezone-aware (the IMAP INTERNALDATE; "
            "create IMAPClient with normalise_times=False)"
        )
    raw = bytes(raw)
    try:
        return _decode(raw, received_at, limits)
    except Exception as exc:  # hostile input must still yield an Envelope  # noqa: BLE001
        return Envelope(
            message_id=synthetic_message_id(raw), subject="", sender="", sender_name="",
            reply_to="", received_at=received_at,
            problems=(f"message could not be parsed: {type(exc).__name__}: {exc}"[:500],),
        )


def _decode(raw: bytes, received_at: datetime, limits: Limits) -> Envelope:
    # Content that will not be read is not parsed either: only the header block is.
    refused, placeholder = oversize(raw), OVERSIZE_NAME
    if not refused:
        refused, placeholder = too_many_parts(raw, limits), TOO_MANY_PARTS_NAME
    parser = BytesParser(policy=_PARSER_POLICY)
    message = parser.parsebytes(split(raw)[0] if refused else raw)
    problems: list[str] = [f"MIME defect: {type(d).__name__}" for d in message.defects][:20]

    subject, clean = decode_header_bytes(to_raw(_get(message, "Subject") or ""))
    if not clean:
        problems.append("subject contains bytes that decode in no known charset")
    sender_name, sender = _address(_get(message, "From"))
    _, reply_to = _address(_get(message, "Reply-To"))
    ids = _MSGID.findall(decode_header_text(_get(message, "Message-ID")))
    message_id = ids[0] if ids else _bare_id(_get(message, "Message-ID")) or synthetic_message_id(raw)
    references = tuple(_MSGID.findall(decode_header_text(_get(message, "References", tail=True))))
    if not references:
        references = tuple(_MSGID.findall(decode_header_text(_get(message, "In-Reply-To", tail=True))))

    if refused:
        problems.append(f"content not read: {placeholder}")
        attachments = (Attachment(placeholder, "message/rfc822", b"", unreadable=refused),)
        body_text = ""
    else:
        attachments, body_text = _attachments_and_body(message, limits, problems)
    return Envelope(
        message_id=message_id,
        subject=subject,
        sender=sender,
        sender_name=sender_name,
        reply_to=reply_to,
        received_at=received_at,
        references=references[-50:],
        attachments=attachments,
        body_text=body_text,
        auto_generated=_auto_generated(message, subject, sender),
        authentication_results=decode_header_text(_get(message, "Authentication-Results")),
        problems=tuple(problems),
        refused=refused,
    )


def _get(message: Message, name: str, *, tail: bool = False) -> str | None:
    """A header's raw value cut to ``_MAX_HEADER_CHARS``: its end (``tail``: the latest
    thread ids), else its start and its end (a From address follows its display name).

    A 20 MB From line took the stdlib address parser 8 s; no real header comes near the cap.
    """
    value = message.get(name)
    if value is None or len(value) <= _MAX_HEADER_CHARS:
        return value
    if tail:
        return value[-_MAX_HEADER_CHARS:]
    half = _MAX_HEADER_CHARS // 2
    return f"{value[:half]} {value[-half:]}"


def _bare_id(value: str | None) -> str:
    """A Message-ID written without angle brackets (seen from some bulk senders)."""
    text = decode_header_text(value)
    token = text.split()[0] if text.split() else ""
    candidate = f"<{token}>"
    return candidate if "@" in token and _MSGID.fullmatch(candidate) else ""


def _address(value: str | None) -> tuple[str, str]:
    """(display name, bare lower-cased address) of the first mailbox in a header."""
    if not value:
        return "", ""
    raw = to_raw(value)
    text = raw.decode("ascii", "surrogateescape").replace("\r", " ").replace("\n", " ")
    for name, address in getaddresses([text]):
        if "@" in address:
            return _clean_name(name), _clean_address(address)
    # The parser refused it: fall back to the first thing that looks like an address.
    decoded = decode_header_bytes(raw)[0]
    match = re.search(r"<\s*([^<>\s]+@[^<>\s]+)\s*>", decoded) or re.search(r"([^<>\s\"']+@[^<>\s\"',;]+)", decoded)
    if not match:
        return clean_text(decoded)[:_MAX_NAME_CHARS], ""
    name = decoded[: match.start()].strip().strip('"').strip()
    return clean_text(name)[:_MAX_NAME_CHARS], _clean_address(match.group(1))


def _clean_name(name: str) -> str:
    return clean_text(decode_header_bytes(to_raw(name))[0].strip('"'))[:_MAX_NAME_CHARS]


def _clean_address(address: str) -> str:
    return clean_text(decode_header_bytes(to_raw(address))[0]).strip("<>").lower()[:_MAX_NAME_CHARS]


def _auto_generated(message: Message, subject: str, sender: str) -> str:
    """Why this message must get no reply ("" when a reply is fine). RFC 3834 first."""
    auto = decode_header_text(_get(message, "Auto-Submitted")).lower()
    if auto and not auto.startswith("no"):
        return f"auto-submitted ({auto})"
    for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponder", "X-Auto-Reply"):
        value = _get(message, name)
        if value is not None and decode_header_text(value).lower() not in {"no", "false", "0"}:
            return f"auto-reply ({name})"
    if _get(message, "X-Intake-Decision") is not None:
        return "our own reply came back"
    content_type = message.get_content_type()
    if content_type == "multipart/report" or any(
        p.get_content_type() == "message/delivery-status" for p in _walk(message, 200)
    ):
        return "bounce (delivery report)"
    local = sender.split("@", 1)[0]
    if local in _BOUNCE_SENDERS:
        return f"bounce (sender {sender})"
    if decode_header_text(_get(message, "Return-Path")).strip() == "<>":
        return "bounce (empty Return-Path)"
    if _get(message, "List-Id") is not None or _get(message, "List-Unsubscribe") is not None:
        return "mailing list"
    precedence = decode_header_text(_get(message, "Precedence")).lower()
    if precedence in {"bulk", "list", "junk"}:
        return f"bulk mail (Precedence: {precedence})"
    flat = unicodedata.normalize("NFKC", subject).strip().lower()
    for prefix in _AUTO_SUBJECTS:
        if flat.startswith(prefix) or flat.startswith(f"[{prefix}") or flat.startswith(f"【{prefix}"):
            return f"auto-reply subject ({prefix})"
    return ""


def _walk(root: Message, max_parts: int) -> Iterator[Message]:
    """Depth-first, document order, iterative (no recursion limit), bounded."""
    stack = [root]
    seen = 0
    while stack and seen < max_parts:
        part = stack.pop()
        seen += 1
        yield part
        if part.is_multipart():  # only then: get_payload() on a leaf may decode and fail
            payload = part.get_payload()
            stack.extend(reversed([p for p in payload if isinstance(p, Message)]))


def _filename(part: Message) -> str:
    """The attachment's name from RFC 2231, RFC 2047 (even inside quotes) or raw 8-bit text."""
    for param, header in (("filename", "content-disposition"), ("name", "content-type")):
        try:
            value = part.get_param(param, header=header)
        except Exception:  # noqa: BLE001 - a malformed parameter list is just "no name"
            value = None
        if not value:
            continue
        if isinstance(value, tuple):  # RFC 2231: (charset, language, text)
            charset, _, text = value
            name = decode_bytes(_octets(text), charset)[0]
        else:
            name = decode_header_bytes(to_raw(value))[0]
        name = clean_text(name.replace("\\", "/").rsplit("/", 1)[-1])
        if name:
            return name[:_MAX_NAME_CHARS]
    return ""


def _octets(text: str) -> bytes:
    """Bytes of an RFC 2231 value the stdlib percent-decoded as Latin-1."""
    out = bytearray()
    for ch in text:
        code = ord(ch)
        if 0xDC80 <= code <= 0xDCFF:
            out.append(code - 0xDC00)
        elif code < 256:
            out.append(code)
        else:
            out.extend(ch.encode("utf-8", "replace"))
    return bytes(out)


def _payload(part: Message, problems: list[str]) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception as exc:  # noqa: BLE001 - broken transfer encoding
        problems.append(f"payload not decodable: {type(exc).__name__}")
        return b""
    return data if isinstance(data, bytes) else b""


def _body_text(part: Message, data: bytes) -> str:
    # Only the start is read: decoding and stripping the tags of a 45 MB HTML body took
    # 3.5 s for the 20,000 characters kept.
    text = decode_bytes(data[:_MAX_BODY_BYTES], part.get_content_charset())[0]
    if part.get_content_type() == "text/html":
        text = re.sub(r"(?is)<(script|style).*?</\1>", " ", text)
        text = html.unescape(re.sub(r"(?s)<[^>]+>", " ", text))
    return re.sub(r"[ \t\r\f\v]+", " ", text).strip()[:_MAX_BODY_CHARS]


def _attachments_and_body(
    message: Message, limits: Limits, problems: list[str]
) -> tuple[tuple[Attachment, ...], str]:
    real: list[Attachment] = []
    inline: list[Attachment] = []
    plain = rich = ""
    parts = list(_walk(message, limits.max_parts))
    if len(parts) >= limits.max_parts:
        problems.append(f"more than {limits.max_parts} MIME parts: the rest was not read")
    for part in parts:
        if part.is_multipart() or part.get_content_type() == "message/rfc822":
            continue
        content_type = part.get_content_type()
        if content_type in _NOT_ATTACHMENTS:
            continue
        disposition = (part.get_content_disposition() or "").lower()
        name = _filename(part)
        data = _payload(part, problems)
        if content_type.startswith("text/") and not name and disposition != "attachment":
            if content_type == "text/plain" and not plain:
                plain = _body_text(part, data)
            elif content_type == "text/html" and not rich:
                rich = _body_text(part, data)
            continue
        kind = sniff(data, declared=content_type)
        is_inline = kind.startswith("image/") and disposition != "attachment" and (
            disposition == "inline" or part.get("Content-ID") is not None or not name
        )
        target = inline if is_inline else real
        name = name or say("attachments.mail.unnamed", number=len(real) + len(inline) + 1,
                           extension=_EXTENSIONS.get(kind, ""))
        target.extend(_attachment(name, kind, data, is_inline, limits))
    chosen = real or inline  # inline images count only when nothing else was attached
    return _cap(chosen, limits), plain or rich


def _attachment(name: str, kind: str, data: bytes, inline: bool, limits: Limits) -> list[Attachment]:
    if len(data) > limits.max_attachment_bytes:
        size = f"{len(data) / (1024 * 1024):.1f} MB"
        cap = f"{limits.max_attachment_bytes / (1024 * 1024):.0f} MB"
        why = say("attachments.mail.attachment_too_large", name=name, size=size, limit=cap)
        return [Attachment(name, kind, b"", inline=inline, unreadable=why)]
    if kind == ZIP:
        return expand_zip(data, name, limits)
    if not data:
        why = say("attachments.mail.attachment_empty", name=name)
        return [Attachment(name, kind, b"", inline=inline, unreadable=why)]
    return [Attachment(name, kind, data, inline=inline, unreadable=unreadable_reason(kind, name))]


def _cap(attachments: list[Attachment], limits: Limits) -> tuple[Attachment, ...]:
    """Keep the first ``max_attachments``; the rest stay visible, empty and unreadable."""
    kept = attachments[: limits.max_attachments]
    why = say("attachments.mail.too_many_attachments", limit=limits.max_attachments)
    extra = [
        Attachment(a.filename, a.content_type, b"", a.inline, a.from_archive, unreadable=why)
        for a in attachments[limits.max_attachments : limits.max_attachments + 100]
    ]
    return tuple(kept + extra)


def attachment_reasons(envelope: Envelope) -> tuple[Reason, ...]:
    """``attachment.missing`` / ``attachment.unreadable`` for a decoded message.

    An unreadable PDF, image or archive (or one over a limit) always counts: a form
    may be in it. Another file type (a Word cover letter, a signature card) counts
    only when nothing readable came with it.
    """
    if envelope.refused:  # one reason for the whole mail: none of its attachments was read
        return (Reason(ReasonCode.ATTACHMENT_UNREADABLE, detail=envelope.refused),)
    if not envelope.attachments:
        return (Reason(ReasonCode.ATTACHMENT_MISSING, detail=say("details.attachment.missing")),)
    readable = any(not a.unreadable for a in envelope.attachments)
    reasons = []
    for item in envelope.attachments:
        if not item.unreadable:
            continue
        form_like = item.content_type in READABLE_TYPES | ARCHIVE_TYPES or not item.data
        if form_like or not readable:
            label = f"{item.from_archive}/{item.filename}" if item.from_archive else item.filename
            reasons.append(Reason(ReasonCode.ATTACHMENT_UNREADABLE, detail=item.unreadable, attachment=label))
    return tuple(reasons)
