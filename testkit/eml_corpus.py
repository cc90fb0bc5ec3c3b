"""A corpus of raw mail messages as Chinese mail clients really send them.

Every builder is a plain function returning ``bytes`` (RFC 5322, CRLF), so the
decoder tests use them directly and the integration tests can APPEND them to a
real Dovecot. Headers are written byte by byte on purpose: the point is to
reproduce what the stdlib would never generate (split characters, raw GBK, a
gb2312 label on GBK-only characters, names in quotes as encoded-words).

``CASES`` maps a case name to (builder, expected decoded subject, expected
attachment names, expected auto_generated truthiness).

Long because it is a catalogue: one short builder per case, each next to its expectation.
"""

from __future__ import annotations

import base64
import functools
import io
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass

CRLF = b"\r\n"
UNIT = "安徽商贸职业技术学院"
SUBJECT = f"{UNIT}+2025年证书申报"
INCREASE_SUBJECT = f"{UNIT}+2025年证书指标调增申请"
SENDER = "jwc@ahbvc.edu.cn"
OFFICE = "ahxzsbg@126.com"
# Characters outside GB2312 but inside GBK: clients still label them gb2312.
GBK_ONLY = "朱镕基 王喆 李堃"


# --- payloads ---------------------------------------------------------------------------

@functools.lru_cache(maxsize=32)
def sample_pdf(text: str = "申报学校汇总表") -> bytes:
    """A small, valid, deterministic one-page PDF with Chinese text (reportlab)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, invariant=1)
    page.setFont("STSong-Light", 18)
    page.drawString(72, 760, text)
    page.showPage()
    page.save()
    return buffer.getvalue()


def sample_image(fmt: str = "PNG", size: tuple[int, int] = (64, 48)) -> bytes:
    """A small real image (PNG, JPEG, BMP or TIFF) made with Pillow."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, (250, 250, 250)).save(buffer, format=fmt)
    return buffer.getvalue()


class _GbkNamedInfo(zipfile.ZipInfo):
    """Writes the entry name as GBK without the UTF-8 flag, as Windows' built-in ZIP does."""

    def _encodeFilenameFlags(self):  # noqa: N802 - zipfile hook
        return self.filename.encode("gbk"), self.flag_bits


def make_zip(files: Sequence[tuple[str, bytes]], *, utf8_names: bool = True) -> bytes:
    """A ZIP of ``files``; ``utf8_names=False`` writes GBK names the way Windows does."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files:
            info_class = zipfile.ZipInfo if utf8_names else _GbkNamedInfo
            info = info_class(name, date_time=(2025, 3, 20, 10, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue()


@functools.lru_cache(maxsize=4)
def zip_bomb(size: int = 128 * 1024 * 1024) -> bytes:
    """A ZIP whose single entry inflates to ``size`` bytes of zeros (~130 KB compressed)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        info = zipfile.ZipInfo("汇总表.pdf", (2025, 3, 20, 10, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        with archive.open(info, "w") as entry:
            chunk = b"\0" * (1024 * 1024)
            for _ in range(size // len(chunk)):
                entry.write(chunk)
    return buffer.getvalue()


RAR_BYTES = b"Rar!\x1a\x07\x01\x00" + bytes(64)  # RAR 5 signature and padding
SEVEN_ZIP_BYTES = b"7z\xbc\xaf\x27\x1c\x00\x04" + bytes(64)


# --- header encoders ---------------------------------------------------------------------

def encoded_word(data: bytes, charset: str, encoding: str = "B") -> bytes:
    if encoding.upper() == "B":
        text = base64.b64encode(data)
    else:
        text = b"".join(
            bytes([c]) if (48 <= c <= 57 or 65 <= c <= 90 or 97 <= c <= 122) else b"=%02X" % c
            for c in data
        )
    return b"=?" + charset.encode() + b"?" + encoding.upper().encode() + b"?" + text + b"?="


def encode_header(text: str, charset: str = "utf-8", encoding: str = "B", *, codec: str | None = None) -> bytes:
    """One encoded-word for ``text`` (``codec`` encodes, ``charset`` labels: they may differ)."""
    return encoded_word(text.encode(codec or charset), charset, encoding)


def split_header(text: str, charset: str, encoding: str = "B", *, cut: int | None = None) -> bytes:
    """Two encoded-words on folded lines, cut at byte ``cut`` (default: inside a character)."""
    data = text.encode(charset)
    if cut is None:  # one byte into the first multi-byte character from the middle on
        middle = len(text) // 2
        index = next((i for i in range(middle, len(text)) if len(text[i].encode(charset)) > 1), middle)
        cut = len(text[:index].encode(charset)) + 1
    return encoded_word(data[:cut], charset, encoding) + CRLF + b" " + encoded_word(data[cut:], charset, encoding)


def rfc2231(param: str, text: str, charset: str = "utf-8", *, pieces: int = 1) -> bytes:
    """``param*=charset''%XX…`` (or continuations ``param*0*=…`` when ``pieces`` > 1)."""
    quoted = "".join(f"%{b:02X}" for b in text.encode(charset))
    if pieces == 1:
        return f"{param}*={charset}''{quoted}".encode()
    step = -(-len(quoted) // pieces)
    step += (3 - step % 3) % 3  # never cut inside a %XX triplet
    chunks = [quoted[i : i + step] for i in range(0, len(quoted), step)]
    parts = [f"{param}*0*={charset}''{chunks[0]}"] + [f"{param}*{i}*={c}" for i, c in enumerate(chunks[1:], 1)]
    return (";" + "\r\n ").join(parts).encode()


# --- message assembly --------------------------------------------------------------------

@dataclass(frozen=True)
class Part:
    content_type: bytes  # full Content-Type header value, parameters included
    data: bytes
    disposition: bytes | None = None  # full Content-Disposition value, or None
    content_id: bytes | None = None


def attachment(data: bytes, content_type: str, *, name_params: bytes = b"", filename_params: bytes = b"",
               disposition: str = "attachment", content_id: str | None = None) -> Part:
    ct = content_type.encode() + ((b";\r\n " + name_params) if name_params else b"")
    cd = None
    if disposition:
        cd = disposition.encode() + ((b";\r\n " + filename_params) if filename_params else b"")
    return Part(ct, data, cd, content_id.encode() if content_id else None)


def named(data: bytes, content_type: str, name: str) -> Part:
    """An attachment named the way the stdlib and most clients do it (RFC 2231 UTF-8)."""
    return attachment(data, content_type, name_params=rfc2231("name", name),
                      filename_params=rfc2231("filename", name))


def _base64_lines(data: bytes) -> bytes:
    text = base64.b64encode(data)
    return CRLF.join(text[i : i + 76] for i in range(0, len(text), 76))


def build(
    *,
    subject: bytes,
    sender: bytes = SENDER.encode(),
    sender_name: bytes = encode_header("教务处", "utf-8"),
    to: bytes = OFFICE.encode(),
    message_id: bytes | None = b"<case-0001@ahbvc.edu.cn>",
    body: str = "您好，附件是我校申报材料，请查收。",
    body_charset: str = "utf-8",
    parts: Sequence[Part] = (),
    headers: Sequence[tuple[bytes, bytes]] = (),
    content_type: bytes | None = None,
) -> bytes:
    """A complete message: headers as given (already encoded), a text body, then parts."""
    lines = [
        b"From: " + (sender_name + b" " if sender_name else b"") + b"<" + sender + b">",
        b"To: " + to,
        b"Subject: " + subject,
        b"Date: Thu, 20 Mar 2025 10:15:00 +0800",
        b"MIME-Version: 1.0",
    ]
    if message_id is not None:
        lines.append(b"Message-ID: " + message_id)
    lines += [name + b": " + value for name, value in headers]
    text_part = (
        b"Content-Type: text/plain; charset=" + body_charset.encode() + CRLF
        + b"Content-Transfer-Encoding: base64" + CRLF + CRLF + _base64_lines(body.encode(body_charset))
    )
    if not parts and content_type is None:
        return CRLF.join(lines) + CRLF + text_part + CRLF
    boundary = b"----=_Part_1742436900_7f3a"
    lines.append(b"Content-Type: " + (content_type or b"multipart/mixed") + b";\r\n boundary=\"" + boundary + b"\"")
    out = [CRLF.join(lines) + CRLF + CRLF, b"This is a multi-part message in MIME format." + CRLF]
    out.append(b"--" + boundary + CRLF + text_part + CRLF)
    for part in parts:
        head = [b"Content-Type: " + part.content_type, b"Content-Transfer-Encoding: base64"]
        if part.disposition is not None:
            head.append(b"Content-Disposition: " + part.disposition)
        if part.content_id is not None:
            head.append(b"Content-ID: " + part.content_id)
        out.append(b"--" + boundary + CRLF + CRLF.join(head) + CRLF + CRLF + _base64_lines(part.data) + CRLF)
    out.append(b"--" + boundary + b"--" + CRLF)
    return b"".join(out)


def submission(subject_header: bytes, *parts: Part, **kwargs) -> bytes:
    return build(subject=subject_header, parts=parts or (named(sample_pdf(), "application/pdf", "汇总表.pdf"),),
                 **kwargs)


# --- the cases ----------------------------------------------------------------------------

def subject_utf8_b() -> bytes:
    return submission(encode_header(SUBJECT, "utf-8", "B"))


def subject_utf8_q() -> bytes:
    return submission(encode_header(SUBJECT, "utf-8", "Q"))


def subject_gb2312_b() -> bytes:
    return submission(encode_header(SUBJECT, "gb2312", "B"))


def subject_gb2312_q() -> bytes:
    return submission(encode_header(SUBJECT, "gb2312", "Q"))


def subject_gbk_b() -> bytes:
    return submission(encode_header(SUBJECT, "gbk", "B"))


def subject_gbk_q() -> bytes:
    return submission(encode_header(SUBJECT, "gbk", "Q"))


def subject_gb18030_b() -> bytes:
    return submission(encode_header(SUBJECT, "gb18030", "B"))


def subject_gb18030_q() -> bytes:
    return submission(encode_header(SUBJECT, "GB18030", "Q"))


def subject_split_utf8() -> bytes:
    """UTF-8 subject folded over two encoded-words with one character's bytes split between them."""
    return submission(split_header(SUBJECT, "utf-8", "B"))


def subject_split_gbk_q() -> bytes:
    return submission(split_header(SUBJECT, "gbk", "Q"))


def subject_raw_gbk() -> bytes:
    """Subject written as raw 8-bit GBK bytes, no encoded-word at all (old Foxmail, scanners)."""
    return submission(SUBJECT.encode("gbk"), sender_name=UNIT.encode("gbk"))


def subject_raw_utf8() -> bytes:
    return submission(SUBJECT.encode("utf-8"))


def subject_gb2312_label_gbk_bytes() -> bytes:
    """gb2312 label, GBK-only characters (镕 喆 堃) in subject and sender name."""
    text = f"{UNIT}+2025年证书申报（联系人{GBK_ONLY}）"
    return submission(encode_header(text, "gb2312", "B", codec="gbk"),
                      sender_name=encode_header(GBK_ONLY, "gb2312", "B", codec="gbk"))


def subject_fullwidth_reply() -> bytes:
    return submission(encode_header(f"回复：Re: {UNIT} ＋ ２０２５年证书申报", "utf-8"))


def name_rfc2231() -> bytes:
    return submission(encode_header(SUBJECT), named(sample_pdf(), "application/pdf", "安徽商贸职业技术学院汇总表.pdf"))


def name_rfc2231_gbk_continuations() -> bytes:
    name = "安徽商贸职业技术学院2025年证书申报汇总表（盖章）.pdf"
    return submission(encode_header(SUBJECT), attachment(
        sample_pdf(), "application/octet-stream",
        filename_params=rfc2231("filename", name, "gbk", pieces=3)))


def name_rfc2047_in_quotes() -> bytes:
    """Outlook/Foxmail style: ``filename="=?utf-8?B?…?="`` (not allowed by the RFC, sent anyway)."""
    word = encode_header("汇总表（盖章）.pdf", "utf-8").decode()
    return submission(encode_header(SUBJECT), attachment(
        sample_pdf(), "application/pdf", name_params=f'name="{word}"'.encode(),
        filename_params=f'filename="{word}"'.encode()))


def name_only_in_content_type() -> bytes:
    word = encode_header("调增申请表.pdf", "gb2312", "B").decode()
    return submission(encode_header(INCREASE_SUBJECT), attachment(
        sample_pdf("指标调增申请表"), "application/pdf", name_params=f'name="{word}"'.encode(),
        disposition=""))


def name_qq_gb18030() -> bytes:
    """QQ Mail: ``filename="=?gb18030?B?…?="`` and a JPEG scan."""
    word = encode_header("扫描件_汇总表.jpg", "gb18030", "B").decode()
    return submission(encode_header(SUBJECT, "gb18030"), attachment(
        sample_image("JPEG"), "application/octet-stream", name_params=f'name="{word}"'.encode(),
        filename_params=f'filename="{word}"'.encode()))


def name_raw_gbk() -> bytes:
    return submission(encode_header(SUBJECT), attachment(
        sample_image("PNG"), "image/png", name_params=b'name="' + "汇总表.png".encode("gbk") + b'"',
        filename_params=b'filename="' + "汇总表.png".encode("gbk") + b'"'))


def name_split_encoded_words() -> bytes:
    """A file name as two encoded-words in quotes, a character split across them."""
    words = split_header("汇总表（盖章）.pdf", "utf-8", "B").replace(CRLF + b" ", b" ")
    return submission(encode_header(SUBJECT), attachment(
        sample_pdf(), "application/pdf", filename_params=b'filename="' + words + b'"'))


def images_bmp_tiff() -> bytes:
    return submission(encode_header(SUBJECT), named(sample_image("BMP"), "image/bmp", "第1页.bmp"),
                      named(sample_image("TIFF"), "image/tiff", "第2页.tif"))


def zip_of_pdfs() -> bytes:
    data = make_zip([("申报材料/汇总表.pdf", sample_pdf()), ("申报材料/汇总表第2页.pdf", sample_pdf("第2页"))],
                    utf8_names=False)
    return submission(encode_header(SUBJECT), named(data, "application/x-zip-compressed", "申报材料.zip"))


def nested_zip() -> bytes:
    inner = make_zip([("汇总表.pdf", sample_pdf())])
    outer = make_zip([("内层.zip", inner), ("扫描.png", sample_image("PNG"))])
    return submission(encode_header(SUBJECT), named(outer, "application/zip", "外层.zip"))


def zip_nested_too_deep() -> bytes:
    deepest = make_zip([("汇总表.pdf", sample_pdf())])
    middle = make_zip([("第二层.zip", deepest)])
    outer = make_zip([("第一层.zip", middle)])
    return submission(encode_header(SUBJECT), named(outer, "application/zip", "三层.zip"))


def zip_bomb_mail() -> bytes:
    return submission(encode_header(SUBJECT), named(zip_bomb(), "application/zip", "汇总表.zip"))


def rar_mail() -> bytes:
    return submission(encode_header(SUBJECT), named(RAR_BYTES, "application/octet-stream", "申报材料.rar"))


def seven_zip_mail() -> bytes:
    return submission(encode_header(SUBJECT), named(SEVEN_ZIP_BYTES, "application/x-7z-compressed", "申报材料.7z"))


def inline_image_only() -> bytes:
    """A phone photo pasted into the body: only an inline image, no attachment."""
    return build(subject=encode_header(SUBJECT), content_type=b"multipart/related", parts=(
        attachment(sample_image("JPEG"), "image/jpeg", disposition="inline", content_id="<img1@ahbvc>"),))


def inline_image_and_pdf() -> bytes:
    """A signature logo inline plus the real PDF: the logo must not count."""
    return submission(encode_header(SUBJECT),
                      attachment(sample_image("PNG"), "image/png", disposition="inline", content_id="<logo@ahbvc>"),
                      named(sample_pdf(), "application/pdf", "汇总表.pdf"))


def no_message_id() -> bytes:
    return submission(encode_header(SUBJECT), message_id=None)


def no_attachment() -> bytes:
    return build(subject=encode_header(SUBJECT))


def auto_reply() -> bytes:
    return build(subject=encode_header(f"自动回复: {SUBJECT}"), headers=((b"Auto-Submitted", b"auto-replied"),),
                 body="您好，我已休假，将于下周一回复。")


def auto_reply_x_header() -> bytes:
    return build(subject=encode_header("Re: 关于证书申报"), headers=((b"X-Autoreply", b"yes"),))


def auto_reply_subject_only() -> bytes:
    return build(subject=encode_header("自动回复：您的邮件已收到"))


def bounce() -> bytes:
    """A NetEase-style delivery report for one of our own replies."""
    report = Part(b"message/delivery-status", b"Reporting-MTA: dns; 126.com\r\nAction: failed\r\nStatus: 5.1.1\r\n")
    return build(subject=encode_header("系统退信"), sender=b"postmaster@126.com", sender_name=b"",
                 content_type=b"multipart/report; report-type=delivery-status", parts=(report,),
                 body="抱歉，您的邮件被退回。")


def bounce_plain() -> bytes:
    """A plain-text bounce (no multipart/report) from a school's own server."""
    return build(subject=encode_header("Undelivered Mail Returned to Sender"), sender=b"MAILER-DAEMON@mx.ahbvc.edu.cn",
                 sender_name=b"", body=f"This is the mail system. 回复：{SUBJECT}")


def not_auto_submitted() -> bytes:
    """``Auto-Submitted: no`` is an ordinary message (RFC 3834)."""
    return submission(encode_header(SUBJECT), headers=((b"Auto-Submitted", b"no"),))


def mailing_list() -> bytes:
    return build(subject=encode_header("【通知】职业教育周刊第12期"),
                 headers=((b"List-Id", b"<weekly.example.org>"), (b"Precedence", b"bulk")))


def newsletter_precedence() -> bytes:
    return build(subject=encode_header("证书申报培训通知"), headers=((b"Precedence", b"list"),))


def not_a_submission() -> bytes:
    return build(subject=encode_header("你好"), body="请问贵办地址在哪里？")


CaseBuilder = Callable[[], bytes]
# name -> (builder, decoded subject, attachment file names in order, no-reply expected)
CASES: dict[str, tuple[CaseBuilder, str, tuple[str, ...], bool]] = {
    "subject_utf8_b": (subject_utf8_b, SUBJECT, ("汇总表.pdf",), False),
    "subject_utf8_q": (subject_utf8_q, SUBJECT, ("汇总表.pdf",), False),
    "subject_gb2312_b": (subject_gb2312_b, SUBJECT, ("汇总表.pdf",), False),
    "subject_gb2312_q": (subject_gb2312_q, SUBJECT, ("汇总表.pdf",), False),
    "subject_gbk_b": (subject_gbk_b, SUBJECT, ("汇总表.pdf",), False),
    "subject_gbk_q": (subject_gbk_q, SUBJECT, ("汇总表.pdf",), False),
    "subject_gb18030_b": (subject_gb18030_b, SUBJECT, ("汇总表.pdf",), False),
    "subject_gb18030_q": (subject_gb18030_q, SUBJECT, ("汇总表.pdf",), False),
    "subject_split_utf8": (subject_split_utf8, SUBJECT, ("汇总表.pdf",), False),
    "subject_split_gbk_q": (subject_split_gbk_q, SUBJECT, ("汇总表.pdf",), False),
    "subject_raw_gbk": (subject_raw_gbk, SUBJECT, ("汇总表.pdf",), False),
    "subject_raw_utf8": (subject_raw_utf8, SUBJECT, ("汇总表.pdf",), False),
    "subject_gb2312_label_gbk_bytes": (
        subject_gb2312_label_gbk_bytes, f"{UNIT}+2025年证书申报（联系人{GBK_ONLY}）", ("汇总表.pdf",), False),
    "subject_fullwidth_reply": (subject_fullwidth_reply, f"回复：Re: {UNIT} ＋ ２０２５年证书申报", ("汇总表.pdf",), False),
    "name_rfc2231": (name_rfc2231, SUBJECT, ("安徽商贸职业技术学院汇总表.pdf",), False),
    "name_rfc2231_gbk_continuations": (
        name_rfc2231_gbk_continuations, SUBJECT, ("安徽商贸职业技术学院2025年证书申报汇总表（盖章）.pdf",), False),
    "name_rfc2047_in_quotes": (name_rfc2047_in_quotes, SUBJECT, ("汇总表（盖章）.pdf",), False),
    "name_only_in_content_type": (name_only_in_content_type, INCREASE_SUBJECT, ("调增申请表.pdf",), False),
    "name_qq_gb18030": (name_qq_gb18030, SUBJECT, ("扫描件_汇总表.jpg",), False),
    "name_raw_gbk": (name_raw_gbk, SUBJECT, ("汇总表.png",), False),
    "name_split_encoded_words": (name_split_encoded_words, SUBJECT, ("汇总表（盖章）.pdf",), False),
    "images_bmp_tiff": (images_bmp_tiff, SUBJECT, ("第1页.bmp", "第2页.tif"), False),
    "zip_of_pdfs": (zip_of_pdfs, SUBJECT, ("汇总表.pdf", "汇总表第2页.pdf"), False),
    "nested_zip": (nested_zip, SUBJECT, ("汇总表.pdf", "扫描.png"), False),
    "zip_nested_too_deep": (zip_nested_too_deep, SUBJECT, ("第一层.zip",), False),
    "zip_bomb": (zip_bomb_mail, SUBJECT, ("汇总表.zip",), False),
    "rar": (rar_mail, SUBJECT, ("申报材料.rar",), False),
    "seven_zip": (seven_zip_mail, SUBJECT, ("申报材料.7z",), False),
    "inline_image_only": (inline_image_only, SUBJECT, ("未命名附件1.jpg",), False),
    "inline_image_and_pdf": (inline_image_and_pdf, SUBJECT, ("汇总表.pdf",), False),
    "no_message_id": (no_message_id, SUBJECT, ("汇总表.pdf",), False),
    "no_attachment": (no_attachment, SUBJECT, (), False),
    "auto_reply": (auto_reply, f"自动回复: {SUBJECT}", (), True),
    "auto_reply_x_header": (auto_reply_x_header, "Re: 关于证书申报", (), True),
    "auto_reply_subject_only": (auto_reply_subject_only, "自动回复：您的邮件已收到", (), True),
    "bounce": (bounce, "系统退信", (), True),
    "bounce_plain": (bounce_plain, "Undelivered Mail Returned to Sender", (), True),
    "not_auto_submitted": (not_auto_submitted, SUBJECT, ("汇总表.pdf",), False),
    "mailing_list": (mailing_list, "【通知】职业教育周刊第12期", (), True),
    "newsletter_precedence": (newsletter_precedence, "证书申报培训通知", (), True),
    "not_a_submission": (not_a_submission, "你好", (), False),
}
