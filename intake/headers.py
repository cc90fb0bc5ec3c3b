"""Header text decoding that survives what Chinese mail clients really send.

``email.policy.default`` turns GBK bytes labelled gb2312 into U+FFFD, raw 8-bit GBK
into mojibake, and garbles a character whose bytes are split across two
encoded-words. So we decode from the raw bytes ourselves:

- adjacent encoded-words of the same charset are joined *as bytes* before decoding;
- gb2312 / gbk / cp936 (and friends) decode as GB18030, their superset;
- raw 8-bit text is tried as strict UTF-8 first, then GB18030.

Nothing here raises on bad input: undecodable bytes become U+FFFD and the caller
may ask ``decode_header_text`` to report that it happened.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
import unicodedata

# Labels whose bytes are in practice GBK or GB18030: decode all of them as GB18030.
_GB_ALIASES = frozenset(
    {"gb2312", "gbk", "cp936", "ms936", "x-gbk", "euc-cn", "euccn", "gb_2312-80", "gb2312-80",
     "csgb2312", "chinese", "x-euc-cn", "windows-936", "gb18030", "gb-18030"}
)

_ENCODED_WORD = re.compile(rb"=\?([^?\s]+)\?([bBqQ])\?([^?]*?)\?=")
_FOLD = re.compile(rb"\r?\n(?=[ \t])|\r?\n$")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def codec_for(label: str | None) -> str:
    """The Python codec to use for a MIME charset label (GB family → gb18030)."""
    name = (label or "").strip().strip('"').lower()
    name = name.split("*", 1)[0]  # RFC 2231 language suffix: utf-8*zh
    if not name or name in {"us-ascii", "ascii", "unknown-8bit", "x-unknown", "unknown"}:
        return ""
    if name in _GB_ALIASES:
        return "gb18030"
    if not name.isascii():
        return ""
    try:
        info = codecs.lookup(name)
    except (LookupError, UnicodeError, ValueError):
        return ""
    return "gb18030" if info.name in {"gb2312", "gbk"} else info.name


def decode_bytes(data: bytes, label: str | None = None) -> tuple[str, bool]:
    """Decode ``data`` in charset ``label``; without a usable label guess UTF-8, then GB18030.

    Returns the text and whether it decoded cleanly (no replacement characters).
    """
    codec = codec_for(label)
    if codec:
        try:
            return data.decode(codec), True
        except UnicodeDecodeError:
            pass  # a wrong label is common: fall through to the guesses
    try:
        return data.decode("utf-8"), True
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), True
    except UnicodeDecodeError:
        return data.decode(codec or "gb18030", errors="replace"), False


def _b64(text: bytes) -> bytes:
    cleaned = re.sub(rb"[^A-Za-z0-9+/]", b"", text)
    if len(cleaned) % 4 == 1:  # a stray character: no padding can make it valid
        cleaned = cleaned[:-1]
    cleaned += b"=" * (-len(cleaned) % 4)
    try:
        return base64.b64decode(cleaned)
    except (binascii.Error, ValueError):
        return b""


def _q(text: bytes) -> bytes:
    text = text.replace(b"_", b" ")
    return re.sub(rb"=([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), text)


def _raw_text(chunk: bytes) -> tuple[str, bool]:
    if chunk.isascii():
        return chunk.decode("ascii"), True
    return decode_bytes(chunk)


def decode_header_bytes(raw: bytes) -> tuple[str, bool]:
    """Decode one header value given as its raw bytes (folded or not).

    Returns the text (folds removed, control characters turned into spaces) and
    whether every part decoded cleanly.
    """
    raw = _FOLD.sub(b"", raw)
    pieces: list[str] = []
    clean = True
    pending_codec: str | None = None
    pending: bytearray = bytearray()
    position = 0

    def flush() -> None:
        nonlocal pending_codec, clean
        if pending_codec is not None:
            text, ok = decode_bytes(bytes(pending), pending_codec)
            pieces.append(text)
            clean = clean and ok
            pending.clear()
            pending_codec = None

    for match in _ENCODED_WORD.finditer(raw):
        between = raw[position : match.start()]
        # Whitespace between two encoded-words is not part of the text (RFC 2047 §6.2).
        if between and not (pending_codec is not None and between.strip(b" \t") == b""):
            flush()
            text, ok = _raw_text(between)
            pieces.append(text)
            clean = clean and ok
        label = match.group(1).decode("ascii", "replace")
        codec = codec_for(label)  # "" for an unknown label: decode_bytes guesses
        payload = match.group(3)
        data = _b64(payload) if match.group(2) in (b"b", b"B") else _q(payload)
        if pending_codec is not None and pending_codec != codec:
            flush()
        pending_codec = codec
        pending.extend(data)
        position = match.end()
    flush()
    tail = raw[position:]
    if tail:
        text, ok = _raw_text(tail)
        pieces.append(text)
        clean = clean and ok
    text = _CONTROL.sub(" ", "".join(pieces).replace("\t", " "))
    return text.strip(), clean


def decode_header_text(value: str | bytes | None) -> str:
    """Decode a header value (raw bytes, or a str holding surrogate-escaped bytes)."""
    if value is None:
        return ""
    return decode_header_bytes(to_raw(value))[0]


def to_raw(value: str | bytes) -> bytes:
    """Recover the original bytes of a value the stdlib parser read with surrogateescape."""
    if isinstance(value, bytes):
        return value
    try:
        return value.encode("ascii", "surrogateescape")
    except UnicodeEncodeError:
        # Real text mixed with escaped bytes: escaped bytes back to bytes, text as UTF-8.
        out = bytearray()
        for ch in value:
            code = ord(ch)
            if 0xDC80 <= code <= 0xDCFF:
                out.append(code - 0xDC00)
            else:
                out.extend(ch.encode("utf-8", "replace"))
        return bytes(out)


def clean_text(text: str) -> str:
    """One-line, printable, NFC text for display (file names, names)."""
    text = _CONTROL.sub(" ", text.replace("\t", " "))
    text = "".join(ch for ch in text if unicodedata.category(ch) not in {"Cs", "Co", "Cc"})
    return unicodedata.normalize("NFC", text).strip()
