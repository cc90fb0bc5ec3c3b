"""Hostile and broken mail: bombs, huge images, thousands of parts, each a whole mail as the worker holds it.

For a mail over the size limit, the input is the marked header block the worker stores. Built
lazily (``Input.build``): some take seconds and hundreds of megabytes to write.
"""

from __future__ import annotations

import base64
import io
import os
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

CRLF = b"\r\n"
MB = 1024 * 1024
UNIT = "合肥职业技术学院"  # the sample world's school (testkit.world)
CONTACT = "jwc@hfpu.edu.cn"
SUBJECT = f"{UNIT}+2025年证书申报"
RECEIVED = datetime(2025, 3, 20, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def png(width: int, height: int) -> bytes:
    """A valid 1-bit white PNG of any size, built by hand (no 900 MP image in memory)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    row = b"\x00" + b"\xff" * ((width + 7) // 8)
    packer = zlib.compressobj(9)
    parts = [packer.compress(row) for _ in range(height)]
    idat = b"".join(parts) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _mail(*parts, **kwargs) -> bytes:
    """A submission from the registered contact, with these attachment parts (eml_corpus)."""
    from testkit import eml_corpus as corpus

    return corpus.build(subject=corpus.encode_header(SUBJECT), sender=CONTACT.encode(), parts=parts, **kwargs)


def _attached(data: bytes, content_type: str, name: str) -> bytes:
    from testkit import eml_corpus as corpus

    return _mail(corpus.named(data, content_type, name))


def zip_bomb_ratio() -> bytes:
    """One entry of 1 GB of zeros, about 1 MB compressed (ratio ~1000:1)."""
    from testkit import eml_corpus as corpus

    return _attached(corpus.zip_bomb(1024 * MB), "application/zip", "汇总表.zip")


def zip_bomb_nested() -> bytes:
    """A ZIP of ten ZIPs, each one 128 MB of zeros: 1.25 GB unpacked from ~1.3 MB."""
    from testkit import eml_corpus as corpus

    inner = corpus.zip_bomb()
    outer = corpus.make_zip([(f"第{i}部分.zip", inner) for i in range(10)])
    return _attached(outer, "application/zip", "申报材料.zip")


def zip_many_entries() -> bytes:
    """100,000 tiny entries (the central directory alone is ~6 MB)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for i in range(100_000):
            archive.writestr(zipfile.ZipInfo(f"p{i}.pdf", (2025, 3, 20, 10, 0, 0)), b"%PDF-1.4\n")
    return _attached(buffer.getvalue(), "application/zip", "申报材料.zip")


def png_30000() -> bytes:
    """A valid 30,000 x 30,000 1-bit PNG: 900 megapixels in ~1 MB."""
    return _attached(png(30_000, 30_000), "image/png", "汇总表.png")


def jpeg_header_bomb() -> bytes:
    """A tiny JPEG whose frame header claims 65,000 x 65,000 pixels (4.2 gigapixels)."""
    from testkit import eml_corpus as corpus

    data = bytearray(corpus.sample_image("JPEG", (64, 48)))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = (65_000).to_bytes(2, "big") * 2
    return _attached(bytes(data), "image/jpeg", "汇总表.jpg")


def _jpeg(width: int, height: int, *, form: bool) -> bytes:
    from PIL import Image

    if form:
        from testkit.forms import random_form, render_image

        page = render_image(random_form("summary", seed=7, rows=8), dpi=150).convert("L")
        image = page.resize((width, height), Image.Resampling.BILINEAR)
    else:
        image = Image.new("L", (width, height), 250)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=75)
    return buffer.getvalue()


def jpeg_over_pixel_limit() -> bytes:
    """A real 9,500 x 9,500 JPEG (90 MP, over the 80 MP limit, under Pillow's own bomb check)."""
    return _attached(_jpeg(9_500, 9_500, form=False), "image/jpeg", "汇总表.jpg")


def jpeg_under_pixel_limit() -> bytes:
    """A summary form scanned at ~900 dpi, 7,500 x 10,600 (79.5 MP): under every limit, so OCR'd."""
    return _attached(_jpeg(7_500, 10_600, form=True), "image/jpeg", "汇总表.jpg")


def _blank_pdf(pages: int) -> bytes:
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer)
    for _ in range(pages):
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def pdf_5000_pages() -> bytes:
    return _attached(_blank_pdf(5_000), "application/pdf", "汇总表.pdf")


def _form_pdf() -> bytes:
    from testkit.forms import random_form, render_pdf

    return render_pdf([random_form("summary", seed=1, rows=5)])


def pdf_truncated() -> bytes:
    data = _form_pdf()
    return _attached(data[: len(data) // 3], "application/pdf", "汇总表.pdf")


def pdf_encrypted() -> bytes:
    from reportlab.lib import pdfencrypt
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, encrypt=pdfencrypt.StandardEncryption("secret", ownerPassword="owner"))
    pdf.drawString(100, 700, "locked")
    pdf.showPage()
    pdf.save()
    return _attached(buffer.getvalue(), "application/pdf", "汇总表.pdf")


def _pdf_with_image(width: int, height: int, stream: bytes, image_dict: bytes, pages: int = 1) -> bytes:
    """An A4 PDF whose pages are each covered by one shared image XObject (hand-written, exact xref)."""
    content = b"q 595 0 0 842 0 0 cm /Im0 Do Q"
    kids = b" ".join(b"%d 0 R" % (6 + i) for i in range(pages))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, pages),
        b"<< /XObject << /Im0 4 0 R >> >>",
        b"<< /Type /XObject /Subtype /Image /Width %d /Height %d %s /Length %d >>\nstream\n"
        % (width, height, image_dict, len(stream)) + stream + b"\nendstream",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
    ] + [b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources 3 0 R /Contents 5 0 R >>"] * pages
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def pdf_huge_flate_image() -> bytes:
    """One page holding a 30,000 x 30,000 RGB image (2.7 GB raw) deflated to ~2.6 MB."""
    width = height = 30_000
    packer = zlib.compressobj(6)
    row = b"\xff" * (width * 3)
    stream = b"".join([packer.compress(row) for _ in range(height)] + [packer.flush()])
    pdf = _pdf_with_image(width, height, stream,
                          b"/ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /FlateDecode")
    return _attached(pdf, "application/pdf", "汇总表.pdf")


def pdf_huge_jpeg_image() -> bytes:
    """One page holding a 20,000 x 20,000 gray JPEG (400 MP) of a few MB."""
    jpeg = _jpeg(20_000, 20_000, form=False)
    pdf = _pdf_with_image(20_000, 20_000, jpeg, b"/ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /DCTDecode")
    return _attached(pdf, "application/pdf", "汇总表.pdf")


def pdf_30_pages_huge_image() -> bytes:
    """30 pages (the page limit), each covered by the same 20,000 x 20,000 JPEG: 30 renders."""
    jpeg = _jpeg(20_000, 20_000, form=False)
    pdf = _pdf_with_image(20_000, 20_000, jpeg, b"/ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /DCTDecode",
                          pages=30)
    return _attached(pdf, "application/pdf", "汇总表.pdf")


def mime_many_big_scans() -> bytes:
    """20 (the attachment limit) 79.5 MP form scans, 46 MB: each one read by OCR in turn."""
    from testkit import eml_corpus as corpus

    scan = _jpeg(7_500, 10_600, form=True)
    return _mail(*[corpus.named(scan, "image/jpeg", f"汇总表{i}.jpg") for i in range(20)])


def mime_5000_parts() -> bytes:
    """5,000 attachments, each a small real PNG."""
    from testkit import eml_corpus as corpus

    png = corpus.sample_image("PNG")
    return _mail(*[corpus.named(png, "image/png", f"第{i}页.png") for i in range(5_000)])


def _headers(content_type: bytes) -> bytes:
    subject = b"=?utf-8?B?" + base64.b64encode(SUBJECT.encode()) + b"?="
    return CRLF.join([
        b"From: <" + CONTACT.encode() + b">", b"To: ahxzsbg@126.com", b"Subject: " + subject,
        b"Message-ID: <hostile@hfpu.edu.cn>", b"MIME-Version: 1.0", b"Content-Type: " + content_type,
    ]) + CRLF + CRLF


def mime_tiny_parts_at_size_limit() -> bytes:
    """As many empty text parts as fit in 49 MB (~480,000): the parser's object count."""
    part = b"--b" + CRLF + b"Content-Type: text/plain" + CRLF + CRLF + b"x" + CRLF
    count = 49 * MB // len(part)
    return _headers(b'multipart/mixed; boundary="b"') + part * count + b"--b--" + CRLF


def mime_nested_10000() -> bytes:
    """multipart/mixed nested 10,000 levels deep around one small PDF."""
    from testkit import eml_corpus as corpus

    depth = 10_000
    pdf = base64.b64encode(corpus.sample_pdf())
    opening = b"".join(
        b'--n%d\r\nContent-Type: multipart/mixed; boundary="n%d"\r\n\r\n' % (i, i + 1) for i in range(depth)
    )
    leaf = (b"--n%d\r\nContent-Type: application/pdf; name=a.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            % depth + pdf + CRLF)
    closing = b"".join(b"--n%d--\r\n" % i for i in range(depth, -1, -1))
    return _headers(b'multipart/mixed; boundary="n0"') + opening + leaf + closing


def _long_words(size: int) -> bytes:
    word = b" =?utf-8?B?" + base64.b64encode("申报材料".encode()) + b"?="
    return word * (size // len(word))


def long_subject_line() -> bytes:
    """A 20 MB Subject on one line: the rule's subject, then 600,000 encoded-words."""
    from testkit import eml_corpus as corpus

    subject = corpus.encode_header(SUBJECT) + _long_words(20 * MB)
    return corpus.build(subject=subject, sender=CONTACT.encode(),
                        parts=[corpus.named(_form_pdf(), "application/pdf", "汇总表.pdf")])


def long_from_line() -> bytes:
    """A 49 MB From line (a mail at the size limit): the contact's address, then encoded-words."""
    raw = _attached(_form_pdf(), "application/pdf", "汇总表.pdf")
    head, rest = raw.split(b"\r\nTo: ", 1)
    return head + _long_words(49 * MB) + b"\r\nTo: " + rest


def huge_html_body() -> bytes:
    """A 49 MB text/html body (UTF-8, one emoji: Python holds it as 4 bytes per character)."""
    html = ("<p>申报😀</p>" + "<td>合肥职业技术学院 &amp; 申报</td>" * (49 * MB // 50)).encode()
    return _headers(b"text/html; charset=utf-8") + html


def largest_allowed_mail() -> bytes:
    """A 49 MB mail (just under the 50 MB limit) carrying one 36 MB attachment."""
    return _attached(b"%PDF-1.4\n" + os.urandom(36 * MB), "application/pdf", "汇总表.pdf")


def zero_byte_mail() -> bytes:
    return b""


def zero_byte_attachment() -> bytes:
    return _attached(b"", "application/pdf", "汇总表.pdf")


def oversize_mail() -> bytes:
    """What the worker stores for a 300 MB mail over the 50 MB limit: its marked header block."""
    from intake.message import header_only_original

    raw = _attached(b"%PDF-1.4\n", "application/pdf", "汇总表.pdf")
    header = raw.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n"
    return header_only_original(header, 300 * MB, 50 * MB)


def normal_summary() -> bytes:
    """Reference: an ordinary stamped text-layer summary PDF."""
    return _attached(_form_pdf(), "application/pdf", "汇总表.pdf")


@dataclass(frozen=True)
class Input:
    name: str
    build: Callable[[], bytes]
    note: str = ""


INPUTS = (
    Input("normal summary PDF (reference)", normal_summary),
    Input("zip bomb: 1 GB of zeros, ratio ~1000", zip_bomb_ratio),
    Input("zip bomb: nested, 10 x 128 MB", zip_bomb_nested),
    Input("zip with 100,000 entries", zip_many_entries),
    Input("PNG 30,000 x 30,000", png_30000),
    Input("JPEG header claims 65,000 x 65,000", jpeg_header_bomb),
    Input("JPEG 9,500 x 9,500 (over 80 MP)", jpeg_over_pixel_limit),
    Input("JPEG 7,500 x 10,600 form (79.5 MP, read)", jpeg_under_pixel_limit),
    Input("PDF with 5,000 pages", pdf_5000_pages),
    Input("PDF truncated", pdf_truncated),
    Input("PDF encrypted", pdf_encrypted),
    Input("PDF page = 30,000^2 RGB Flate image", pdf_huge_flate_image),
    Input("PDF page = 20,000^2 JPEG image", pdf_huge_jpeg_image),
    Input("PDF of 30 pages, each a 20,000^2 JPEG", pdf_30_pages_huge_image),
    Input("MIME with 20 x 79.5 MP JPEG forms", mime_many_big_scans),
    Input("MIME with 5,000 attachments", mime_5000_parts),
    Input("MIME with ~480,000 parts (49 MB)", mime_tiny_parts_at_size_limit),
    Input("MIME nested 10,000 deep", mime_nested_10000),
    Input("Subject line of 20 MB", long_subject_line),
    Input("From line of 49 MB", long_from_line),
    Input("49 MB mail, one 36 MB attachment", largest_allowed_mail),
    Input("49 MB HTML body", huge_html_body),
    Input("zero-byte mail", zero_byte_mail),
    Input("zero-byte attachment", zero_byte_attachment),
    Input("oversize mail (300 MB, header only)", oversize_mail, "server size"),
)
