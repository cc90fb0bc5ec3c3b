"""What an attachment really is (by its bytes) and how to open a ZIP safely.

The declared Content-Type and file name lie often enough (``application/octet-stream``
for a PDF, ``.jpg`` for a PNG) that we trust the first bytes. ZIP archives are expanded
in memory: entry names are only labels, never paths, and every limit is checked
against the bytes actually read, not the sizes the archive claims.

An attachment we cannot use carries ``unreadable``: a Chinese sentence telling the
school what is wrong and what to send instead (``templates/attachments.txt``). The
worker turns it into ``attachment.unreadable``.
"""

from __future__ import annotations

import importlib.util
import io
import zipfile
from dataclasses import dataclass

from domain.envelope import Attachment
from intake.headers import clean_text, decode_bytes
from templates import say

PDF = "application/pdf"
ZIP = "application/zip"
RAR = "application/vnd.rar"
SEVEN_ZIP = "application/x-7z-compressed"
# Types the document readers can open; everything else is unreadable for us.
READABLE_TYPES = frozenset({PDF, "image/jpeg", "image/png", "image/bmp", "image/tiff", "image/heic"})
ARCHIVE_TYPES = frozenset({ZIP, RAR, SEVEN_ZIP, "application/gzip"})
_OFFICE = "application/vnd.openxmlformats-officedocument"
_JUNK_ENTRIES = ("__MACOSX/", ".DS_Store", "Thumbs.db", "desktop.ini")


@dataclass(frozen=True)
class Limits:
    """Safe bounds for one message; a breach makes the attachment unreadable, never a crash."""

    max_attachments: int = 20
    max_attachment_bytes: int = 25 * 1024 * 1024
    max_zip_entries: int = 50
    max_zip_total_bytes: int = 100 * 1024 * 1024
    max_zip_ratio: int = 200  # uncompressed / compressed, per entry over 1 MB (a blank BMP scan reaches ~150)
    max_parts: int = 500  # MIME parts walked per message


def sniff(data: bytes, declared: str = "") -> str:
    """The content type the bytes show; the declared one when the bytes say nothing."""
    head = data[:1024]
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"BM") and len(data) > 26:
        return "image/bmp"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "image/tiff"
    if head[4:8] == b"ftyp" and head[8:12] in {b"heic", b"heix", b"mif1", b"msf1", b"heim", b"hevc"}:
        return "image/heic"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _OFFICE if _is_office(data) else ZIP
    if head.startswith(b"Rar!\x1a\x07"):
        return RAR
    if head.startswith(b"7z\xbc\xaf\x27\x1c"):
        return SEVEN_ZIP
    if head.startswith(b"\x1f\x8b"):
        return "application/gzip"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "application/msword"  # legacy .doc / .xls / .wps compound file
    if b"%PDF-" in head:  # readers accept a PDF header after some leading junk
        return PDF
    return (declared or "application/octet-stream").lower()


def _is_office(data: bytes) -> bool:
    # Entry names are stored as plain bytes: without this one it cannot be an Office file,
    # and opening a hostile archive (hundreds of thousands of entries) costs seconds.
    if b"[Content_Types].xml" not in data or data.count(b"PK\x01\x02") > 10_000:
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "[Content_Types].xml" in archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError):
        return False


def _why(key: str, **values: object) -> str:
    """A sentence of ``templates/attachments.txt`` with ``{send_instead}`` filled in."""
    return say(key, send_instead=say("attachments.send_instead"), **values)


def unreadable_reason(content_type: str, filename: str) -> str:
    """Why a file of this type cannot be read, in Chinese; "" when it can be."""
    name = say("attachments.name.quoted", name=filename) if filename else say("attachments.name.none")
    if content_type == "image/heic":
        if importlib.util.find_spec("pillow_heif") is not None:
            return ""
        return _why("attachments.type.heic", name=name)
    if content_type in READABLE_TYPES or content_type == ZIP:
        return ""
    if content_type in {RAR, SEVEN_ZIP, "application/gzip"}:
        kind = {RAR: "RAR", SEVEN_ZIP: "7z"}.get(content_type, "gzip")
        return _why("attachments.type.archive", name=name, kind=kind)
    if content_type.startswith(_OFFICE) or content_type == "application/msword":
        return _why("attachments.type.office", name=name)
    if filename.lower().endswith((".pdf", ".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".zip")):
        return _why("attachments.type.mismatch", name=name)
    return _why("attachments.type.unknown", name=name)


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.0f} MB" if size >= 1024 * 1024 else say("attachments.size.bytes", size=size)


def entry_name(info: zipfile.ZipInfo) -> str:
    """The entry's name as the sender saw it: UTF-8 when flagged, else GBK from Windows."""
    name = info.filename
    if not info.flag_bits & 0x800:
        try:
            raw = name.encode("cp437")
        except UnicodeEncodeError:
            raw = b""
        if raw:
            name = decode_bytes(raw)[0]
    return clean_text(name.replace("\\", "/").rsplit("/", 1)[-1]) or say("attachments.zip.unnamed_entry")


def expand_zip(data: bytes, name: str, limits: Limits) -> list[Attachment]:
    """The files inside a ZIP (one nested ZIP level at most), or one unreadable marker.

    A breach of any limit makes the whole archive unreadable: a half-read archive
    would let a form silently go missing. Nested archives share one byte budget.
    """
    return _expand(data, name, limits, 0, [limits.max_zip_total_bytes])


def _expand(data: bytes, name: str, limits: Limits, depth: int, left: list[int]) -> list[Attachment]:

    def refuse(why: str) -> list[Attachment]:
        return [Attachment(filename=name, content_type=ZIP, data=b"", unreadable=why)]

    # zipfile builds an object per central-directory record before we can count them:
    # 700,000 empty entries took minutes and 400 MB. Each record starts with this
    # signature, so its count bounds them (junk like __MACOSX/ counts too: be generous).
    if data.count(b"PK\x01\x02") > 4 * limits.max_zip_entries + 100:
        return refuse(_why("attachments.zip.too_many_records", name=name, limit=limits.max_zip_entries))
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = [
            i for i in archive.infolist()
            if not i.is_dir() and not any(junk in i.filename for junk in _JUNK_ENTRIES)
            and not i.filename.rsplit("/", 1)[-1].startswith("._")
        ]
    except Exception:  # noqa: BLE001 - hostile archives fail in many ways
        return refuse(_why("attachments.zip.corrupt", name=name))
    if not infos:
        return refuse(_why("attachments.zip.empty", name=name))
    if len(infos) > limits.max_zip_entries:
        return refuse(_why("attachments.zip.too_many", name=name, count=len(infos), limit=limits.max_zip_entries))
    out: list[Attachment] = []
    for info in infos:
        inner = entry_name(info)
        if info.flag_bits & 0x1:
            return refuse(_why("attachments.zip.encrypted", name=name))
        budget = min(limits.max_attachment_bytes, left[0])
        try:
            with archive.open(info) as stream:
                content = stream.read(budget + 1)
        except Exception:  # noqa: BLE001 - zlib.error, CRC errors…: any failure means corrupt
            return refuse(_why("attachments.zip.entry_corrupt", name=name, entry=inner))
        if len(content) > budget:
            return refuse(_why("attachments.zip.too_large", name=name, each=_mb(limits.max_attachment_bytes),
                               total=_mb(limits.max_zip_total_bytes)))
        if len(content) > 1024 * 1024 and len(content) > limits.max_zip_ratio * max(info.compress_size, 1):
            return refuse(_why("attachments.zip.ratio", name=name))
        left[0] -= len(content)
        content_type = sniff(content)
        label = f"{name}/{inner}"
        if content_type == ZIP:
            if depth >= 1:
                return refuse(_why("attachments.zip.nested", name=name))
            nested = _expand(content, inner, limits, depth + 1, left)
            out.extend(
                Attachment(a.filename, a.content_type, a.data,
                           from_archive=f"{name}/{a.from_archive}" if a.from_archive else name,
                           unreadable=a.unreadable)
                for a in nested
            )
            continue
        out.append(
            Attachment(filename=inner, content_type=content_type, data=content, from_archive=name,
                       unreadable=unreadable_reason(content_type, label))
        )
    return out
