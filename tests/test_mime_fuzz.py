"""Random MIME trees through the worker's own path: store → decode → read → decide → reply.

Hypothesis builds messages the way mail clients (and attackers) do: nested multiparts,
forwarded messages, ZIPs, PDFs and images — some real, some junk — every transfer
encoding, GBK and UTF-8 names, broken headers. Whatever comes in, the worker must end
with a decision (or an ignored mail) and a reply it can send; never a crash.
"""

from __future__ import annotations

import base64
import io
import itertools
import quopri
import urllib.parse
import zipfile
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from testkit.forms import random_form, render_pdf
from config.profile import load_profile
from config.settings import load_settings
from intake import originals
from intake.message import decode
from intake.worker import RunSummary, Worker
from ledger import db
from ledger.store import Store
from testkit.ledger import anhui_schools, seed

ARRIVED = datetime(2025, 3, 20, 2, 0, tzinfo=UTC)
FORM = random_form(seed=1, rows=4)
UNITS = [FORM.unit, anhui_schools(1)[0]["name"]]


@pytest.fixture(scope="module")
def worker(tmp_path_factory) -> Worker:
    folder = tmp_path_factory.mktemp("mime-fuzz")
    env = {"INTAKE_PROFILE": "anhui-2025", "INTAKE_DB_URL": f"sqlite:///{folder / 'ledger.sqlite3'}",
           "INTAKE_DATA_DIR": str(folder / "originals"), "INTAKE_FROM": "ahxzsbg@126.com",
           "INTAKE_MAX_READ_SECONDS": "20"}
    app_settings = load_settings(env)
    engine = db.connect(app_settings.database_url)
    db.migrate(engine)
    seed(engine, units=None)  # every Anhui school, the form's own among them
    profile = load_profile(app_settings.profile)
    return Worker(app_settings, profile, Store(engine, profile))


PDF = render_pdf([FORM])
_names = st.sampled_from(["汇总表.pdf", "指标调增申请表（盖章）.PDF", "scan.jpg", "附件1.docx", "../../etc/passwd",
                          "a" * 300, "", "申报.zip", "=?gbk?b?1cXI/bXEsu0=?=.pdf"])
_encodings = st.sampled_from(["base64", "quoted-printable", "8bit", "7bit", "x-uuencode", "bogus"])


def _zip(entries: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            archive.writestr(name or "x", data)
    return buffer.getvalue()


_payloads = st.one_of(
    st.just(PDF),
    st.binary(max_size=300),
    st.binary(max_size=60).map(lambda junk: PDF[: len(PDF) // 2] + junk),  # a truncated PDF
    st.lists(st.tuples(_names, st.one_of(st.just(PDF), st.binary(max_size=100))), max_size=3).map(_zip),
)
_leaf = st.builds(
    lambda kind, data, name, cte, charset, style: (kind, data, name, cte, charset, style),
    st.sampled_from(["application/pdf", "image/jpeg", "application/zip", "application/octet-stream", "text/plain"]),
    _payloads, _names, _encodings, st.sampled_from(["utf-8", "gbk", "gb2312", "x-unknown", "us-ascii"]),
    st.sampled_from(["rfc2231", "raw", "encoded-word"]),
)
_tree = st.recursive(
    _leaf,
    lambda children: st.tuples(st.sampled_from(["mixed", "alternative", "related", "rfc822"]),
                               st.lists(children, min_size=0, max_size=3)),
    max_leaves=6,
)
_subjects = st.one_of(
    st.sampled_from(UNITS).map(lambda u: f"{u}+2025年证书申报"),
    st.sampled_from(UNITS).map(lambda u: f"{u}+2025年证书指标调增申请"),
    st.text(max_size=40),
)
_senders = st.one_of(st.sampled_from(["MAILER-DAEMON@126.com", "", "不是地址", "教务处 <a@b.cn>"]),
                     st.just("教务处 <jwc@school.example.cn>"), st.just("jwc@school.example.cn"))


def _filename(name: str, style: str, charset: str) -> bytes:
    """As mail clients really write it: RFC 2231, raw GBK or UTF-8 bytes, or an encoded word."""
    codec = charset if charset in ("utf-8", "gbk", "gb2312") else "gbk"
    data = name.encode(codec, "replace")
    if style == "rfc2231":
        return b"filename*=" + codec.encode() + b"''" + urllib.parse.quote_from_bytes(data).encode()
    if style == "encoded-word":
        return b'filename="=?' + codec.encode() + b"?B?" + base64.b64encode(data) + b'?="'
    return b'filename="' + data + b'"'


def _body(data: bytes, cte: str) -> bytes:
    if cte == "base64":
        return base64.encodebytes(data)
    if cte == "quoted-printable":
        return quopri.encodestring(data)
    return data  # 8bit, 7bit, unknown encodings: the bytes as they are


def _render(node, headers: bytes = b"") -> bytes:
    if len(node) == 2:  # a container
        kind, children = node
        if kind == "rfc822":
            inner = _render(("mixed", children), b"Subject: Fwd\r\nFrom: a@b.cn\r\n")
            return headers + b"Content-Type: message/rfc822\r\n\r\n" + inner
        boundary = f"=_b{next(_ids)}".encode()
        parts = b"".join(b"--" + boundary + b"\r\n" + _render(child) + b"\r\n" for child in children)
        return (headers + b"Content-Type: multipart/" + kind.encode() + b'; boundary="' + boundary + b'"\r\n\r\n'
                + parts + b"--" + boundary + b"--\r\n")
    kind, data, name, cte, charset, style = node
    head = b"Content-Type: " + kind.encode() + b"; charset=" + charset.encode() + b"\r\n"
    if kind != "text/plain":
        head += b"Content-Disposition: attachment; " + _filename(name, style, charset) + b"\r\n"
    head += b"Content-Transfer-Encoding: " + cte.encode() + b"\r\n\r\n"
    return headers + head + _body(data, cte)


def _message(tree, subject: str, sender: str, extra: list[tuple[str, str]], charset: str) -> bytes:
    headers = [("From", sender), ("Subject", subject), ("Message-ID", f"<fuzz-{next(_ids)}@example.cn>"), *extra]
    block = b"".join(f"{name}: {value}".encode(charset) + b"\r\n" for name, value in headers)
    return _render(tree if len(tree) == 2 else ("mixed", [tree]), block + b"MIME-Version: 1.0\r\n")


_ids = itertools.count()
_uids = itertools.count(1)
_extra = st.lists(st.one_of(
    st.tuples(st.sampled_from(["Auto-Submitted", "Authentication-Results", "Reply-To", "Date", "Content-Type",
                               "X-Junk"]), st.text(max_size=60).map(lambda t: t.replace("\r", " ").replace("\n", " "))),
    st.tuples(st.just("Reply-To"), st.sampled_from(["victim@example.org", "jwc@school.example.cn"])),
), max_size=3)


@pytest.mark.filterwarnings("ignore:Duplicate name", "ignore::hypothesis.errors.HypothesisWarning")
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(_tree, _subjects, _senders, _extra, st.sampled_from(["utf-8", "gb18030"]))
def test_any_mime_tree_ends_in_a_decision_and_a_sendable_reply(worker, tree, subject, sender, extra, charset):
    raw = _message(tree, subject, sender, extra, charset)
    sha, stored = originals.keep(worker.data_dir, raw)
    envelope = decode(raw, ARRIVED, limits=worker.mime_limits)
    record, created = worker.store.record_message(
        mailbox="INBOX", uidvalidity=1, uid=next(_uids), message_id=envelope.message_id, sha256=sha,
        received_at=ARRIVED, sender=envelope.sender, subject=envelope.subject, original_path=str(stored))
    if not created:
        event("the same bytes again: known")
        return
    summary = RunSummary()
    worker.decide_one(record, summary)
    assert sum(summary.decided.values()) == 1
    event(f"decided: {next(iter(summary.decided))}")
    decided = worker.store.message(record.id)
    assert decided.state == "decided"
    queued = [r for r in worker.store.queued_replies(datetime.now(UTC)) if r.message_pk == record.id]
    if summary.decided.get("ignored"):
        assert queued == []
    else:
        (reply,) = queued
        assert reply.raw.startswith(b"From:") or b"\nFrom:" in reply.raw
        # No backscatter: only the sender, or a contact registered for the unit, is ever answered.
        contacts = {c for unit in worker.store.snapshot().units for c in unit.contacts}
        assert reply.to_addr == envelope.sender or reply.to_addr in contacts
