"""Runtime settings: ``INTAKE_*`` environment variables, optionally a TOML file.

The environment wins over the file. Validation happens once, at start, and a bad
value is reported with the environment variable's name so the operator knows
what to fix. Secrets are ``SecretStr`` so they never appear in logs or reprs.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SETTINGS_FILE_ENV = "INTAKE_SETTINGS_FILE"
SECRET_FIELDS = ("imap_password", "smtp_password", "db_url")


class SettingsError(Exception):
    """A setting is missing or malformed; the message names the variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="INTAKE_", extra="forbid", frozen=True)

    profile: str = "anhui-2025"
    profile_dir: Path | None = None  # extra directory searched for profile files
    db_url: SecretStr = SecretStr("")  # a PostgreSQL URL may carry a password
    data_dir: Path = Path("var/data")

    imap_host: str = "localhost"
    imap_port: int = Field(993, ge=1, le=65535)
    imap_user: str = ""
    imap_password: SecretStr = SecretStr("")
    imap_ssl: bool = True
    imap_folder: str = "INBOX"
    imap_timeout: float = Field(60.0, gt=0)
    poll_interval: float = Field(60.0, gt=0)

    smtp_host: str = "localhost"
    smtp_port: int = Field(465, ge=1, le=65535)
    smtp_user: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_ssl: bool = True
    smtp_timeout: float = Field(60.0, gt=0)

    # Seconds before a failed step (a refused reply, a crashed processing attempt) is
    # retried; doubles with each failure, at most an hour.
    retry_base: float = Field(60.0, ge=0)
    # How long a processing worker holds a claimed message before others may take it.
    process_lease: float = Field(900.0, gt=0)

    from_: str = Field("", alias="INTAKE_FROM", validation_alias="INTAKE_FROM")

    log_format: str = "auto"  # auto | json | console

    # The staff digest (one mail a day at digest_hour, the profile's zone) goes to these
    # addresses, separated by commas or semicolons; none: no digest. site_url: the review site.
    staff_addresses: str = ""
    digest_hour: int = Field(8, ge=0, le=23)
    site_url: str = ""

    # Limits on hostile or broken input; going over one gives attachment.unreadable.
    # A mail over max_message_mb (RFC822.SIZE) is not downloaded: only its header is.
    max_message_mb: float = Field(50.0, gt=0)
    max_attachments: int = Field(20, ge=1)
    max_attachment_mb: float = Field(25.0, gt=0)
    max_zip_entries: int = Field(50, ge=1)
    max_zip_ratio: int = Field(200, ge=10)  # uncompressed / compressed, per entry over 1 MB
    max_pdf_pages: int = Field(30, ge=1)
    max_image_megapixels: float = Field(80.0, gt=0)
    max_read_seconds: float = Field(300.0, gt=0)  # reading one attachment (OCR included)
    max_message_read_seconds: float = Field(900.0, gt=0)  # all attachments of one mail

    @field_validator("log_format")
    @classmethod
    def _known_log_format(cls, value: str) -> str:
        if value not in {"auto", "json", "console"}:
            raise ValueError("must be auto, json or console")
        return value

    @field_validator("staff_addresses")
    @classmethod
    def _addresses(cls, value: str) -> str:
        bad = [a for a in _split_addresses(value) if "@" not in a]
        if bad:
            raise ValueError(f"not an address: {', '.join(bad)}")
        return value

    @property
    def staff_list(self) -> list[str]:
        return _split_addresses(self.staff_addresses)

    @property
    def database_url(self) -> str:
        return self.db_url.get_secret_value() or f"sqlite:///{(self.data_dir.parent / 'ledger.sqlite3').as_posix()}"

    @property
    def from_address(self) -> str:
        return self.from_ or self.smtp_user or self.imap_user


def _split_addresses(value: str) -> list[str]:
    return list(dict.fromkeys(a.strip().lower() for a in value.replace(";", ",").split(",") if a.strip()))


def _file_values(path: Path) -> dict[str, object]:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise SettingsError(f"{SETTINGS_FILE_ENV}: file not found: {path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: not valid TOML: {exc}") from exc
    # Keys in the file may be written with or without the INTAKE_ prefix, any case.
    values: dict[str, object] = {}
    for key, value in raw.items():
        name = key.lower().removeprefix("intake_")
        values["INTAKE_FROM" if name == "from" else name] = value
    return values


def _secret_files(env: dict[str, str]) -> dict[str, str]:
    """``INTAKE_IMAP_PASSWORD_FILE=/run/secrets/imap`` and the like: secrets read from files."""
    values = {}
    for name in SECRET_FIELDS:
        key = f"INTAKE_{name.upper()}"
        if f"{key}_FILE" not in env:
            continue
        if key in env:
            raise SettingsError(f"{key} and {key}_FILE are both set; keep one")
        path = Path(env.pop(f"{key}_FILE"))
        try:
            values[key] = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SettingsError(f"{key}_FILE: cannot read {path}: {exc.strerror}") from None
    return values


def load_settings(env: dict[str, str] | None = None) -> Settings:
    """Read and validate the settings, raising ``SettingsError`` naming the bad key."""
    env = dict(os.environ if env is None else env)
    env.update(_secret_files(env))
    file_values: dict[str, object] = {}
    if env.get(SETTINGS_FILE_ENV):
        file_values = _file_values(Path(env[SETTINGS_FILE_ENV]))
    env_values = {
        ("INTAKE_FROM" if k == "INTAKE_FROM" else k.removeprefix("INTAKE_").lower()): v
        for k, v in env.items()
        if k.startswith("INTAKE_") and k != SETTINGS_FILE_ENV
    }
    merged = {**file_values, **env_values}
    try:
        return Settings.model_validate(merged)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "?"
            name = field if field.startswith("INTAKE_") else f"INTAKE_{field.upper()}"
            problems.append(f"{name}: {error['msg']}")
        raise SettingsError("invalid settings: " + "; ".join(problems)) from None
