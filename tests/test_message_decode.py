"""Decoding real-world Chinese mail: every case of the corpus, the limits, hostile bytes."""

from __future__ import annotations

import base64
import importlib.util
import time
from datetime import datetime, timedelta, timezone
from email.parser import BytesParser

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.decision import ReasonCode
from domain.envelope import Envelope
from intake.archive import RAR, SEVEN_ZIP, ZIP, Limits, expand_zip, sniff
from intake.headers import decode_header_bytes
from intake.message import attachment_reasons, decode, synthetic_message_id
from testkit import eml_corpus as corpus

ARRIVED = datetime(2025, 3, 20, 2, 15, tzinfo=timezone.utc)


def _decode(raw: bytes, **kwargs) -> Envelope:
    return decode(raw, ARRIVED, **kwargs)


@pytest.mark.parametrize("case", sorted(corpus.CASES))
def test_corpus_case_decodes_subject_names_and_reply_policy(case):
    build, subject, names, no_reply = corpus.CASES[case]
    envelope = _decode(build())
    assert envelope.subject == subject
    assert tuple(a.filename for a in envelope.attachments) == names
    assert bool(envelope.auto_generated) is no_reply, envelope.auto_generated
    assert envelope.received_at == ARRIVED
    for item in envelope.attachments:  # a readable attachment always carries its bytes
        assert item.unreadable or item.data


def test_split_character_really_is_split_and_is_rejoined():
    header = corpus.split_header(corpus.SUBJECT, "utf-8", "B")
    first, second = header.split(b"\r\n ")
    for word in (first, second):
        data = base64.b64decode(word.split(b"?")[3])
        with pytest.raises(UnicodeDecodeError):
            data.decode("utf-8")  # each word alone holds half a character
    assert decode_header_bytes(header) == (corpus.SUBJECT, True)


def test_gb2312_label_on_gbk_only_characters_keeps_them():
    envelope = _decode(corpus.subject_gb2312_label_gbk_bytes())
    for char in "镕喆堃":
        assert char in envelope.subject
        assert char in envelope.sender_name
    assert "\ufffd" not in envelope.subject


def test_raw_gbk_headers_decode_as_gb18030():
    envelope = _decode(corpus.subject_raw_gbk())
    assert envelope.subject == corpus.SUBJECT
    assert envelope.sender_name == corpus.UNIT
    assert envelope.sender == corpus.SENDER


def test_mixed_plain_text_and_encoded_words_keep_their_spaces():
    header = b"Re: " + corpus.encode_header("安徽", "gbk") + b" " + corpus.encode_header("商贸", "utf-8", "Q") + b" +2025"
    assert decode_header_bytes(header)[0] == "Re: 安徽商贸 +2025"


def test_unknown_charset_label_falls_back_to_guessing():
    header = corpus.encoded_word("申报".encode("gbk"), "x-unknown-charset")
    assert decode_header_bytes(header)[0] == "申报"


def test_zip_with_gbk_entry_names_expands_in_memory_with_sniffed_types():
    envelope = _decode(corpus.zip_of_pdfs())
    assert [a.from_archive for a in envelope.attachments] == ["申报材料.zip", "申报材料.zip"]
    assert all(a.content_type == "application/pdf" for a in envelope.attachments)
    assert envelope.attachments[0].data == corpus.sample_pdf()
    assert envelope.attachments[1].data == corpus.sample_pdf("第2页")
    assert attachment_reasons(envelope) == ()


def test_nested_zip_one_level_is_opened():
    envelope = _decode(corpus.nested_zip())
    pdf, png = envelope.attachments
    assert (pdf.from_archive, pdf.content_type) == ("外层.zip/内层.zip", "application/pdf")
    assert (png.from_archive, png.content_type) == ("外层.zip", "image/png")


def test_zip_nested_two_levels_is_unreadable_with_a_clear_reason():
    (marker,) = _decode(corpus.zip_nested_too_deep()).attachments
    assert marker.data == b"" and "嵌套" in marker.unreadable
    (reason,) = attachment_reasons(_decode(corpus.zip_nested_too_deep()))
    assert reason.code is ReasonCode.ATTACHMENT_UNREADABLE
    assert reason.attachment == "三层.zip/第一层.zip"


def test_zip_bomb_is_refused_quickly_without_inflating_it():
    raw = corpus.zip_bomb_mail()
    started = time.perf_counter()
    envelope = _decode(raw)
    elapsed = time.perf_counter() - started
    (marker,) = envelope.attachments
    assert marker.data == b"" and "过大" in marker.unreadable
    assert elapsed < 3.0, elapsed


def test_zip_compression_ratio_limit():
    zeros = corpus.make_zip([("汇总表.pdf", b"%PDF-1.4\n" + bytes(8 * 1024 * 1024))])
    raw = corpus.submission(corpus.encode_header(corpus.SUBJECT), corpus.named(zeros, "application/zip", "a.zip"))
    (marker,) = _decode(raw).attachments
    assert "压缩比" in marker.unreadable
    relaxed = _decode(raw, limits=Limits(max_zip_ratio=10_000)).attachments
    assert relaxed[0].content_type == "application/pdf" and not relaxed[0].unreadable


def test_zip_entry_count_limit():
    many = corpus.make_zip([(f"第{i}页.png", corpus.sample_image("PNG")) for i in range(5)])
    raw = corpus.submission(corpus.encode_header(corpus.SUBJECT), corpus.named(many, "application/zip", "多页.zip"))
    assert len(_decode(raw).attachments) == 5
    (marker,) = _decode(raw, limits=Limits(max_zip_entries=3)).attachments
    assert "5 个文件" in marker.unreadable


def test_encrypted_zip_is_unreadable():
    data = bytearray(corpus.make_zip([("汇总表.pdf", corpus.sample_pdf())]))
    # zipfile cannot encrypt: set the "encrypted" flag bit the way a password tool would.
    data[data.index(b"PK\x03\x04") + 6] |= 0x1
    data[data.index(b"PK\x01\x02") + 8] |= 0x1
    raw = corpus.submission(corpus.encode_header(corpus.SUBJECT), corpus.named(bytes(data), "application/zip", "加密.zip"))
    (marker,) = _decode(raw).attachments
    assert "密码" in marker.unreadable


def test_corrupt_zip_is_unreadable():
    broken = corpus.make_zip([("汇总表.pdf", corpus.sample_pdf())])[:200]
    raw = corpus.submission(corpus.encode_header(corpus.SUBJECT), corpus.named(broken, "application/zip", "坏.zip"))
    (marker,) = _decode(raw).attachments
    assert marker.content_type == ZIP and "损坏" in marker.unreadable


@pytest.mark.parametrize(("build", "content_type", "word"), [
    (corpus.rar_mail, RAR, "RAR"), (corpus.seven_zip_mail, SEVEN_ZIP, "7z")])
def test_rar_and_7z_become_attachment_unreadable(build, content_type, word):
    envelope = _decode(build())
    (item,) = envelope.attachments
    assert item.content_type == content_type
    (reason,) = attachment_reasons(envelope)
    assert reason.code is ReasonCode.ATTACHMENT_UNREADABLE
    assert word in reason.detail and "ZIP" in reason.detail


def test_office_document_alone_is_unreadable_but_not_next_to_a_pdf():
    docx = corpus.make_zip([("[Content_Types].xml", b"<Types/>"), ("word/document.xml", b"<w/>")])
    alone = _decode(corpus.submission(corpus.encode_header(corpus.SUBJECT), corpus.named(docx, "application/octet-stream", "说明.docx")))
    (reason,) = attachment_reasons(alone)
    assert "Word/Excel" in reason.detail
    both = _decode(corpus.submission(
        corpus.encode_header(corpus.SUBJECT), corpus.named(docx, "application/octet-stream", "说明.docx"),
        corpus.named(corpus.sample_pdf(), "application/pdf", "汇总表.pdf")))
    assert [a.filename for a in both.attachments] == ["说明.docx", "汇总表.pdf"]
    assert attachment_reasons(both) == ()


def test_file_whose_bytes_match_no_known_type_says_it_may_be_damaged():
    raw = corpus.submission(corpus.encode_header(corpus.SUBJECT),
                            corpus.named(b"\x00garbage" * 10, "application/octet-stream", "汇总表.pdf"))
    (reason,) = attachment_reasons(_decode(raw))
    assert reason.attachment == "汇总表.pdf" and "损坏" in reason.detail


def test_missing_attachment_reason():
    (reason,) = attachment_reasons(_decode(corpus.no_attachment()))
    assert reason.code is ReasonCode.ATTACHMENT_MISSING


def test_declared_type_is_ignored_when_the_bytes_say_otherwise():
    (item,) = _decode(corpus.name_qq_gb18030()).attachments  # sent as application/octet-stream
    assert item.content_type == "image/jpeg"


def test_inline_image_counts_only_without_a_real_attachment():
    (photo,) = _decode(corpus.inline_image_only()).attachments
    assert photo.inline and photo.content_type == "image/jpeg"
    (pdf,) = _decode(corpus.inline_image_and_pdf()).attachments
    assert not pdf.inline and pdf.filename == "汇总表.pdf"


def test_attachment_count_and_size_limits_mark_the_excess_unreadable():
    raw = corpus.images_bmp_tiff()
    first, second = _decode(raw, limits=Limits(max_attachments=1)).attachments
    assert not first.unreadable and first.data
    assert second.data == b"" and "超过 1 个" in second.unreadable
    small = _decode(raw, limits=Limits(max_attachment_bytes=1000)).attachments
    assert all(a.data == b"" and "上限" in a.unreadable for a in small)


def test_missing_message_id_gets_a_stable_synthetic_one():
    raw = corpus.no_message_id()
    first, second = _decode(raw), _decode(raw)
    assert first.message_id == second.message_id == synthetic_message_id(raw)
    assert first.message_id.startswith("<") and first.message_id.endswith(">")
    assert _decode(raw + b"\r\n").message_id != first.message_id


def test_message_ids_must_be_printable_ascii():
    raw = corpus.build(subject=corpus.encode_header(corpus.SUBJECT), message_id="<申报@学校>".encode("gbk"),
                       headers=((b"References", b"<ok@a.cn> <\xd5\xe2@b> " + b"<" + b"x" * 300 + b"@c>"),))
    envelope = _decode(raw)
    assert envelope.message_id == synthetic_message_id(raw)
    assert envelope.references == ("<ok@a.cn>",)
    assert _decode(corpus.build(subject=b"x", message_id=b"bare.id@host.cn")).message_id == "<bare.id@host.cn>"


def test_threading_headers_reply_to_and_authentication_results():
    raw = corpus.build(subject=corpus.encode_header(corpus.SUBJECT), headers=(
        (b"In-Reply-To", b"<prev@126.com>"),
        (b"Reply-To", corpus.encode_header("张老师") + b" <ZHANG@ahbvc.edu.cn>"),
        (b"Authentication-Results", b"mx.126.com; spf=pass smtp.mailfrom=ahbvc.edu.cn; dkim=fail"),
    ))
    envelope = _decode(raw)
    assert envelope.references == ("<prev@126.com>",)
    assert envelope.reply_to == "zhang@ahbvc.edu.cn"
    assert "dkim=fail" in envelope.authentication_results
    assert envelope.message_id == "<case-0001@ahbvc.edu.cn>"
    assert envelope.body_text == "您好，附件是我校申报材料，请查收。"


def test_gbk_body_text_is_decoded():
    raw = corpus.build(subject=corpus.encode_header(corpus.SUBJECT), body="请查收朱镕基", body_charset="gbk")
    assert _decode(raw).body_text == "请查收朱镕基"


def test_header_injection_in_an_encoded_word_is_flattened():
    raw = corpus.build(subject=corpus.encode_header("申报\r\nBcc: evil@example.com"))
    assert "\n" not in _decode(raw).subject and "\r" not in _decode(raw).subject


def test_naive_received_at_is_a_caller_error():
    with pytest.raises(ValueError, match="timezone-aware"):
        decode(corpus.subject_utf8_b(), datetime(2025, 3, 20, 10, 15))


def test_received_at_keeps_the_internaldate_not_the_date_header():
    arrived = datetime(2025, 4, 11, 0, 5, tzinfo=timezone(timedelta(hours=8)))
    assert decode(corpus.subject_utf8_b(), arrived).received_at == arrived


def test_heic_is_readable_only_where_a_library_can_read_it():
    heic = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(64)
    raw = corpus.submission(corpus.encode_header(corpus.SUBJECT), corpus.named(heic, "image/heic", "IMG_0001.HEIC"))
    (item,) = _decode(raw).attachments
    assert item.content_type == "image/heic"
    if importlib.util.find_spec("pillow_heif") is None:
        assert "HEIC" in item.unreadable and "JPG" in item.unreadable
    else:
        assert item.unreadable == ""


def test_eight_bit_bytes_in_charset_labels_do_not_break_decoding():
    # Found by fuzzing: 8-bit bytes inside an RFC 2231 charset and a text part's charset.
    raw = corpus.submission(corpus.encode_header(corpus.SUBJECT), corpus.attachment(
        corpus.sample_pdf(), "application/pdf", filename_params=b"filename*=gb\xd5k''%BB%E3.pdf"))
    (item,) = _decode(raw).attachments
    assert item.content_type == "application/pdf" and item.data == corpus.sample_pdf()
    raw = corpus.build(subject=corpus.encode_header(corpus.SUBJECT), body="申报").replace(
        b"charset=utf-8", b"charset=ut\xf0f-8")
    assert _decode(raw).body_text == "申报"


# --- hostile input -------------------------------------------------------------------

_FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_FUZZ
@given(st.binary(max_size=4000))
def test_any_bytes_yield_an_envelope(raw):
    envelope = _decode(raw)
    assert isinstance(envelope, Envelope)
    assert envelope.message_id.startswith("<")


_SEEDS = [corpus.name_rfc2231_gbk_continuations(), corpus.zip_of_pdfs(), corpus.subject_raw_gbk(),
          corpus.inline_image_and_pdf(), corpus.bounce()]


@_FUZZ
@given(st.sampled_from(_SEEDS), st.lists(st.tuples(st.integers(0, 10**6), st.binary(max_size=8)), max_size=6),
       st.integers(0, 10**6))
def test_mutated_real_messages_yield_an_envelope(seed, edits, cut):
    raw = bytearray(seed)
    for position, junk in edits:
        position %= max(len(raw), 1)
        raw[position : position + len(junk)] = junk
    raw = bytes(raw[: len(raw) - cut % 200])
    envelope = _decode(raw)
    assert isinstance(envelope, Envelope)
    assert all(isinstance(a.data, bytes) for a in envelope.attachments)


@_FUZZ
@given(st.lists(st.one_of(
    st.binary(max_size=20),
    st.builds(lambda c, e, p: b"=?" + c + b"?" + e + b"?" + p + b"?=",
              st.sampled_from([b"gb2312", b"GBK", b"utf-8", b"x-bogus", b"utf-8*zh", b"\xd5\xe2", b""]),
              st.sampled_from([b"B", b"q", b"X"]), st.binary(max_size=30)),
    st.sampled_from([b"\r\n ", b" ", b"\t"])), max_size=12))
def test_any_header_bytes_decode_to_one_clean_line(pieces):
    text, _ = decode_header_bytes(b"".join(pieces))
    assert isinstance(text, str)
    assert not any(ch in text for ch in "\r\n\x00")


_TEXT = st.text(
    alphabet=st.characters(categories=["Lo", "Lu", "Ll", "Nd"], max_codepoint=0x9FFF) | st.sampled_from("+＋（）：镕喆堃"),
    min_size=1, max_size=40,
)


@_FUZZ
@given(_TEXT, st.sampled_from(["utf-8", "gb18030"]), st.sampled_from(["B", "Q"]), st.integers(0, 200))
def test_encoded_words_round_trip_at_any_byte_split(text, charset, encoding, cut):
    data = text.encode(charset)
    cut = cut % (len(data) + 1)
    header = corpus.split_header(text, charset, encoding, cut=cut) if 0 < cut < len(data) else \
        corpus.encode_header(text, charset, encoding)
    assert decode_header_bytes(header) == (text, True)


# --- too many MIME parts: refused before parsing -----------------------------------------------

def _multipart(body_parts: bytes, boundary: bytes = b"b", header: bytes = b"boundary") -> bytes:
    head = corpus.build(subject=corpus.encode_header(corpus.SUBJECT)).split(b"Content-Type:")[0]
    return head + b"Content-Type: multipart/mixed; " + header + b'="' + boundary + b'"\r\n\r\n' + body_parts


def _tiny_parts(count: int, boundary: bytes = b"b") -> bytes:
    part = b"--" + boundary + b"\r\nContent-Type: text/plain\r\n\r\nx\r\n"
    return part * count + b"--" + boundary + b"--\r\n"


def test_mail_with_more_mime_parts_than_the_limit_is_refused_with_one_reason():
    import tracemalloc

    raw = _multipart(_tiny_parts(200_000))  # 9 MB; parsed, it would take ~400 MB
    tracemalloc.start()
    started = time.perf_counter()
    envelope = _decode(raw)
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert elapsed < 2.0 and peak < 60 * 1024 * 1024, (elapsed, peak)
    assert envelope.subject == corpus.SUBJECT and envelope.sender == corpus.SENDER  # a reply can go out
    (placeholder,) = envelope.attachments
    assert placeholder.data == b"" and placeholder.unreadable == envelope.refused
    (reason,) = attachment_reasons(envelope)
    assert reason.code is ReasonCode.ATTACHMENT_UNREADABLE and reason.attachment == ""
    assert "超过 500 个" in reason.detail and "重新发送" in reason.detail


def test_part_limit_counts_like_the_walk_and_ignores_case_of_the_parameter():
    limits = Limits(max_parts=10)
    assert not _decode(_multipart(_tiny_parts(9)), limits=limits).refused  # root + 9 parts
    assert _decode(_multipart(_tiny_parts(10)), limits=limits).refused
    # BOUNDARY= is the same parameter to the parser: it must not slip past the count.
    assert _decode(_multipart(_tiny_parts(10, b"Xy"), b"Xy", b"BOUNDARY"), limits=limits).refused
    # A line that merely starts with "--" is no part.
    text = b"--b\r\nContent-Type: text/plain\r\n\r\n" + b"-- signature\r\n" * 50 + b"--b--\r\n"
    assert not _decode(_multipart(text), limits=limits).refused


def test_deeply_nested_multipart_gets_a_reason_instead_of_a_recursion_error():
    depth = 10_000
    opening = b"".join(b'--n%d\r\nContent-Type: multipart/mixed; boundary="n%d"\r\n\r\n' % (i, i + 1)
                       for i in range(depth))
    closing = b"".join(b"--n%d--\r\n" % i for i in range(depth, -1, -1))
    envelope = _decode(_multipart(opening + b"--n%d\r\n\r\nx\r\n" % depth + closing, b"n0"))
    assert envelope.sender == corpus.SENDER and not envelope.auto_generated
    assert "嵌套" in envelope.refused
    # Nesting within the limit is parsed as before (the root and 400 levels: 402 parts).
    shallow = 400
    opening = b"".join(b'--n%d\r\nContent-Type: multipart/mixed; boundary="n%d"\r\n\r\n' % (i, i + 1)
                       for i in range(shallow))
    inner = (b"--n%d\r\nContent-Type: application/pdf; name=a.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n"
             % shallow + base64.b64encode(corpus.sample_pdf()) + b"\r\n")
    closing = b"".join(b"--n%d--\r\n" % i for i in range(shallow, -1, -1))
    envelope = _decode(_multipart(opening + inner + closing, b"n0"))
    assert not envelope.refused and [a.content_type for a in envelope.attachments] == ["application/pdf"]


def test_a_huge_header_line_is_cut_before_it_is_decoded():
    words = b" =?utf-8?B?" + base64.b64encode("申报材料".encode()) + b"?="
    long = words * (4 * 1024 * 1024 // len(words))  # 4 MB on one line
    raw = corpus.build(subject=corpus.encode_header(corpus.SUBJECT) + long,
                       sender_name=corpus.encode_header("教务处") + long)
    started = time.perf_counter()
    envelope = _decode(raw)
    assert time.perf_counter() - started < 3.0  # the stdlib address parser alone took 8 s per 20 MB
    assert envelope.sender == corpus.SENDER
    assert envelope.subject.startswith(corpus.SUBJECT) and len(envelope.subject) < 20_000


def test_zip_with_hundreds_of_thousands_of_entries_is_refused_before_it_is_opened():
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for i in range(100_000):
            archive.writestr(zipfile.ZipInfo(f"p{i}.pdf", (2025, 3, 20, 10, 0, 0)), b"")
    data = buffer.getvalue()
    started = time.perf_counter()  # zipfile alone spends seconds on this directory
    assert sniff(data) == ZIP
    (marker,) = expand_zip(data, "申报材料.zip", Limits())
    assert time.perf_counter() - started < 0.5
    assert marker.data == b"" and "超过上限 50 个" in marker.unreadable
    raw = corpus.submission(corpus.encode_header(corpus.SUBJECT), corpus.named(data, "application/zip", "申报材料.zip"))
    assert _decode(raw).attachments == (marker,)
    # Under the pre-check, the exact count after dropping macOS junk still decides.
    files = [(f"第{i}页.png", corpus.sample_image("PNG")) for i in range(60)]
    junk = [(f"__MACOSX/._第{i}页.png", b"\0" * 8) for i in range(60)]
    raw = corpus.submission(corpus.encode_header(corpus.SUBJECT),
                            corpus.named(corpus.make_zip(files + junk), "application/zip", "多页.zip"))
    (marker,) = _decode(raw).attachments
    assert "60 个文件" in marker.unreadable


def test_part_count_cannot_be_dodged_with_bare_cr_lines_or_rfc2231_boundaries():
    limits = Limits(max_parts=10)
    bare_cr = _multipart(_tiny_parts(10).replace(b"\r\n", b"\r"))
    assert len(list(BytesParser().parsebytes(bare_cr).walk())) == 11  # the parser does split them
    assert _decode(bare_cr, limits=limits).refused
    head = corpus.build(subject=corpus.encode_header(corpus.SUBJECT)).split(b"Content-Type:")[0]
    pieces = head + b"Content-Type: multipart/mixed;\r\n boundary*0=\"b\"; boundary*1=\"c\"\r\n\r\n"
    assert _decode(pieces + _tiny_parts(10, b"bc"), limits=limits).refused
    assert not _decode(pieces + _tiny_parts(5, b"bc"), limits=limits).refused


def test_only_the_start_of_a_huge_text_body_is_decoded():
    html = ("<p>您好😀</p>" + "<td>附件为我校申报材料 &amp; 汇总表</td>" * 200_000).encode()
    raw = corpus.build(subject=corpus.encode_header(corpus.SUBJECT),
                       content_type=b"multipart/alternative", parts=[corpus.attachment(html, "text/html; charset=utf-8",
                                                                                       disposition="")])
    envelope = _decode(raw)
    assert envelope.body_text == "您好，附件是我校申报材料，请查收。"  # the text/plain part wins
    only_html = _decode(raw.replace(b"text/plain", b"text/x-other"))
    assert only_html.body_text.startswith("您好😀") and len(only_html.body_text) <= 20_000
