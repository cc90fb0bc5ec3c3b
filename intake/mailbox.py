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
# Bodies fetched in one round trip are held in memory together: bound their sum.
FETCH_BATCH_BYTES = 64 * 1024 * 1024

log = get_logger("intake.mailbox")


class MailboxError(Exception):
    """The mailbox cannot be reached or refused an operation; the worker retries later."""


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
