"""Checks on a mail's raw bytes before the MIME parser sees them.

A mail over the size limit is stored as its header block with a mark (the mail stays on
the server); a mail with more MIME parts than allowed is refused whole. Both are
decided on the bytes, because parsing them is what would cost the memory and time.
"""

from __future__ import annotations

import math
import re

from intake.archive import Limits
from templates import say

# First line of what is stored for a message over the size limit (header block only).
OVERSIZE_HEADER = b"X-Intake-Oversize"
_OVERSIZE = re.compile(rb"X-Intake-Oversize: size=(\d{1,15}); limit=(\d{1,15})\r?\n")
# Names of the placeholder attachment of a message whose content was not read.
OVERSIZE_NAME = say("attachments.mail.oversize.name")
TOO_MANY_PARTS_NAME = say("attachments.mail.too_many_parts.name")
# A boundary parameter (matched on the lower-cased bytes: parameter names ignore case);
# ``boundary*0*=`` and the like are RFC 2231 pieces of one.
_BOUNDARY = re.compile(rb'boundary(\*[0-9]*\*?)?\s*=\s*(?:"([^"\r\n]{1,200})"|([^\s;"]{1,200}))')

def header_only_original(header: bytes, size: int, limit: int) -> bytes:
    """What is stored for a message over the size limit: its header block, marked.

    The mail itself stays whole on the IMAP server (and is filed like any other);
    the mark, a trace header in front, lets ``decode`` say why it has no body.
    """
    return b"%s: size=%d; limit=%d\r\n" % (OVERSIZE_HEADER, size, limit) + header


def split(raw: bytes) -> tuple[bytes, bytes]:
    """(header block with its blank line, body) of a raw message."""
    ends = [i for i in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if i >= 0]
    if not ends:
        return raw, b""
    end = min(ends)
    end += 4 if raw.startswith(b"\r\n\r\n", end) else 2
    return raw[:end], raw[end:]


def oversize(raw: bytes) -> str:
    """The reply's sentence for a stored header block of a mail over the size limit, else "".

    Only a header block counts (nothing after its blank line): the mark on a mail
    that has a body was written by its sender, not by us.
    """
    match = _OVERSIZE.match(raw)
    if match is None or split(raw)[1].strip():
        return ""
    size, limit = int(match.group(1)), int(match.group(2))
    cap = size_text(limit)
    return say("attachments.mail.oversize", size=size_text(size, up=True), limit=cap)


def size_text(size: int, *, up: bool = False) -> str:
    """``50 MB``, ``0.5 MB``, ``683 KB``; ``up`` rounds up, so a size over a limit never reads equal."""
    step = math.ceil if up else round
    if size >= 1024 * 1024:
        return f"{step(size / (1024 * 1024) * 10) / 10:.1f}".removesuffix(".0") + " MB"
    return f"{max(1, step(size / 1024))} KB"


def too_many_parts(raw: bytes, limits: Limits) -> str:
    """Why a message with more than ``limits.max_parts`` MIME parts is not read, else "".

    Counted on the bytes, before parsing: the stdlib parser builds an object per part
    (a 49 MB mail of 480,000 empty parts took 1 GB and 75 s) and recurses once per
    nesting level (10,000 levels raise RecursionError). Every part but the root opens
    with a delimiter line of a declared boundary, and every nested multipart declares
    one: counting them bounds both the parts (as ``_walk`` counts them) and the depth.
    A half-read message would let a form silently go missing, so the whole message
    is refused.
    """
    boundaries: set[bytes] = set()
    pieces = False  # a boundary written in RFC 2231 pieces: count every line that may be one
    for match in _BOUNDARY.finditer(raw.lower()):
        pieces = pieces or match.group(1) is not None
        group = 2 if match.start(2) >= 0 else 3
        boundaries.add(raw[match.start(group) : match.end(group)])  # the value keeps its case
        if len(boundaries) > limits.max_parts:
            break
    # The root, then one part per opening delimiter line of a declared boundary.
    parts = len(boundaries) if len(boundaries) > limits.max_parts else 1
    # The parser ends lines at CRLF, LF or a lone CR: "\r\n--" is found as "\n--".
    for newline in (b"\n--", b"\r--") if boundaries else ():
        start = raw.find(newline)
        while start >= 0 and parts <= limits.max_parts:
            ends = [e for e in (raw.find(b"\n", start + 3, start + 230), raw.find(b"\r", start + 3, start + 230))
                    if e >= 0]
            end = min(ends) if ends else len(raw)
            line = raw[start + 3 : end].rstrip(b" \t")
            # An opening delimiter line (a closing one ends in "--"): one more part.
            if end - start < 230 and (line in boundaries or pieces and not line.endswith(b"--")):
                parts += 1
            start = raw.find(newline, start + 3)
    if parts <= limits.max_parts:
        return ""
    return say("attachments.mail.too_many_parts", limit=limits.max_parts)
