"""Corrupt and hostile attachments: a clear Chinese message, bounded time and memory."""

from __future__ import annotations

import io
import time
import tracemalloc

import pytest
from PIL import Image

from config.profile import load_profile
from parsers.catalog import bundled_certificates
from parsers.errors import LimitExceeded, ReaderError, UnreadableAttachment
from parsers.reader import read_attachment
from testkit.forms import random_form, render_pdf
from testkit.hostile import png as _png

ANHUI = load_profile("anhui-2025")


def read(data: bytes, name: str):
    return read_attachment(data, name, profile=ANHUI, certificates=bundled_certificates())


def refused(data: bytes, name: str, error=ReaderError, *, seconds=5.0, megabytes=150):
    """Read ``data`` expecting ``error``; return its message, checking time and peak memory."""
    tracemalloc.start()
    started = time.monotonic()
    try:
        with pytest.raises(error) as caught:
            read(data, name)
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    elapsed = time.monotonic() - started
    assert elapsed < seconds, f"took {elapsed:.1f} s"
    assert peak < megabytes * 1024 * 1024, f"peak {peak / 1048576:.0f} MB"
    message = str(caught.value)
    assert name in message  # says which attachment
    assert any("\u4e00" <= ch <= "\u9fff" for ch in message)  # in Chinese, for the school
    return message


@pytest.fixture(scope="module")
def form_pdf() -> bytes:
    return render_pdf([random_form("summary", seed=1, rows=5)])


def test_zero_byte_file():
    assert "空文件" in refused(b"", "申报表.pdf", UnreadableAttachment)


def test_truncated_pdf(form_pdf):
    message = refused(form_pdf[: len(form_pdf) // 3], "cut.pdf", UnreadableAttachment)
    assert "损坏" in message or "不完整" in message


def test_encrypted_pdf():
    from reportlab.lib import pdfencrypt
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    pdf = canvas.Canvas(buf, encrypt=pdfencrypt.StandardEncryption("secret", ownerPassword="owner"))
    pdf.drawString(100, 700, "locked")
    pdf.showPage()
    pdf.save()
    assert "加密" in refused(buf.getvalue(), "locked.pdf", UnreadableAttachment)


def test_pdf_with_5000_pages():
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    pdf = canvas.Canvas(buf)
    for _ in range(5000):
        pdf.showPage()
    pdf.save()
    message = refused(buf.getvalue(), "huge.pdf", LimitExceeded)
    assert "5000" in message


def test_png_of_30000_by_30000_pixels():
    data = _png(30_000, 30_000)
    assert len(data) < 2_000_000  # small on the wire: a decompression bomb
    message = refused(data, "bomb.png", LimitExceeded)
    assert "30000" in message or "过大" in message


def test_random_bytes_and_an_office_file():
    refused(bytes(range(256)) * 40, "scan.jpg", UnreadableAttachment)
    zip_magic = b"PK\x03\x04" + b"\x00" * 200  # .xlsx / .docx are ZIP files
    assert "PDF" in refused(zip_magic, "汇总表.xlsx", UnreadableAttachment)


def test_truncated_png():
    buf = io.BytesIO()
    Image.new("RGB", (800, 600), "white").save(buf, "PNG")
    data = buf.getvalue()
    refused(data[: len(data) // 2], "half.png", UnreadableAttachment)


def test_oversized_file_is_refused_before_parsing():
    from parsers.documents import ReaderLimits

    with pytest.raises(LimitExceeded, match="MB"):
        read_attachment(b"%PDF-1.4" + b"0" * 2_000_000, "big.pdf", profile=ANHUI,
                        certificates=(), limits=ReaderLimits(max_bytes=1_000_000))
