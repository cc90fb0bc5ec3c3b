"""Real mail servers on loopback: IMAP servers and aiosmtpd SMTP, for the tests, the bench and the demo.

Nothing here is a mock: the worker under test talks IMAP to a real server
(started from a throw-away config in a temp dir, on a free port) and SMTP to a
real aiosmtpd server that records every message it accepts.

IMAP servers spell folder names their own way, so the matrix covers the ones
offices meet (the ``imap_server`` fixture runs a test on each):

- ``dovecot-default``: Dovecot with maildir and no ``separator`` line, so at its
  default delimiter for maildir, ``.`` (``已处理.通过``): what issue 14 crashed on.
  The ``dovecot`` fixture.
- ``dovecot-slash``: Dovecot with ``separator = /``.
- ``dovecot-inbox-prefix``: Dovecot laid out as Courier and Cyrus (standard
  namespace) are, ``prefix = INBOX.`` and ``separator = .``, as Dovecot is set up
  to stay compatible after replacing Courier: every folder lives under ``INBOX.``.
- ``imap4d``: GNU Mailutils imap4d, another implementation: mbox folders,
  delimiter ``.``, no MOVE and no UIDPLUS (COPY + \\Deleted, like NetEase), and a
  level created on its own can never hold another.

Cyrus and Courier would be the obvious second implementation, but Debian's
``cyrus-imapd`` and ``courier-imap`` both conflict with ``dovecot-imapd``
(``Conflicts: imap-server``): one machine cannot have them and Dovecot.

The servers' helpers (``append``, ``messages``, ``folders``) take the same
logical names the profile uses (``已处理/通过``) and spell them for their server
themselves, from what each one's configuration says, not with the code under test.

Long because each server's configuration file, start-up and folder spelling are read
together: splitting them would scatter one server over several modules.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import email
import email.policy
import getpass
import grp
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

from aiosmtpd.controller import Controller
from imapclient import IMAPClient

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
IMAP4D = shutil.which("imap4d") or "/usr/sbin/imap4d"
SERVER_KINDS = ("dovecot-default", "dovecot-slash", "dovecot-inbox-prefix", "imap4d")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_greeting(port: int, timeout: float = 10.0) -> None:
    """Wait until the server on ``port`` sends its greeting line (not merely listens)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                if sock.recv(64).startswith(b"* OK"):
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"no IMAP greeting on 127.0.0.1:{port} after {timeout}s")


def service_accounts() -> tuple[str, str, int, int]:
    """(login user, internal user, mail uid, mail gid) for Dovecot.

    Dovecot refuses to run its login and mail processes as root; when the tests
    run as root (CI does) it uses the accounts Debian's package created.
    """
    if os.getuid() != 0:
        return getpass.getuser(), getpass.getuser(), os.getuid(), os.getgid()
    internal = pwd.getpwnam("dovecot")
    return "dovenull", "dovecot", internal.pw_uid, internal.pw_gid


def _stop_group(proc: subprocess.Popen | None) -> None:
    """SIGTERM the server started in its own session (and its session processes); SIGKILL after 10 s."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    _wait_group_gone(proc.pid)


def _wait_group_gone(pgid: int, seconds: float = 2.0) -> None:
    """The server's session processes (imap4d forks one per connection, and the fork keeps the
    listening socket) outlive it by up to two seconds: they are killed and waited for, so the
    port is closed when ``stop`` returns. A zombie left for init to reap still answers signal 0
    but holds no socket, so the wait is bounded."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            return
        time.sleep(0.02)


@dataclass
class ImapServer:
    """What every test IMAP server offers: one user, logical folder names, restartable."""

    root: Path
    port: int
    user: str = "office@example.edu.cn"
    password: str = "AuthCode2025"
    host: str = "127.0.0.1"
    proc: subprocess.Popen | None = None

    kind: ClassVar[str] = "imap"
    # Header fields the server writes into the mail it stores (and serves back with it).
    added_headers: ClassVar[tuple[bytes, ...]] = ()

    # -- how this server spells folder names (from its configuration) -------------
    @property
    def prefix(self) -> str:
        return ""

    @property
    def delimiter(self) -> str:
        return "/"

    def server_name(self, folder: str) -> str:
        """The server's spelling of a logical name (``已处理/通过``); INBOX stays INBOX."""
        if folder.upper() == "INBOX":
            return "INBOX"
        return self.prefix + folder.replace("/", self.delimiter)

    def logical_name(self, name: str) -> str:
        if name.upper() == "INBOX":
            return "INBOX"
        if self.prefix and name.startswith(self.prefix):
            name = name[len(self.prefix):]
        return name.replace(self.delimiter, "/")

    # -- life cycle ------------------------------------------------------------------
    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def restart(self) -> None:
        self.stop()
        self.start()

    @property
    def log_path(self) -> Path:
        return self.root / f"{self.kind}.log"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def _failed_to_start(self) -> RuntimeError:
        self.stop()
        return RuntimeError(f"{self.kind} did not start; its log:\n{self.log()}")

    # -- as a mail client sees it --------------------------------------------------
    def client(self) -> IMAPClient:
        imap = IMAPClient(self.host, port=self.port, ssl=False, timeout=10)
        imap.login(self.user, self.password)
        return imap

    def append(
        self, raw: bytes, internaldate: datetime, folder: str = "INBOX", flags: tuple = ()
    ) -> None:
        """Deliver ``raw`` as if it arrived at ``internaldate`` (timezone-aware)."""
        name = self.server_name(folder)
        with self.client() as imap:
            if not imap.folder_exists(name):
                imap.create_folder(name)
            imap.append(name, raw, flags=flags, msg_time=internaldate)

    def messages(self, folder: str = "INBOX", *, deleted: bool = True) -> list[bytes]:
        """Every message in ``folder``; ``deleted=False`` leaves out those flagged \\Deleted."""
        name = self.server_name(folder)
        with self.client() as imap:
            if not imap.folder_exists(name):
                return []
            imap.select_folder(name, readonly=True)
            uids = imap.search("ALL" if deleted else ["NOT", "DELETED"])
            fetched = imap.fetch(uids, ["RFC822"]) if uids else {}
            return [fetched[u][b"RFC822"] for u in sorted(fetched)]

    def as_delivered(self, raw: bytes) -> bytes:
        """``raw`` as fetched, less what the server added (``added_headers``), with LF line ends."""
        head, _, body = raw.replace(b"\r\n", b"\n").partition(b"\n\n")
        kept = [line for line in head.split(b"\n") if line.split(b":", 1)[0] not in self.added_headers]
        return b"\n".join(kept) + b"\n\n" + body

    def folders(self) -> list[str]:
        """Logical names of every folder the server lists."""
        return [self.logical_name(name) for name in self.server_folders()]

    def server_folders(self) -> list[str]:
        """The server's own names of every folder, decoded from modified UTF-7."""
        with self.client() as imap:
            return [name for _flags, _sep, name in imap.list_folders()]

    def raw_list(self) -> list[bytes]:
        """What ``LIST "" "*"`` really returns, before anything decodes modified UTF-7."""
        with self.client() as imap:
            imap.folder_encode = False
            return [name for _flags, _sep, name in imap.list_folders()]

    def reset_uidvalidity(self, folder: str, value: int) -> None:
        raise NotImplementedError(f"{self.kind} cannot reset UIDVALIDITY")


DOVECOT_CONF = """\
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {login_user}
first_valid_uid = 0
first_valid_gid = 0
base_dir = {run}
state_dir = {state}
log_path = {log}
info_log_path = {log}
imap_id_log = *
mail_location = maildir:~/Maildir
mail_attribute_dict =
namespace inbox {{
  inbox = yes
{namespace}}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {passwd}
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={home}/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"""


@dataclass
class Dovecot(ImapServer):
    """A running Dovecot with one user; restartable on the same port and maildir.

    ``separator`` None leaves Dovecot's default (maildir: ``.``);
    ``namespace_prefix`` "INBOX." gives the Courier/Cyrus layout.
    """

    separator: str | None = None
    namespace_prefix: str = ""

    kind: ClassVar[str] = "dovecot"

    @property
    def prefix(self) -> str:
        return self.namespace_prefix

    @property
    def delimiter(self) -> str:
        return self.separator or "."  # Dovecot's default for maildir (Maildir++ layout)

    def write_config(self) -> Path:
        run = Path(tempfile.mkdtemp(prefix="dc", dir="/tmp"))  # socket paths must stay short
        state = self.root / "state"
        home = self.root / "home"
        for d in (state, home):
            d.mkdir(parents=True, exist_ok=True)
        passwd = self.root / "passwd"
        passwd.write_text(f"{self.user}:{{PLAIN}}{self.password}\n", encoding="utf-8")
        login_user, internal_user, uid, gid = service_accounts()
        for d in (self.root, state, home):
            os.chown(d, uid, gid)
        namespace = "".join(
            f"  {key} = {value}\n"
            for key, value in (("separator", self.separator), ("prefix", self.namespace_prefix))
            if value
        )
        conf = self.root / "dovecot.conf"
        conf.write_text(
            DOVECOT_CONF.format(
                login_user=login_user,
                user=internal_user,
                group=grp.getgrgid(gid).gr_name,
                uid=uid,
                gid=gid,
                run=run,
                state=state,
                log=self.log_path,
                passwd=passwd,
                home=home,
                port=self.port,
                namespace=namespace,
            ),
            encoding="utf-8",
        )
        self._run_dir = run
        return conf

    def start(self) -> None:
        conf = self.write_config()
        self.proc = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            wait_for_greeting(self.port)
        except RuntimeError:
            raise self._failed_to_start() from None

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if getattr(self, "_run_dir", None):
            shutil.rmtree(self._run_dir, ignore_errors=True)

    def reset_uidvalidity(self, folder: str, value: int) -> None:
        """What a server migration or a rebuilt index does: every UID the client knew is void."""
        subprocess.run(
            ["doveadm", "-c", str(self.root / "dovecot.conf"), "mailbox", "update", "-u", self.user,
             "--uid-validity", str(value), self.server_name(folder)],
            check=True, capture_output=True, timeout=30,
        )


IMAP4D_CONF = """\
mode daemon;
foreground yes;
pidfile {pidfile};
server 127.0.0.1:{port} {{
  single-process no;
}};
auth {{
  authentication generic;
  authorization virtdomain;
}};
virtdomain {{
  passwd-dir {auth};
}};
mailbox {{
  mailbox-type mbox;
}};
namespace personal {{
  prefix "" {{
    directory "$home/mail";
    delimiter ".";
    mailbox-type mbox;
  }};
}};
logging {{
  syslog no;
}};
"""


def _crypt(password: str) -> str:
    """SHA-512 crypt(3), as imap4d's ``generic`` authentication checks it (libcrypt, no deprecated module)."""
    libcrypt = ctypes.CDLL(ctypes.util.find_library("crypt") or "libcrypt.so.1")
    libcrypt.crypt.restype = ctypes.c_char_p
    libcrypt.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    return libcrypt.crypt(password.encode(), f"$6${secrets.token_hex(8)}".encode()).decode()


@dataclass
class Imap4d(ImapServer):
    """GNU Mailutils imap4d with one virtual-domain user and mbox folders under ``~/mail``.

    Run as ``nobody`` when the tests run as root; no MOVE, no UIDPLUS. Like UW imapd,
    it keeps its UID bookkeeping in header fields of the stored mail and serves them back.
    """

    kind: ClassVar[str] = "imap4d"
    added_headers: ClassVar[tuple[bytes, ...]] = (b"X-IMAPbase", b"X-UID", b"Status", b"X-Status")

    @property
    def delimiter(self) -> str:
        return "."

    def write_config(self) -> Path:
        local, _, domain = self.user.partition("@")
        auth, home = self.root / "auth", self.root / "home" / local
        (home / "mail").mkdir(parents=True, exist_ok=True)
        (home / "INBOX").touch()  # an mbox, as a delivery agent would have left it
        auth.mkdir(exist_ok=True)
        account = pwd.getpwnam("nobody") if os.getuid() == 0 else pwd.getpwuid(os.getuid())
        uid, gid = account.pw_uid, account.pw_gid
        (auth / domain).write_text(f"{local}:{_crypt(self.password)}:{uid}:{gid}::{home}:/bin/false\n")
        for path in (self.root, auth, auth / domain, home.parent, home, home / "mail", home / "INBOX"):
            os.chown(path, uid, gid)
        conf = self.root / "imap4d.conf"
        conf.write_text(
            IMAP4D_CONF.format(pidfile=self.root / "imap4d.pid", port=self.port, auth=auth), encoding="utf-8"
        )
        self._account = (uid, gid)
        return conf

    def start(self) -> None:
        conf = self.write_config()
        uid, gid = self._account
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [IMAP4D, f"--config-file={conf}"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                user=uid if os.getuid() == 0 else None, group=gid if os.getuid() == 0 else None,
                extra_groups=[] if os.getuid() == 0 else None,
                start_new_session=True,  # its session processes stop with it
            )
        try:
            wait_for_greeting(self.port)
        except RuntimeError:
            raise self._failed_to_start() from None

    def stop(self) -> None:
        _stop_group(self.proc)
        self.proc = None

    def append(
        self, raw: bytes, internaldate: datetime, folder: str = "INBOX", flags: tuple = ()
    ) -> None:
        # The mbox "From " line keeps the wall-clock time APPEND gives it and no zone;
        # imap4d reads it back as UTC. Given in UTC, the arrival comes back as the same instant.
        super().append(raw, internaldate.astimezone(UTC), folder, flags)


SERVERS = {
    "dovecot-default": lambda root, port: Dovecot(root=root, port=port),
    "dovecot-slash": lambda root, port: Dovecot(root=root, port=port, separator="/"),
    "dovecot-inbox-prefix": lambda root, port: Dovecot(root=root, port=port, separator=".",
                                                       namespace_prefix="INBOX."),
    "imap4d": lambda root, port: Imap4d(root=root, port=port),
}


def start_server(kind: str) -> ImapServer:
    # Not under pytest's tmp_path: that is private to the test user (0700), and the
    # servers' unprivileged processes must reach the passwd file and the mail.
    root = Path(tempfile.mkdtemp(prefix=f"intake-{kind}-"))
    server = SERVERS[kind](root, free_port())
    try:
        server.start()
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return server


@contextmanager
def running(kind: str) -> Iterator[ImapServer]:
    server = start_server(kind)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.root, ignore_errors=True)


@dataclass
class SmtpSink:
    """aiosmtpd server recording every accepted message; can refuse mail on demand."""

    port: int
    host: str = "127.0.0.1"
    received: list[tuple[str, list[str], bytes]] = field(default_factory=list)
    refuse_with: str | None = None  # e.g. "451 MI:SFQ" to simulate a send quota
    controller: Controller | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd API)
        if self.refuse_with:
            return self.refuse_with
        with self.lock:
            self.received.append(
                (envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.original_content))
            )
        return "250 OK"

    def start(self) -> None:
        self.controller = Controller(self, hostname=self.host, port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller:
            self.controller.stop()
            self.controller = None

    def messages(self) -> list[email.message.EmailMessage]:
        with self.lock:
            raws = [raw for _from, _to, raw in self.received]
        return [email.message_from_bytes(r, policy=email.policy.default) for r in raws]


def outbox_settings(sink: SmtpSink, tmp_path: Path, **extra: str) -> dict[str, str]:
    """``INTAKE_*`` settings for a ledger in ``tmp_path`` sending through ``sink`` (no mailbox):
    reminders, digests and the outbox alone."""
    return {
        "INTAKE_DB_URL": f"sqlite:///{tmp_path / 'ledger.sqlite3'}", "INTAKE_DATA_DIR": str(tmp_path / "data"),
        "INTAKE_FROM": "ahxzsbg@126.com", "INTAKE_SMTP_HOST": sink.host, "INTAKE_SMTP_PORT": str(sink.port),
        "INTAKE_SMTP_SSL": "0", "INTAKE_SMTP_TIMEOUT": "10", **extra,
    }


def mail_settings(server: ImapServer, sink: SmtpSink, tmp_path: Path) -> dict[str, str]:
    """``INTAKE_*`` settings pointing the worker at ``server`` and ``sink``."""
    return {
        "INTAKE_PROFILE": "anhui-2025",
        "INTAKE_DB_URL": f"sqlite:///{tmp_path / 'ledger.sqlite3'}",
        "INTAKE_DATA_DIR": str(tmp_path / "originals"),
        "INTAKE_IMAP_HOST": server.host,
        "INTAKE_IMAP_PORT": str(server.port),
        "INTAKE_IMAP_USER": server.user,
        "INTAKE_IMAP_PASSWORD": server.password,
        "INTAKE_IMAP_SSL": "0",
        "INTAKE_IMAP_TIMEOUT": "10",
        "INTAKE_SMTP_HOST": sink.host,
        "INTAKE_SMTP_PORT": str(sink.port),
        "INTAKE_SMTP_SSL": "0",
        "INTAKE_SMTP_TIMEOUT": "10",
        "INTAKE_FROM": "ahxzsbg@126.com",
        "INTAKE_LOG_FORMAT": "json",
    }
