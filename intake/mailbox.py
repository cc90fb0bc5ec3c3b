"""The IMAP side: find new mail, fetch it untouched, file it when done.

Designed for the real provincial mailboxes (NetEase 126/163, QQ, Exchange):
IMAP ID right after login (NetEase refuses SELECT without it), no server-side
SEARCH on subjects (unreliable with Chinese), MOVE only where offered
(otherwise COPY + \\Deleted + UID EXPUNGE), and a socket timeout on everything.
Processing state lives in the ledger, never in IMAP flags: fetching uses
BODY.PEEK so even \\Seen is left as the school's mail client expects.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError  # noqa: F401 (re-exported for the worker)

from intake.logs import get_logger

CLIENT_ID = {"name": "onex-intake", "version": "0.1", "vendor": "1+X Intake"}
FETCH_BATCH = 20

log = get_logger("intake.mailbox")


class MailboxError(Exception):
    """The mailbox cannot be reached or refused an operation; the worker retries later."""


@dataclass(frozen=True)
class Fetched:
    folder: str
    uidvalidity: int
    uid: int
    raw: bytes
    internaldate: datetime  # timezone-aware, as the server recorded the arrival


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
        except (IMAPClientError, OSError) as exc:
            raise MailboxError(f"IMAP {cfg.host}:{cfg.port}: {exc}") from exc
        self.client = client
        log.info("imap.connected", host=cfg.host, capabilities=self.capabilities())

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

    def existing(self, folders: Iterable[str]) -> list[str]:
        assert self.client is not None
        return [f for f in folders if self.client.folder_exists(f)]

    def select(self, folder: str) -> int:
        """SELECT ``folder`` read-write and return its UIDVALIDITY."""
        assert self.client is not None
        info = self.client.select_folder(folder)
        return int(info[b"UIDVALIDITY"])

    def uids(self, folder: str) -> tuple[int, list[int]]:
        """(UIDVALIDITY, every UID not flagged \\Deleted) of ``folder``."""
        assert self.client is not None
        uidvalidity = self.select(folder)
        return uidvalidity, sorted(self.client.search(["NOT", "DELETED"]))

    def fetch(self, folder: str, uidvalidity: int, uids: list[int]) -> Iterator[Fetched]:
        """Fetch raw bytes and INTERNALDATE in batches; the folder must be selected."""
        assert self.client is not None
        for start in range(0, len(uids), FETCH_BATCH):
            batch = uids[start : start + FETCH_BATCH]
            data = self.client.fetch(batch, ["BODY.PEEK[]", "INTERNALDATE"])
            for uid in batch:
                item = data.get(uid)
                if item is None or b"BODY[]" not in item:
                    continue  # expunged meanwhile by another client
                yield Fetched(folder, uidvalidity, uid, item[b"BODY[]"], item[b"INTERNALDATE"])

    def find(self, folder: str, message_id: str) -> int | None:
        """The UID of ``message_id`` in ``folder`` (selected here), after UIDVALIDITY changed."""
        assert self.client is not None
        self.select(folder)
        found = self.client.search(["HEADER", "Message-ID", message_id])
        return found[0] if found else None

    def ensure_folder(self, folder: str) -> None:
        assert self.client is not None
        if not self.client.folder_exists(folder):
            # Create parents one by one: some servers do not create them implicitly.
            parts = folder.split("/")
            for depth in range(1, len(parts) + 1):
                name = "/".join(parts[:depth])
                if not self.client.folder_exists(name):
                    self.client.create_folder(name)
            self.client.subscribe_folder(folder)

    def file(self, folder: str, uid: int, target: str) -> None:
        """Move ``uid`` from ``folder`` (selected here) to ``target``; never deletes otherwise."""
        assert self.client is not None
        self.ensure_folder(target)
        self.select(folder)
        if self.has("MOVE"):
            self.client.move([uid], target)
            return
        self.client.copy([uid], target)
        self.client.add_flags([uid], [b"\\Deleted"])
        if self.has("UIDPLUS"):
            self.client.uid_expunge([uid])
        # Without UIDPLUS the \Deleted flag stays until the office's client expunges:
        # a plain EXPUNGE could remove mail someone else flagged.

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


def config_from_settings(settings) -> MailboxConfig:
    return MailboxConfig(
        host=settings.imap_host,
        port=settings.imap_port,
        user=settings.imap_user,
        password=settings.imap_password.get_secret_value(),
        use_ssl=settings.imap_ssl,
        timeout=settings.imap_timeout,
    )
