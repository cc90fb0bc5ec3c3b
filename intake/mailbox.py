"""The IMAP side: find new mail, fetch it untouched, file it when done.

Designed for the real provincial mailboxes (NetEase 126/163, QQ, Exchange):
IMAP ID right after login (NetEase refuses SELECT without it), no server-side
SEARCH on subjects (unreliable with Chinese), MOVE only where offered
(otherwise COPY + \\Deleted + UID EXPUNGE), and a socket timeout on everything.
Processing state lives in the ledger, never in IMAP flags: fetching uses
BODY.PEEK so even \\Seen is left as the school's mail client expects.

Folder names: callers (the worker, the profile, the ledger) use logical names,
``/`` between levels and no namespace prefix (``已处理/通过``). Each server
spells them its own way (Dovecot's default maildir: ``已处理.通过``; Courier and
Cyrus: ``INBOX.已处理.通过``), so the connection reads the hierarchy delimiter
(``LIST "" ""``) and the personal namespace prefix (``NAMESPACE``) once and
``FolderLayout`` translates every name on its way to the server.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError
from imapclient.exceptions import IMAPClientError  # noqa: F401 (re-exported for the worker)

from intake.logs import get_logger

CLIENT_ID = {"name": "onex-intake", "version": "0.1", "vendor": "1+X Intake"}
FETCH_BATCH = 20
# Bodies fetched in one round trip are held in memory together: bound their sum.
FETCH_BATCH_BYTES = 64 * 1024 * 1024

log = get_logger("intake.mailbox")


class MailboxError(Exception):
    """The mailbox cannot be reached or refused an operation; the worker retries later."""


class FolderNameError(MailboxError):
    """A logical folder name this server cannot hold (a configuration problem, not a glitch)."""

    def __init__(self, folder: str, reason: str):
        super().__init__(f"folder {folder!r}: {reason}")
        self.folder = folder
        self.reason = reason


class FilingError(MailboxError):
    """The server refused to file a mail: CREATE, MOVE, COPY or the \\Deleted/EXPUNGE step.

    The reply has already gone out and the mail is still in its folder, so the caller
    may log this and try again later. ``folder`` is the logical target name,
    ``server_name`` how it is spelt on this server (empty when it cannot be spelt
    there), ``detail`` the server's own words. A dropped connection is not a
    FilingError: that stays an ``IMAPClientAbortError`` or ``OSError``.
    """

    def __init__(self, folder: str, server_name: str, detail: str):
        shown = f" (on the server: {server_name!r})" if server_name and server_name != folder else ""
        super().__init__(f"cannot file into {folder!r}{shown}: {detail}")
        self.folder = folder
        self.server_name = server_name
        self.detail = detail


@dataclass(frozen=True)
class FolderLayout:
    """How one server spells folder names: personal namespace prefix and hierarchy delimiter.

    ``delimiter`` None: the server has no hierarchy (``LIST`` answers NIL).
    """

    prefix: str = ""
    delimiter: str | None = "/"

    def server_name(self, folder: str) -> str:
        """The server's name for the logical ``folder`` (``/`` between levels, no prefix).

        INBOX stays INBOX. A name the operator already wrote in the server's form
        (starting with the personal prefix, or using the server's delimiter and no
        ``/``) is taken as is, apart from the prefix a bare name needs.
        """
        if folder.upper() == "INBOX":
            return "INBOX"
        if self._prefixed(folder):
            return folder
        parts = folder.split("/")
        if not all(parts):
            raise FolderNameError(folder, "a folder name needs text between and around each '/'")
        if len(parts) == 1:
            return self.prefix + folder
        if self.delimiter is None:
            raise FolderNameError(
                folder,
                "this IMAP server has no folder hierarchy (its LIST delimiter is NIL), so it cannot hold "
                "a nested name; write the profile's [folders] and poll_folders without '/', e.g. "
                f"{folder.replace('/', '-')!r}",
            )
        if self.delimiter != "/" and any(self.delimiter in part for part in parts):
            raise FolderNameError(
                folder,
                f"the name mixes '/' with {self.delimiter!r}, which is this server's hierarchy delimiter; "
                "write the levels with '/' only",
            )
        joined = self.delimiter.join(parts)
        if self._prefixed(joined):
            return joined  # e.g. "INBOX/已处理" where the prefix is "INBOX."
        return self.prefix + joined

    def _prefixed(self, name: str) -> bool:
        """Does ``name`` start with the personal prefix? Its INBOX part in any case, as IMAP says."""
        if not self.prefix:
            return False
        head = name[: len(self.prefix)]
        if self.prefix[:5].upper() == "INBOX":
            return head[:5].upper() == "INBOX" and head[5:] == self.prefix[5:]
        return head == self.prefix


@dataclass(frozen=True)
class Fetched:
    folder: str
    uidvalidity: int
    uid: int
    raw: bytes  # the whole message, or only its header block when ``complete`` is False
    internaldate: datetime  # timezone-aware, as the server recorded the arrival
    size: int = 0  # RFC822.SIZE as the server reports it (0: not reported)
    complete: bool = True  # False: over the size limit, ``raw`` is the header block only


@dataclass(frozen=True)
class MailboxConfig:
    host: str
    port: int
    user: str
    password: str
    use_ssl: bool
    timeout: float


class Mailbox:
    """One logged-in IMAP connection. Use as a context manager."""

    def __init__(self, config: MailboxConfig):
        self.config = config
        self.client: IMAPClient | None = None
        self.layout = FolderLayout()

    def __enter__(self) -> Mailbox:
        self.connect()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def connect(self) -> None:
        cfg = self.config
        try:
            client = IMAPClient(
                cfg.host,
                port=cfg.port,
                ssl=cfg.use_ssl,
                ssl_context=ssl.create_default_context() if cfg.use_ssl else None,
                timeout=cfg.timeout,
            )
            client.normalise_times = False  # keep INTERNALDATE's own zone
            client.login(cfg.user, cfg.password)
            if client.has_capability("ID"):
                client.id_(CLIENT_ID)
            layout = read_layout(client)
        except (IMAPClientError, OSError) as exc:
            raise MailboxError(f"IMAP {cfg.host}:{cfg.port}: {exc}") from exc
        self.client = client
        self.layout = layout
        log.info("imap.connected", host=cfg.host, capabilities=self.capabilities(),
                 folder_prefix=layout.prefix, folder_delimiter=layout.delimiter)

    def close(self) -> None:
        if self.client is not None:
            try:
                self.client.logout()
            except (IMAPClientError, OSError):
                pass
            self.client = None

    def capabilities(self) -> list[str]:
        assert self.client is not None
        return sorted(c.decode() if isinstance(c, bytes) else c for c in self.client.capabilities())

    def has(self, capability: str) -> bool:
        assert self.client is not None
        return self.client.has_capability(capability)

    def server_name(self, folder: str) -> str:
        """How the logical ``folder`` is spelt on this server (see ``FolderLayout``)."""
        return self.layout.server_name(folder)

    def existing(self, folders: Iterable[str]) -> list[str]:
        """The logical names among ``folders`` that exist on the server."""
        assert self.client is not None
        return [f for f in folders if self.client.folder_exists(self.server_name(f))]

    def select(self, folder: str) -> int:
        """SELECT ``folder`` read-write and return its UIDVALIDITY."""
        assert self.client is not None
        info = self.client.select_folder(self.server_name(folder))
        return int(info[b"UIDVALIDITY"])

    def uids(self, folder: str) -> tuple[int, list[int]]:
        """(UIDVALIDITY, every UID not flagged \\Deleted) of ``folder``."""
        assert self.client is not None
        uidvalidity = self.select(folder)
        return uidvalidity, sorted(self.client.search(["NOT", "DELETED"]))

    def fetch(
        self, folder: str, uidvalidity: int, uids: list[int], *, max_bytes: int | None = None
    ) -> Iterator[Fetched]:
        """Fetch raw bytes and INTERNALDATE in batches, in UID order; the folder must be selected.

        RFC822.SIZE is asked for first: a message over ``max_bytes`` is not downloaded,
        only its header block (``BODY.PEEK[HEADER]``, ``complete=False``). It stays whole
        on the server and is filed like any other mail.
        """
        assert self.client is not None
        for start in range(0, len(uids), FETCH_BATCH):
            batch = uids[start : start + FETCH_BATCH]
            meta = self.client.fetch(batch, ["RFC822.SIZE", "INTERNALDATE"])
            present = [u for u in batch if u in meta and b"INTERNALDATE" in meta[u]]
            sizes = {u: int(meta[u].get(b"RFC822.SIZE") or 0) for u in present}
            for group, whole in _groups(present, sizes, max_bytes):
                item = b"BODY.PEEK[]" if whole else b"BODY.PEEK[HEADER]"
                key = b"BODY[]" if whole else b"BODY[HEADER]"
                data = self.client.fetch(group, [item])
                for uid in group:
                    raw = data.get(uid, {}).get(key)
                    if raw is None:
                        continue  # expunged meanwhile by another client
                    yield Fetched(folder, uidvalidity, uid, raw, meta[uid][b"INTERNALDATE"],
                                  size=sizes[uid], complete=whole)
                del data

    def find(self, folder: str, message_id: str) -> int | None:
        """The UID of ``message_id`` in ``folder`` (selected here), after UIDVALIDITY changed."""
        assert self.client is not None
        self.select(folder)
        found = self.client.search(["HEADER", "Message-ID", message_id])
        return found[0] if found else None

    def ensure_folder(self, folder: str) -> None:
        """Create the logical ``folder`` unless it exists, and subscribe to it.

        The whole name is asked for first: RFC 3501 servers create the levels above
        it, and on some (mbox-backed: GNU imap4d, UW) a level created on its own
        becomes a mailbox that can never hold another. Only when that is refused are
        the missing levels created one by one, for servers that want their parents
        first. Raises ``FilingError`` with the server's words when it will not.
        """
        assert self.client is not None
        try:
            name = self.server_name(folder)
        except FolderNameError as exc:
            raise FilingError(folder, "", exc.reason) from exc
        if self.client.folder_exists(name):
            return
        try:
            self._create(name)
        except IMAPClientError as refused:
            if isinstance(refused, IMAPClientAbortError):
                raise
            try:
                for parent in self._parents(name):
                    if not self.client.folder_exists(parent):
                        self._create(parent)
                self._create(name)
            except IMAPClientError as exc:
                if isinstance(exc, IMAPClientAbortError):
                    raise
                if not self.client.folder_exists(name):  # another worker may have created it meanwhile
                    detail = _words(refused)
                    if _words(exc) != detail:
                        detail += f"; level by level: {_words(exc)}"
                    raise FilingError(folder, name, detail) from exc
        try:
            self.client.subscribe_folder(name)
        except IMAPClientError as exc:  # a mail client may not list it; filing works all the same
            if isinstance(exc, IMAPClientAbortError):
                raise
            log.warning("imap.subscribe_refused", folder=folder, server_name=name, error=_words(exc))

    def _create(self, name: str) -> None:
        assert self.client is not None
        self.client.create_folder(name)
        log.info("imap.folder_created", server_name=name)

    def _parents(self, name: str) -> list[str]:
        """The levels above the server name ``name``, top first, below the personal prefix."""
        delimiter, prefix = self.layout.delimiter, self.layout.prefix
        if delimiter is None:
            return []
        rest = name[len(prefix):] if prefix and name.startswith(prefix) else name
        parts = rest.split(delimiter)
        return [name[: len(name) - len(rest)] + delimiter.join(parts[:depth]) for depth in range(1, len(parts))]

    def file(self, folder: str, uid: int, target: str) -> None:
        """Move ``uid`` from ``folder`` (selected here) to ``target``; never deletes otherwise.

        Raises ``FilingError`` when the server refuses the folder or the move.
        """
        assert self.client is not None
        self.ensure_folder(target)
        self.select(folder)
        name = self.server_name(target)
        try:
            if self.has("MOVE"):
                self.client.move([uid], name)
                return
            self.client.copy([uid], name)
            self.client.add_flags([uid], [b"\\Deleted"])
            if self.has("UIDPLUS"):
                self.client.uid_expunge([uid])
            # Without UIDPLUS the \Deleted flag stays until the office's client expunges:
            # a plain EXPUNGE could remove mail someone else flagged.
        except IMAPClientError as exc:
            if isinstance(exc, IMAPClientAbortError):
                raise
            raise FilingError(target, name, _words(exc)) from exc

    def wait_for_mail(self, folder: str, timeout: float) -> bool:
        """Block until new mail may be in ``folder`` (IDLE) or ``timeout`` passes.

        Returns True when the server signalled a change. Without IDLE (NetEase)
        this returns False at once and the caller sleeps its poll interval.
        """
        assert self.client is not None
        if not self.has("IDLE"):
            return False
        self.select(folder)
        self.client.idle()
        try:
            responses = self.client.idle_check(timeout=timeout)
        finally:
            self.client.idle_done()
        return bool(responses)


def read_layout(client: IMAPClient) -> FolderLayout:
    """The personal namespace prefix (``NAMESPACE``) and the hierarchy delimiter (``LIST "" ""``).

    Without NAMESPACE the prefix is empty. A server that answers ``LIST "" ""``
    with nothing gets the delimiter its namespace names, else ``/``.
    """
    listed = client.list_folders("", "")
    prefix, delimiter = "", "/"
    if client.has_capability("NAMESPACE"):
        personal = client.namespace().personal
        if personal:
            prefix, delimiter = personal[0][0] or "", _text(personal[0][1])
    if listed:
        delimiter = _text(listed[0][1])
    if prefix and delimiter and not prefix.endswith(delimiter):
        prefix += delimiter  # a prefix names a level: "INBOX" means "INBOX."
    return FolderLayout(prefix=prefix, delimiter=delimiter)


def _text(value: bytes | str | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


def _words(exc: Exception) -> str:
    """What the server said, without imapclient's ``create failed:`` in front."""
    text = str(exc)
    head, sep, rest = text.partition(" failed: ")
    return rest if sep and " " not in head else text


def _groups(
    uids: list[int], sizes: dict[int, int], max_bytes: int | None
) -> Iterator[tuple[list[int], bool]]:
    """Consecutive runs of ``uids`` to fetch together: (uids, whole message?).

    Whole messages are grouped up to ``FETCH_BATCH_BYTES`` (at least one each);
    a message over ``max_bytes`` is a group of its own, header only.
    """
    group: list[int] = []
    held = 0
    for uid in uids:
        if max_bytes is not None and sizes[uid] > max_bytes:
            if group:
                yield group, True
                group, held = [], 0
            yield [uid], False
            continue
        if group and held + sizes[uid] > FETCH_BATCH_BYTES:
            yield group, True
            group, held = [], 0
        group.append(uid)
        held += sizes[uid]
    if group:
        yield group, True


def config_from_settings(settings) -> MailboxConfig:
    return MailboxConfig(
        host=settings.imap_host,
        port=settings.imap_port,
        user=settings.imap_user,
        password=settings.imap_password.get_secret_value(),
        use_ssl=settings.imap_ssl,
        timeout=settings.imap_timeout,
    )
