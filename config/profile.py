"""Province profiles: the rules of one province and year, read from a TOML file.

A new year or province is a new file in ``config/profiles/`` (or any directory
named by ``INTAKE_PROFILE_DIR``), never a code change.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from templates import say

PROFILE_DIR = Path(__file__).with_name("profiles")
PROFILE_DIR_ENV = "INTAKE_PROFILE_DIR"
FORM_KINDS = ("summary", "increase")
UNIT_PLACEHOLDER = "{单位名称}"


class ProfileError(Exception):
    """A profile file is missing or malformed."""


@dataclass(frozen=True)
class Window:
    """An application window: whole days, both ends included, in the profile's zone."""

    start: date
    end: date

    def contains(self, moment: datetime, zone: ZoneInfo) -> bool:
        local = moment.astimezone(zone)
        opens = datetime.combine(self.start, time.min, zone)
        closes = datetime.combine(self.end + timedelta(days=1), time.min, zone)
        return opens <= local < closes

    def label(self) -> str:
        """The window as schools and staff read it (``details.window.label``)."""
        return say("details.window.label", start=self.start, end=self.end)


@dataclass(frozen=True)
class FormRule:
    """One kind of form the office accepts: its subject rule, windows and table columns."""

    kind: str  # summary | increase
    name: str  # the form's Chinese name, e.g. 申报学校汇总表
    subject: str  # e.g. "{单位名称}+2025年证书申报"
    windows: tuple[Window, ...]
    title_keywords: tuple[str, ...]
    columns: dict[str, tuple[str, ...]]  # field -> header texts that name it

    @property
    def subject_suffix(self) -> str:
        """The part of the subject after the unit name and the ``+``."""
        return self.subject.replace(UNIT_PLACEHOLDER, "").lstrip("+＋ ")

    def example_subject(self, unit: str) -> str:
        return self.subject.replace(UNIT_PLACEHOLDER, unit)

    def column_names(self) -> dict[str, str]:
        """The header text naming each field on this form (its first listed name), as replies quote it."""
        return {field: names[0] for field, names in self.columns.items() if names}


@dataclass(frozen=True)
class Folders:
    accepted: str
    rejected: str
    review: str
    ignored: str  # auto-replies, bounces, mailing lists: nothing for staff to do
    # Mail that is no submission attempt (a meeting receipt, a question): no reply, staff
    # read it. "" (a profile without ``other``) means the ignored folder.
    other: str = ""

    @property
    def other_mail(self) -> str:
        return self.other or self.ignored


# Subject words that make a mail a submission attempt (besides each form's own name, title
# keywords and subject rule, and the units' names), and words that mark a mail as something
# else (a receipt, an invitation) even when it also names a unit or a certificate.
DEFAULT_ATTEMPT_WORDS = ("申报", "调增", "证书", "指标", "汇总表", "申请表", "1+x")
DEFAULT_NOT_SUBMISSION_WORDS = (
    "回执", "会议", "参会", "会务", "培训", "研讨", "讲座", "报名", "通知", "邀请", "发票", "简历", "招聘",
    "应聘", "广告", "推广", "征订", "代办",
)


@dataclass(frozen=True)
class AttemptWords:
    """How a mail that does not follow a subject rule is told apart from other mail."""

    words: tuple[str, ...] = DEFAULT_ATTEMPT_WORDS
    not_submission: tuple[str, ...] = DEFAULT_NOT_SUBMISSION_WORDS


@dataclass(frozen=True)
class Profile:
    id: str
    province: str
    year: int
    timezone: ZoneInfo
    mailbox: str
    office: str
    signature: str
    poll_folders: tuple[str, ...]
    folders: Folders
    forms: tuple[FormRule, ...]
    attempts: AttemptWords = AttemptWords()
    # Automatic 催报: on these days before a window's end (3: three days before), at this local hour.
    remind_days_before: tuple[int, ...] = ()
    remind_hour: int = 9

    def form(self, kind: str) -> FormRule:
        for rule in self.forms:
            if rule.kind == kind:
                return rule
        raise KeyError(kind)

    def window_for(self, kind: str, moment: datetime) -> Window | None:
        """The window of ``kind`` that contains ``moment``, if any."""
        for window in self.form(kind).windows:
            if window.contains(moment, self.timezone):
                return window
        return None


def _require(table: dict, key: str, where: str):
    if key not in table:
        raise ProfileError(f"{where}: missing key '{key}'")
    return table[key]


def _parse_form(raw: dict, where: str) -> FormRule:
    kind = _require(raw, "kind", where)
    if kind not in FORM_KINDS:
        raise ProfileError(f"{where}: kind must be one of {', '.join(FORM_KINDS)}, not {kind!r}")
    subject = _require(raw, "subject", where)
    if UNIT_PLACEHOLDER not in subject:
        raise ProfileError(f"{where}: subject must contain {UNIT_PLACEHOLDER}")
    windows = []
    for pair in _require(raw, "windows", where):
        try:
            start, end = (date.fromisoformat(str(v)) for v in pair)
        except (TypeError, ValueError) as exc:
            raise ProfileError(f"{where}: window {pair!r} is not [YYYY-MM-DD, YYYY-MM-DD]") from exc
        if end < start:
            raise ProfileError(f"{where}: window {pair!r} ends before it starts")
        windows.append(Window(start, end))
    columns = {k: tuple(v) for k, v in _require(raw, "columns", where).items()}
    return FormRule(
        kind=kind,
        name=_require(raw, "name", where),
        subject=subject,
        windows=tuple(windows),
        title_keywords=tuple(_require(raw, "title_keywords", where)),
        columns=columns,
    )


def _words(table: dict, key: str, default: tuple[str, ...], where: str) -> tuple[str, ...]:
    value = table.get(key, list(default))
    if not isinstance(value, list) or not all(isinstance(w, str) and w.strip() for w in value):
        raise ProfileError(f"{where}: {key} must be a list of non-empty strings")
    return tuple(w.strip() for w in value)


def _parse_attempts(raw: dict, where: str) -> AttemptWords:
    table = raw.get("attempts", {})
    if not isinstance(table, dict):
        raise ProfileError(f"{where}: [attempts] must be a table")
    unknown = set(table) - {"words", "not_submission"}
    if unknown:
        raise ProfileError(f"{where}: [attempts] has unknown keys {', '.join(sorted(unknown))}")
    return AttemptWords(
        words=_words(table, "words", DEFAULT_ATTEMPT_WORDS, f"{where} [attempts]"),
        not_submission=_words(table, "not_submission", DEFAULT_NOT_SUBMISSION_WORDS, f"{where} [attempts]"),
    )


def _parse_reminders(raw: dict, where: str) -> dict:
    days = raw.get("remind_days_before", [])
    hour = raw.get("remind_hour", 9)
    if not isinstance(days, list) or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in days):
        raise ProfileError(f"{where}: remind_days_before must be a list of whole days (0 or more), e.g. [3, 1]")
    if not isinstance(hour, int) or isinstance(hour, bool) or not 0 <= hour <= 23:
        raise ProfileError(f"{where}: remind_hour must be an hour of the day, 0 to 23")
    return {"remind_days_before": tuple(sorted(set(days), reverse=True)), "remind_hour": hour}


def parse_profile(text: str, source: str) -> Profile:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{source}: not valid TOML: {exc}") from exc
    for key in ("id", "province", "year", "mailbox", "office", "signature", "folders", "forms"):
        _require(raw, key, source)
    folders = raw["folders"]
    forms = tuple(
        _parse_form(form, f"{source} [[forms]] #{i + 1}")
        for i, form in enumerate(_require(raw, "forms", source))
    )
    return Profile(
        id=_require(raw, "id", source),
        province=_require(raw, "province", source),
        year=int(_require(raw, "year", source)),
        timezone=ZoneInfo(raw.get("timezone", "Asia/Shanghai")),
        mailbox=_require(raw, "mailbox", source),
        office=_require(raw, "office", source),
        signature=_require(raw, "signature", source).strip(),
        poll_folders=tuple(raw.get("poll_folders", ["INBOX"])),
        folders=Folders(**{k: _require(folders, k, f"{source} [folders]")
                           for k in ("accepted", "rejected", "review", "ignored")},
                        other=folders.get("other", "")),
        forms=forms,
        attempts=_parse_attempts(raw, source),
        **_parse_reminders(raw, source),
    )


def profile_dirs(extra: Path | None = None) -> list[Path]:
    extra = extra or (Path(os.environ[PROFILE_DIR_ENV]) if os.environ.get(PROFILE_DIR_ENV) else None)
    return ([extra] if extra else []) + [PROFILE_DIR]


def available_profiles(extra: Path | None = None) -> list[str]:
    return sorted({p.stem for d in profile_dirs(extra) if d.is_dir() for p in d.glob("*.toml")})


def load_profile(name: str, extra_dir: Path | None = None) -> Profile:
    """Load ``name`` (a profile id such as ``anhui-2025``, or a path to a TOML file).

    ``extra_dir`` (or ``INTAKE_PROFILE_DIR``) is searched before the bundled profiles.
    """
    dirs = profile_dirs(extra_dir)
    candidates = [Path(name)] if name.endswith(".toml") else [d / f"{name}.toml" for d in dirs]
    for path in candidates:
        if path.is_file():
            return parse_profile(path.read_text(encoding="utf-8"), str(path))
    known = ", ".join(available_profiles(extra_dir)) or "none"
    raise ProfileError(f"INTAKE_PROFILE: no profile named {name!r} (available: {known})")
