"""Hostile and broken input: what each costs the real decision path, in time and peak memory.

Every input is a whole mail as the worker would hold it (for a mail over the size limit:
the marked header block it stores). Each runs in a fresh Python process that does exactly
what the worker's processing stage does with a stored original — ``intake.message.decode``
with the limits from the default settings, then ``intake.pipeline.process`` with the real
reader (``parsers.reader.read_attachment``, OCR included) — and reports the decision. The
input is built by another process and handed over as a file. The child reports its
resident size after importing everything, before reading the mail (``VmRSS``), and its
high-water mark at the end (``VmHWM``, reset by exec): the table shows both the process
peak and what the input added to it. The parent also reads the child's own ``ru_maxrss``
with ``os.wait4`` — the peak when the child died before reporting (it also counts the
forked copy of the parent, small here). Exit status 1 when an input went over 1 GB or
over the read time limit.

    python -m bench.hostile                   # every input, table on stdout
    python -m bench.hostile --only png,pdf    # inputs whose name contains one of the words
    python -m bench.hostile --markdown out.md # also write the table as Markdown
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

CRLF = b"\r\n"
MB = 1024 * 1024
UNIT = "合肥职业技术学院"  # the sample world's school (tests.fixtures.world)
CONTACT = "jwc@hfpu.edu.cn"
SUBJECT = f"{UNIT}+2025年证书申报"
RECEIVED = datetime(2025, 3, 20, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
CHILD_TIMEOUT = 1800.0


# --------------------------------------------------------------------------- the inputs


def _mail(*parts, **kwargs) -> bytes:
    """A submission from the registered contact, with these attachment parts (eml_corpus)."""
    from tests import eml_corpus as corpus

    return corpus.build(subject=corpus.encode_header(SUBJECT), sender=CONTACT.encode(), parts=parts, **kwargs)


def _attached(data: bytes, content_type: str, name: str) -> bytes:
    from tests import eml_corpus as corpus

    return _mail(corpus.named(data, content_type, name))


def zip_bomb_ratio() -> bytes:
    """One entry of 1 GB of zeros, about 1 MB compressed (ratio ~1000:1)."""
    from tests import eml_corpus as corpus

    return _attached(corpus.zip_bomb(1024 * MB), "application/zip", "汇总表.zip")


def zip_bomb_nested() -> bytes:
    """A ZIP of ten ZIPs, each one 128 MB of zeros: 1.25 GB unpacked from ~1.3 MB."""
    from tests import eml_corpus as corpus

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
    from tests.test_hostile_files import _png

    return _attached(_png(30_000, 30_000), "image/png", "汇总表.png")


def jpeg_header_bomb() -> bytes:
    """A tiny JPEG whose frame header claims 65,000 x 65,000 pixels (4.2 gigapixels)."""
    from tests import eml_corpus as corpus

    data = bytearray(corpus.sample_image("JPEG", (64, 48)))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = (65_000).to_bytes(2, "big") * 2
    return _attached(bytes(data), "image/jpeg", "汇总表.jpg")


def _jpeg(width: int, height: int, *, form: bool) -> bytes:
    from PIL import Image

    if form:
        from bench.generate import random_form, render_image

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
    from bench.generate import random_form, render_pdf

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
    from tests import eml_corpus as corpus

    scan = _jpeg(7_500, 10_600, form=True)
    return _mail(*[corpus.named(scan, "image/jpeg", f"汇总表{i}.jpg") for i in range(20)])


def mime_5000_parts() -> bytes:
    """5,000 attachments, each a small real PNG."""
    from tests import eml_corpus as corpus

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
    from tests import eml_corpus as corpus

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
    from tests import eml_corpus as corpus

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


# --------------------------------------------------------------------------- the child


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def child(path: str) -> None:
    """Decode and decide one stored mail exactly as the worker's processing stage does."""
    import functools

    import ocr.scan  # noqa: F401 - imported lazily by the reader; load it before the baseline
    from config.profile import load_profile
    from config.settings import Settings
    from domain.state import LedgerState, UnitRef
    from intake.message import decode
    from intake.pipeline import process
    from intake.worker import limits_from_settings
    from parsers.catalog import bundled_certificates
    from parsers.reader import read_attachment

    settings = Settings()
    mime_limits, reader_limits = limits_from_settings(settings)
    read = functools.partial(read_attachment, limits=reader_limits)
    profile = load_profile("anhui-2025")
    state = LedgerState(units=(UnitRef(UNIT, "高职", "合肥市", contacts=(CONTACT,)),),
                        certificates=bundled_certificates())
    baseline_kb = _status_kb("VmRSS")

    started = time.perf_counter()
    raw = Path(path).read_bytes()
    envelope = decode(raw, RECEIVED, limits=mime_limits)
    del raw
    result = process(envelope, profile, state, read)
    seconds = time.perf_counter() - started
    decision = result.decision
    reasons = [] if decision is None else [(str(r.code), r.detail) for r in decision.reasons]
    print(json.dumps({
        "outcome": "ignored" if decision is None else str(decision.outcome),
        "codes": [] if decision is None else decision.codes,
        "reasons": reasons,
        "note": result.note,
        "problems": list(envelope.problems)[:3],
        "seconds": seconds,
        "baseline_mb": baseline_kb / 1024,
        "hwm_mb": _status_kb("VmHWM") / 1024,
    }, ensure_ascii=False))


# --------------------------------------------------------------------------- the parent


@dataclass
class Row:
    name: str
    size: int
    outcome: str = ""
    codes: str = ""
    detail: str = ""
    seconds: float = 0.0
    peak_mb: float = 0.0
    added_mb: float = 0.0
    rusage_mb: float = 0.0  # ru_maxrss from wait4 (the fallback when the child died)
    error: str = ""


def build(name: str, path: str) -> None:
    """Write one input's bytes (in a process of its own, so the parent stays small)."""
    item = next(i for i in INPUTS if i.name == name)
    Path(path).write_bytes(item.build())


def run_one(item: Input, workdir: Path) -> Row:
    path = workdir / "mail.eml"
    # Built in another process: the measured child is forked from this one, and Linux
    # counts the forked copy's resident set in the child's ru_maxrss until exec.
    subprocess.run([sys.executable, "-m", "bench.hostile", "--build", item.name, str(path)],
                   check=True, cwd=Path(__file__).resolve().parent.parent)
    size = 300 * MB if item.note == "server size" else path.stat().st_size
    row = Row(item.name, size)
    out_path, err_path = workdir / "out", workdir / "err"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", "bench.hostile", "--child", str(path)],
                                stdout=out, stderr=err, cwd=Path(__file__).resolve().parent.parent)
    timer = threading.Timer(CHILD_TIMEOUT, proc.kill)
    timer.start()
    started = time.monotonic()
    # wait4, not wait: the rusage of this one child (its own peak resident set), nothing else.
    _, status, usage = os.wait4(proc.pid, 0)
    timer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    row.seconds = time.monotonic() - started
    # Kilobytes on Linux. Also counts the forked copy of this process until exec: exact
    # here (the parent is small), an over-estimate under pytest; VmHWM below is not.
    row.rusage_mb = row.peak_mb = usage.ru_maxrss / 1024
    lines = [ln for ln in out_path.read_text(errors="replace").splitlines() if ln.startswith("{")]
    if proc.returncode != 0:
        last = err_path.read_text(errors="replace").strip().splitlines()[-1:]
        killed = row.seconds >= CHILD_TIMEOUT and proc.returncode < 0
        row.error = f"timeout after {CHILD_TIMEOUT:.0f} s" if killed else f"exit {proc.returncode}"
        row.detail = last[0][:90] if last else ""
    if lines:
        data = json.loads(lines[-1])
        row.outcome = data["outcome"]
        row.codes = ",".join(data["codes"]) or data["note"]
        row.detail = (data["reasons"][0][1] if data["reasons"] else "; ".join(data["problems"]))[:90]
        row.seconds = data["seconds"]
        row.added_mb = data["hwm_mb"] - data["baseline_mb"]
        row.peak_mb = data["hwm_mb"]
    path.unlink(missing_ok=True)
    return row


def _size(n: int) -> str:
    if n >= MB:
        return f"{n / MB:.1f} MB"
    if n >= 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n} B"


def markdown(rows: list[Row]) -> str:
    lines = ["| input | mail size | decision | reason codes | wall s | peak RSS MB | added MB | reason (first, cut) |",
             "|---|---:|---|---|---:|---:|---:|---|"]
    for r in rows:
        outcome = r.error or r.outcome
        lines.append(f"| {r.name} | {_size(r.size)} | {outcome} | {r.codes} | {r.seconds:.2f} | "
                     f"{r.peak_mb:.0f} | {r.added_mb:.0f} | {r.detail.replace('|', '/')} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--build", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--only", default="", help="comma-separated words; run inputs whose name contains one")
    parser.add_argument("--markdown", type=Path, help="also write the table to this file")
    args = parser.parse_args(argv)
    if args.child:
        child(args.child)
        return 0
    if args.build:
        build(*args.build)
        return 0
    words = [w.strip().lower() for w in args.only.split(",") if w.strip()]
    chosen = [i for i in INPUTS if not words or any(w in i.name.lower() for w in words)]
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="hostile-") as tmp:
        for number, item in enumerate(chosen, 1):
            print(f"[{number}/{len(chosen)}] {item.name} …", end=" ", flush=True)
            built = time.monotonic()
            row = run_one(item, Path(tmp))
            rows.append(row)
            print(f"{row.error or row.outcome} {row.codes} | {row.seconds:.2f} s | peak {row.peak_mb:.0f} MB "
                  f"(+{row.added_mb:.0f}; ru_maxrss {row.rusage_mb:.0f}) | {time.monotonic() - built:.0f} s with building",
                  flush=True)
    table = markdown(rows)
    print()
    print(table)
    if args.markdown:
        args.markdown.write_text(table + "\n", encoding="utf-8")
    from config.settings import Settings

    slow = Settings().max_read_seconds
    bound = [r for r in rows if r.error or r.peak_mb > 1024 or r.seconds > slow]
    return 1 if bound else 0


if __name__ == "__main__":
    sys.exit(main())
