"""A decoded mail message: the value object every later stage reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Attachment:
    filename: str  # decoded name as the sender gave it (never used as a path)
    content_type: str
    data: bytes
    inline: bool = False  # an inline image of the body, not a real attachment
    from_archive: str = ""  # name of the ZIP it came out of, if any
    # Why it cannot be read, as a Chinese sentence for the reply ("" when readable);
    # the worker turns it into ``attachment.unreadable``. Set by ``intake.message``.
    unreadable: str = ""


@dataclass(frozen=True)
class Envelope:
    message_id: str  # with angle brackets, as in the header; synthesised if absent
    subject: str  # decoded subject, unnormalised
    sender: str  # bare address of From, lower-cased
    sender_name: str
    reply_to: str  # bare address of Reply-To, lower-cased, or ""
    received_at: datetime  # IMAP INTERNALDATE, timezone-aware
    references: tuple[str, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    body_text: str = ""
    auto_generated: str = ""  # why no reply may go to it (auto-reply, bounce, list), or ""
    authentication_results: str = ""
    problems: tuple[str, ...] = field(default_factory=tuple)  # decoding problems worth logging
    # Why none of the message's content was read, as a Chinese sentence for the reply
    # (over the message-size limit, so only its header was fetched; too many MIME parts);
    # "" normally. Such a message carries one placeholder attachment, empty and unreadable.
    refused: str = ""
