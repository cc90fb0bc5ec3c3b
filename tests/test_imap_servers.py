"""Filing on every IMAP server of the matrix (issue 14: "Folders on any IMAP server").

``intake run --once`` crashed on a Dovecot left at its default maildir layout:
``CREATE 已处理/通过`` → ``[CANNOT] Name must not have '/' characters``, because
the hierarchy delimiter there is ``.``. Profiles keep writing ``/``; the mailbox
builds each server's own name from its delimiter (``LIST "" ""``) and personal
namespace prefix (``NAMESPACE``). Here the real worker files real mail on each
server of ``tests.fixtures.mailstack.SERVER_KINDS``, and what the server itself
lists is checked byte by byte.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

import pytest
from imapclient import IMAPClient

from testkit.forms import SUMMARY_HEADERS, FormSpec, Row, render_pdf
from config.profile import load_profile
from config.settings import load_settings
from intake.mailbox import (
    FilingError,
    FolderLayout,
    FolderNameError,
    Mailbox,
    MailboxConfig,
    MailboxError,
    read_layout,
)
from intake.worker import Worker
from ledger import db
from ledger.imports import import_catalog, import_units
from ledger.store import Store
from testkit.mailstack import mail_settings
from testkit.world import (
    CATALOG_HEADER,
    CONTACT,
    IN_WINDOW,
    UNIT,
    UNITS_HEADER,
    submission,
    write_csv,
)

FOLDERS = load_profile("anhui-2025").folders  # 已处理/通过, 已处理/退回, 待审核, 已忽略


# -- name translation, without a server -------------------------------------------------

@pytest.mark.parametrize(("layout", "logical", "server"), [
    (FolderLayout("", "/"), "已处理/通过", "已处理/通过"),
    (FolderLayout("", "."), "已处理/通过", "已处理.通过"),
    (FolderLayout("", "."), "垃圾邮件", "垃圾邮件"),
    (FolderLayout("", "."), "已处理.通过", "已处理.通过"),  # already in the server's form
    (FolderLayout("INBOX.", "."), "已处理/通过", "INBOX.已处理.通过"),
    (FolderLayout("INBOX.", "."), "垃圾邮件", "INBOX.垃圾邮件"),
    (FolderLayout("INBOX.", "."), "INBOX.垃圾邮件", "INBOX.垃圾邮件"),  # written with the prefix: as is
    (FolderLayout("INBOX.", "."), "inbox.垃圾邮件", "inbox.垃圾邮件"),  # INBOX in any case (RFC 3501)
    (FolderLayout("INBOX.", "."), "INBOX/已处理", "INBOX.已处理"),
    (FolderLayout("Mail/", "/"), "mail/已处理", "Mail/mail/已处理"),  # other prefixes: exact case
    (FolderLayout("INBOX/", "/"), "已处理/通过", "INBOX/已处理/通过"),
    (FolderLayout("INBOX.", "."), "INBOX", "INBOX"),
    (FolderLayout("INBOX.", "."), "inbox", "INBOX"),
    (FolderLayout("", None), "垃圾邮件", "垃圾邮件"),
    (FolderLayout("", "."), "Spam", "Spam"),
])
def test_logical_names_become_the_servers_names(layout, logical, server):
    assert layout.server_name(logical) == server


def test_a_flat_server_refuses_nested_names_and_says_what_to_configure():
    with pytest.raises(MailboxError) as refused:
        FolderLayout("", None).server_name("已处理/通过")
    assert isinstance(refused.value, FolderNameError)
    message = str(refused.value)
    assert "已处理/通过" in message and "no folder hierarchy" in message
    assert "[folders]" in message and "'已处理-通过'" in message


@pytest.mark.parametrize("logical", ["已处理//通过", "/已处理", "已处理/", "已处理/v1.2"])
def test_names_that_cannot_be_spelt_unambiguously_are_refused(logical):
    with pytest.raises(FolderNameError, match="folder '"):
        FolderLayout("", ".").server_name(logical)


@dataclass
class Answers:
    """What a server says to ``LIST "" ""`` and ``NAMESPACE`` (for ``read_layout`` alone)."""

    listed: list
    personal: tuple | None = None
    offers_namespace: bool = True

    def list_folders(self, directory, pattern):
        assert (directory, pattern) == ("", "")
        return self.listed

    def has_capability(self, name):
        return name == "NAMESPACE" and self.offers_namespace

    def namespace(self):
        from imapclient.imapclient import Namespace
        return Namespace(self.personal, None, None)


@pytest.mark.parametrize(("answers", "layout"), [
    (Answers([((b"\\Noselect",), b".", "")], ((("", "."),))), FolderLayout("", ".")),
    (Answers([((b"\\Noselect",), b".", "")], ((("INBOX.", "."),))), FolderLayout("INBOX.", ".")),
    (Answers([((b"\\Noselect",), b".", "")], ((("INBOX", "."),))), FolderLayout("INBOX.", ".")),
    (Answers([((b"\\Noselect",), b"/", "")], offers_namespace=False), FolderLayout("", "/")),
    (Answers([((b"\\Noselect",), None, "")], offers_namespace=False), FolderLayout("", None)),
    (Answers([], ((("INBOX.", "."),))), FolderLayout("INBOX.", ".")),
])
def test_layout_comes_from_list_and_namespace(answers, layout):
    assert read_layout(answers) == layout


# -- on every server of the matrix ----------------------------------------------------------

def mutf7(text: str) -> bytes:
    """RFC 3501 §5.1.3 modified UTF-7 of non-ASCII ``text`` (independent of imapclient)."""
    return b"&" + base64.b64encode(text.encode("utf-16-be")).rstrip(b"=").replace(b"/", b",") + b"-"


def raw_name(server, folder: str) -> bytes:
    """How ``server`` must list ``folder`` on the wire: its prefix, its delimiter, modified UTF-7."""
    return server.prefix.encode() + server.delimiter.encode().join(mutf7(part) for part in folder.split("/"))


def config(server) -> MailboxConfig:
    return MailboxConfig(server.host, server.port, server.user, server.password, False, 10)


def message_id(raw: bytes) -> str:
    return raw.split(b"Message-ID: ")[1].split(b"\n")[0].strip().decode()


def found(imap: IMAPClient, name: str, raw: bytes) -> list[int]:
    imap.select_folder(name, readonly=True)
    return imap.search(["HEADER", "Message-ID", message_id(raw)])


def worker_for(env: dict[str, str], tmp_path) -> Worker:
    """The real worker in this process, its ledger holding one school and one certificate."""
    settings = load_settings(env)
    profile = load_profile(settings.profile)
    engine = db.connect(settings.database_url)
    db.migrate(engine)
    import_units(engine, write_csv(tmp_path / "units.csv", UNITS_HEADER,
                                   [[UNIT, "高职", "合肥市", "合肥职院", CONTACT]]))
    import_catalog(engine, write_csv(tmp_path / "catalog.csv", CATALOG_HEADER,
                                     [["1", "Web前端开发", "工业和信息化部教育与考试中心", "初级;中级;高级"]]))
    return Worker(settings, profile, Store(engine, profile))


def stamped_summary() -> bytes:
    pdf = render_pdf([FormSpec(
        kind="summary", title="安徽省 1+X 职业技能等级证书申报学校汇总表", unit=UNIT, headers=SUMMARY_HEADERS,
        rows=(Row("Web前端开发", "Web前端开发职业技能等级证书", "初级", (45,)),), total=45,
    )])
    return submission(f"{UNIT}+2025年证书申报", attachments=[("汇总表.pdf", pdf, "application", "pdf")])


def test_the_connection_reads_the_servers_layout(imap_server):
    with Mailbox(config(imap_server)) as box:
        assert box.layout == FolderLayout(imap_server.prefix, imap_server.delimiter)
        assert box.server_name(FOLDERS.accepted) == (
            imap_server.prefix + FOLDERS.accepted.replace("/", imap_server.delimiter))


def test_worker_files_each_outcome_into_the_profile_folders(imap_server, smtp_sink, tmp_path):
    accepted, rejected = stamped_summary(), submission(f"{UNIT}+2025年证书申报")
    ignored = submission("自动回复：您好", headers={"Auto-Submitted": "auto-replied"})
    for raw in (accepted, rejected, ignored):
        imap_server.append(raw, IN_WINDOW)

    summary = Worker.run_once(worker_for(mail_settings(imap_server, smtp_sink, tmp_path), tmp_path))

    assert summary.filed == 3
    decisions = {reply["In-Reply-To"]: reply["X-Intake-Decision"] for reply in smtp_sink.messages()}
    assert decisions == {message_id(accepted): "accepted", message_id(rejected): "rejected"}

    # What the server lists, on the wire: its prefix, its delimiter, Chinese in modified UTF-7 ...
    listed = imap_server.raw_list()
    placed = {FOLDERS.accepted: accepted, FOLDERS.rejected: rejected, FOLDERS.ignored: ignored}
    for folder in placed:
        assert raw_name(imap_server, folder) in listed, (folder, listed)
    if imap_server.delimiter != "/":
        assert not any(b"/" in name for name in listed), listed
    # ... and decoded back to the Chinese names.
    decoded = imap_server.server_folders()
    assert imap_server.prefix + "已处理" + imap_server.delimiter + "通过" in decoded, decoded
    assert imap_server.prefix + "已忽略" in decoded, decoded

    # Each mail is in its folder, alone; none is left for the inbox's reader.
    with imap_server.client() as imap:
        for folder, raw in placed.items():
            name = imap_server.server_name(folder)
            assert len(found(imap, name, raw)) == 1, folder
            assert len(imap.search("ALL")) == 1, folder
        imap.select_folder("INBOX", readonly=True)
        assert imap.search(["NOT", "DELETED"]) == []
        if not imap.has_capability("UIDPLUS"):  # imap4d: COPY + \Deleted, left for the office's client
            assert len(imap.search(["DELETED"])) == 3
        else:
            assert imap.search("ALL") == []

    # A second run finds nothing new and files nothing twice.
    again = Worker.run_once(worker_for(mail_settings(imap_server, smtp_sink, tmp_path), tmp_path))
    assert (again.fetched, again.filed, len(smtp_sink.received)) == (0, 0, 2)


def test_a_refused_folder_raises_filing_error_with_the_servers_words(imap_server):
    raw = submission(f"{UNIT}+2025年证书申报")
    imap_server.append(raw, IN_WINDOW)
    too_long = "已处理/" + "退" * 200  # 200 characters: over any file system's name limit
    with Mailbox(config(imap_server)) as box:
        _validity, (uid,) = box.uids("INBOX")
        with pytest.raises(FilingError) as refused:
            box.file("INBOX", uid, too_long)
    error = refused.value
    assert isinstance(error, MailboxError)
    assert error.folder == too_long
    assert error.server_name == imap_server.server_name(too_long)
    assert error.detail and "failed:" not in error.detail  # the server's words, not imapclient's
    assert too_long in str(error)
    assert imap_server.messages("INBOX", deleted=False) == [imap_server.messages("INBOX")[0]]
    assert message_id(imap_server.messages("INBOX")[0]) == message_id(raw)
