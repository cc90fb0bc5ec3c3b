"""The SMTP side: send one prepared reply, and say whether a failure is worth a retry.

Replies are complete RFC 822 bytes built before they were queued, so a retry
sends exactly the same mail with the same Message-ID.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from intake.logs import get_logger

log = get_logger("intake.sender")


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    user: str
    password: str
    use_ssl: bool
    timeout: float
    envelope_from: str  # must be the logged-in account on NetEase


class SendError(Exception):
    def __init__(self, message: str, *, permanent: bool):
        super().__init__(message)
        self.permanent = permanent


def _decode_reply(raw: bytes | str) -> str:
    if isinstance(raw, str):
        return raw
    for encoding in ("utf-8", "gb18030"):  # NetEase answers in GBK at times
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


def send(config: SmtpConfig, to_addr: str, raw: bytes, before_data: Callable[[], None] | None = None) -> None:
    """Send ``raw`` to ``to_addr``; raise ``SendError`` telling whether to retry.

    ``before_data`` runs once the server has accepted sender and recipient, just before
    the message data goes out: up to then a failure certainly delivered nothing.
    """
    try:
        if config.use_ssl:
            smtp = smtplib.SMTP_SSL(
                config.host, config.port, timeout=config.timeout, context=ssl.create_default_context()
            )
        else:
            smtp = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
        with smtp:
            if config.user:
                smtp.login(config.user, config.password)
            smtp.ehlo_or_helo_if_needed()
            code, text = smtp.mail(config.envelope_from)
            if code != 250:
                raise smtplib.SMTPSenderRefused(code, text, config.envelope_from)
            code, text = smtp.rcpt(to_addr)
            if code not in (250, 251):
                raise smtplib.SMTPRecipientsRefused({to_addr: (code, text)})
            if before_data is not None:
                before_data()
            code, text = smtp.data(raw)
            if code != 250:
                raise smtplib.SMTPDataError(code, text)
    except smtplib.SMTPRecipientsRefused as exc:
        (code, text) = next(iter(exc.recipients.values()))
        raise SendError(f"{code} {_decode_reply(text)}", permanent=code >= 500) from exc
    except smtplib.SMTPResponseException as exc:
        # 451 MI:SFQ (quota), 421 HL:ICC (connections): wait and retry.
        # 554 DT:SPM (judged spam) and other 5xx: retrying the same bytes will not help.
        raise SendError(f"{exc.smtp_code} {_decode_reply(exc.smtp_error)}", permanent=exc.smtp_code >= 500) from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise SendError(f"SMTP {config.host}:{config.port}: {exc}", permanent=False) from exc


def retry_delay(attempts: int, base_seconds: float = 60.0) -> timedelta:
    """Backoff after ``attempts`` failed sends: base, 2×base, 4×base …, at most an hour.

    NetEase asks for about 15 minutes after 451 MI:SFQ; the cap keeps a long
    outage from delaying replies for more than an hour once the server is back.
    """
    return timedelta(seconds=min(3600.0, base_seconds * 2 ** max(0, attempts - 1)))


def config_from_settings(settings) -> SmtpConfig:
    return SmtpConfig(
        host=settings.smtp_host,
        port=settings.smtp_port,
        user=settings.smtp_user,
        password=settings.smtp_password.get_secret_value(),
        use_ssl=settings.smtp_ssl,
        timeout=settings.smtp_timeout,
        envelope_from=settings.smtp_user or settings.from_address,
    )
