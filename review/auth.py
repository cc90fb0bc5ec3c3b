"""Staff accounts, signed session cookies, CSRF tokens and the login rate limit.

Passwords are argon2id hashes. The session cookie is signed (itsdangerous) with a key
kept in the ledger (``web_keys``, ``ledger.models.WebKey``), carries a random session id and, once logged in, the
staff name and the account's ``session_epoch`` (bumped on logout, so an old cookie dies).
The CSRF token is an HMAC of the session id: every form carries it, every POST checks it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from ledger.models import Event, StaffAccount, WebKey, utcnow
from templates import say, text

SESSION_COOKIE = "intake_session"
SESSION_MAX_AGE = 12 * 3600  # one working day
MIN_PASSWORD_LENGTH = 10
MAX_NAME_LENGTH = 100
_HASHER = PasswordHasher()


class StaffError(Exception):
    """A staff account cannot be created or used; the message (``staff.account.*``) says why."""


@dataclass(frozen=True)
class StaffMember:
    id: int
    name: str
    epoch: int

    @property
    def actor(self) -> str:
        return f"staff:{self.name}"


# --- accounts -------------------------------------------------------------------------


def add_staff(engine: sa.Engine, name: str, password: str) -> StaffMember:
    """Create an account, or set a new password for an existing one (old sessions end)."""
    name = name.strip()
    if not name or len(name) > MAX_NAME_LENGTH:
        raise StaffError(say("staff.account.name", limit=MAX_NAME_LENGTH))
    if len(password) < MIN_PASSWORD_LENGTH:
        raise StaffError(say("staff.account.password", limit=MIN_PASSWORD_LENGTH))
    hashed = _HASHER.hash(password)
    with Session(engine) as s, s.begin():
        row = s.execute(sa.select(StaffAccount).where(StaffAccount.name == name).with_for_update()).scalar_one_or_none()
        action = "staff.password_set" if row is not None else "staff.added"
        if row is None:
            row = StaffAccount(name=name, password_hash=hashed, active=True, session_epoch=0, created_at=utcnow())
            s.add(row)
        else:
            row.password_hash, row.active, row.session_epoch = hashed, True, row.session_epoch + 1
        s.flush()
        s.add(Event(actor="admin", action=action, subject=f"staff:{name}", detail={}, at=utcnow()))
        return StaffMember(row.id, row.name, row.session_epoch)


def authenticate(engine: sa.Engine, name: str, password: str) -> StaffMember | None:
    with Session(engine) as s, s.begin():
        row = s.execute(sa.select(StaffAccount).where(StaffAccount.name == name.strip())).scalar_one_or_none()
        if row is None or not row.active:
            _HASHER.hash(password)  # the same work as a real check: no timing hint that the name is unknown
            return None
        try:
            _HASHER.verify(row.password_hash, password)
        except (VerificationError, InvalidHashError):
            return None
        if _HASHER.check_needs_rehash(row.password_hash):
            row.password_hash = _HASHER.hash(password)
        row.last_login_at = utcnow()
        return StaffMember(row.id, row.name, row.session_epoch)


def staff_for_session(engine: sa.Engine, name: str | None, epoch: int | None) -> StaffMember | None:
    if not name:
        return None
    with Session(engine) as s:
        row = s.execute(sa.select(StaffAccount).where(StaffAccount.name == name)).scalar_one_or_none()
    if row is None or not row.active or row.session_epoch != epoch:
        return None
    return StaffMember(row.id, row.name, row.session_epoch)


def end_sessions(engine: sa.Engine, name: str) -> None:
    with Session(engine) as s, s.begin():
        row = s.execute(sa.select(StaffAccount).where(StaffAccount.name == name).with_for_update()).scalar_one_or_none()
        if row is not None:
            row.session_epoch += 1


# --- signing key ----------------------------------------------------------------------


def signing_key(engine: sa.Engine, purpose: str = "session") -> str:
    """The app's secret, made on first use and shared by every server process."""
    for _ in range(2):
        with Session(engine) as s:
            found = s.execute(sa.select(WebKey.secret).where(WebKey.purpose == purpose)).scalar_one_or_none()
        if found:
            return found
        try:
            with Session(engine) as s, s.begin():
                s.add(WebKey(purpose=purpose, secret=secrets.token_urlsafe(48), created_at=utcnow()))
        except sa.exc.IntegrityError:
            continue  # another process made it first: read theirs
    raise StaffError(text("staff.account.signing_key"))


class SessionCodec:
    def __init__(self, secret: str):
        self._secret = secret.encode()
        self._serializer = URLSafeTimedSerializer(secret, salt="intake.session")

    def dumps(self, session: dict) -> str:
        return self._serializer.dumps(session)

    def loads(self, cookie: str | None) -> dict | None:
        if not cookie:
            return None
        try:
            data = self._serializer.loads(cookie, max_age=SESSION_MAX_AGE)
        except BadSignature:
            return None
        return data if isinstance(data, dict) and isinstance(data.get("sid"), str) else None

    def csrf_token(self, sid: str) -> str:
        return hmac.new(self._secret, f"csrf:{sid}".encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, sid: str, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf_token(sid), token)


def new_session() -> dict:
    return {"sid": secrets.token_urlsafe(24)}


# --- login rate limit -----------------------------------------------------------------


class LoginLimiter:
    """At most ``max_failures`` failed logins per key (client address, user name) per window.

    In memory: one server process serves the office; a restart forgets the counts, which
    costs an attacker a restart they cannot cause.
    """

    def __init__(self, max_failures: int = 5, window: float = 900.0, clock=time.monotonic):
        self.max_failures, self.window, self.clock = max_failures, window, clock
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, key: str) -> deque[float]:
        times, cutoff = self._failures[key], self.clock() - self.window
        while times and times[0] < cutoff:
            times.popleft()
        return times

    def retry_after(self, *keys: str) -> float:
        """Seconds until a login may be tried again (0: allowed now)."""
        with self._lock:
            waits = [times[0] + self.window - self.clock()
                     for times in (self._recent(k) for k in keys) if len(times) >= self.max_failures]
        return max(waits, default=0.0)

    def failed(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._recent(key).append(self.clock())

    def succeeded(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)
