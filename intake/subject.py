"""Subject rules: which unit sends which form for which year, and may we answer it.

The notices write the rule as ``单位名称+2025年证书申报``. Schools write it with a
full-width ＋, full-width digits, spaces, ``回复:``/``Fw:`` prefixes, 【brackets】, or no
``+`` at all; all of that is accepted. Only a subject that does not carry the parts
is malformed, and its reply quotes the exact subject to use, with the unit's name
filled in when we can guess it.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from rapidfuzz import fuzz

from config.profile import FormRule, Profile
from domain.decision import Claim, Reason, ReasonCode
from domain.envelope import Envelope
from domain.state import UnitRef
from intake.archive import ARCHIVE_TYPES, READABLE_TYPES
from templates import say

__all__ = [
    "AttemptHints", "SubjectResult", "attempt_hints", "check_sender", "check_window", "form_words",
    "is_submission_attempt", "normalise", "parse_subject", "reply_address", "resolve_unit",
]

# Reply/forward markers of Chinese and Western clients, after NFKC (full-width colon → ":").
_PREFIX = re.compile(
    r"^\s*(?:(?:re|fw|fwd|aw|wg|sv|回复|回覆|答复|转发|轉發)\s*(?:\[\d+\]|\(\d+\))?\s*:\s*)+", re.IGNORECASE
)
_BRACKETS = {"【": "】", "[": "]", "(": ")", "<": ">", "《": "》", "〔": "〕", "「": "」", "『": "』"}
_INVISIBLE = re.compile(r"[\u200b-\u200f\u2060\ufeff\u00ad]")
_YEAR = re.compile(r"(\d{4})\s*年?")
# A fuzzy match must be this good (0-100) and this far ahead of the runner-up unit.
FUZZY_MIN_SCORE = 85.0
FUZZY_MIN_MARGIN = 8.0


@dataclass(frozen=True)
class SubjectResult:
    claim: Claim | None
    reasons: tuple[Reason, ...] = ()


def normalise(subject: str) -> str:
    """NFKC, no invisible characters, no reply/forward prefixes, no wrapping brackets."""
    text = unicodedata.normalize("NFKC", subject or "")
    text = _INVISIBLE.sub("", text)
    text = re.sub(r"\s+", " ", text).strip()
    while True:
        before = text
        text = _PREFIX.sub("", text).strip()
        if len(text) >= 2 and text[0] in _BRACKETS and text.endswith(_BRACKETS[text[0]]):
            inner = text[1:-1]
            # Only when the pair wraps everything: "【a】b【c】" keeps its brackets.
            if text[0] not in inner and _BRACKETS[text[0]] not in inner:
                text = inner.strip()
        text = text.strip(" .。,，;；:")
        if text == before:
            return text


def _key(name: str) -> str:
    """Comparison form of a unit name: NFKC, no spaces or invisible characters."""
    return re.sub(r"\s+", "", _INVISIBLE.sub("", unicodedata.normalize("NFKC", name or "")))


def resolve_unit(name: str, units: Sequence[UnitRef]) -> UnitRef | None:
    """Exact name, then alias, then a fuzzy match only when one unit is clearly best."""
    key = _key(name)
    if not key:
        return None
    for unit in units:
        if _key(unit.name) == key:
            return unit
    alias_hits = [u for u in units if any(_key(a) == key for a in u.aliases)]
    if len(alias_hits) == 1:
        return alias_hits[0]
    if alias_hits:
        return None  # an alias shared by two units proves nothing
    scored = sorted(
        ((max(fuzz.ratio(key, _key(n)) for n in (u.name, *u.aliases) if _key(n)), i) for i, u in enumerate(units)),
        reverse=True,
    )
    if not scored or scored[0][0] < FUZZY_MIN_SCORE:
        return None
    if len(scored) > 1 and scored[0][0] - scored[1][0] < FUZZY_MIN_MARGIN:
        return None
    return units[scored[0][1]]


def _rule_pattern(rule: FormRule) -> re.Pattern[str]:
    return _suffix_pattern(_key(rule.subject_suffix))


@functools.lru_cache(maxsize=64)
def _suffix_pattern(suffix: str) -> re.Pattern[str]:
    """``^unit [+] YEAR[年] rest-of-suffix …$`` with spaces allowed between any characters."""
    match = _YEAR.search(suffix)
    head, tail = (suffix[: match.start()], suffix[match.end():]) if match else (suffix, "")
    def loose(text: str) -> str:
        return r"\s*".join(re.escape(ch) for ch in text)
    year = r"(?P<year>\d{4})\s*年?" if match else r"(?P<year>)"
    return re.compile(
        rf"^(?P<unit>.*?)\s*\+?\s*{loose(head)}\s*{year}\s*{loose(tail)}(?P<extra>.*)$"
    )


def _expected_year(rule: FormRule, profile: Profile) -> int:
    match = _YEAR.search(_key(rule.subject_suffix))
    return int(match.group(1)) if match else profile.year


def parse_subject(subject: str, profile: Profile, units: Sequence[UnitRef], kind: str | None = None) -> SubjectResult:
    """Match the profile's subject rules; resolve the unit; check the year.

    ``kind``: the form found in the attachments, if known: a malformed subject's reply then
    quotes that form's rule instead of one guessed from the subject's words."""
    text = normalise(subject)
    # The longest suffix first: "证书申报调整申请" must not be read as "证书申报" + extra.
    rules = sorted(profile.forms, key=lambda r: len(r.subject_suffix), reverse=True)
    for rule in rules:
        found = _rule_pattern(rule).match(text)
        if not found or not found.group("unit").strip(" +"):
            continue
        written = found.group("unit").strip(" +")
        extra = found.group("extra").strip()
        if extra and not _harmless_extra(extra):
            continue
        year_text = found.group("year")
        year = int(year_text) if year_text else _expected_year(rule, profile)
        unit = resolve_unit(written, units)
        reasons: list[Reason] = []
        if unit is None:
            reasons.append(Reason(
                ReasonCode.SUBJECT_UNKNOWN_UNIT,
                detail=say("details.subject.unknown_unit", unit=written),
                column=say("details.column.subject"), value=written,
                expected=say("details.subject.unknown_unit.expected"),
            ))
        expected_year = _expected_year(rule, profile)
        if year != expected_year:
            reasons.append(Reason(
                ReasonCode.SUBJECT_WRONG_YEAR,
                detail=say("details.subject.wrong_year", year=year, expected=expected_year),
                column=say("details.column.subject"), value=say("details.subject.wrong_year.value", year=year),
                expected=rule.example_subject(unit.name if unit else written),
            ))
        claim = Claim(unit=unit.name, year=year, kind=rule.kind, subject_unit=written) if unit else None
        return SubjectResult(claim, tuple(reasons))
    return SubjectResult(None, (_malformed(subject, text, profile, units, kind),))


def _harmless_extra(extra: str) -> bool:
    """Trailing words that add nothing, e.g. ``（补交）``, ``汇总表``, ``-盖章版``."""
    return len(extra) <= 20 and not _YEAR.search(extra) and "调" not in extra


def _malformed(subject: str, text: str, profile: Profile, units: Sequence[UnitRef], kind: str | None = None) -> Reason:
    rule = next((r for r in profile.forms if r.kind == kind), None) or _guess_rule(text, profile)
    unit = _guess_unit(text, units)
    expected = rule.example_subject(unit.name if unit else say("details.subject.malformed.unit"))
    return Reason(
        ReasonCode.SUBJECT_MALFORMED,
        detail=say("details.subject.malformed", expected=expected),
        column=say("details.column.subject"), value=subject.strip() or say("phrases.subject.none"), expected=expected,
    )


def _guess_rule(text: str, profile: Profile) -> FormRule:
    """The form the sender most likely meant: the one sharing most words with the subject."""
    def overlap(rule: FormRule) -> float:
        keywords = [rule.name, *rule.title_keywords]
        return max(fuzz.partial_ratio(k, text) for k in keywords) + (10 if any(k in text for k in keywords) else 0)
    return max(profile.forms, key=overlap)


def _guess_unit(text: str, units: Sequence[UnitRef]) -> UnitRef | None:
    """A unit named in a subject that does not follow the rule, if exactly one is."""
    key = _key(text)
    named = {u.name: u for u in units for n in (u.name, *u.aliases) if _key(n) and _key(n) in key}
    if named:
        longest = max(named.values(), key=lambda u: len(u.name))
        # Keep it only when it contains every other hit (南京大学 inside 南京大学金陵学院).
        if all(other.name in longest.name for other in named.values()):
            return longest
        return None
    head = re.split(r"[+\d]", key, maxsplit=1)[0]
    return resolve_unit(head, units) if len(head) >= 2 else None


def check_window(kind: str, received_at: datetime, profile: Profile) -> Reason | None:
    """``window.closed`` when the message arrived outside every window of ``kind``."""
    if profile.window_for(kind, received_at) is not None:
        return None
    rule = profile.form(kind)
    local = received_at.astimezone(profile.timezone)
    windows = "；".join(w.label() for w in rule.windows) or say("details.window.closed.none")
    return Reason(
        ReasonCode.WINDOW_CLOSED,
        detail=say("details.window.closed", arrived=local, form=rule.name, windows=windows),
        column=say("details.column.received"), value=say("details.window.closed.value", arrived=local),
        expected=windows,
    )


_AUTH_FAIL = re.compile(r"\b(spf|dkim|dmarc)\s*=\s*(fail|permerror)\b", re.IGNORECASE)


def check_sender(envelope: Envelope, unit: UnitRef | None) -> Reason | None:
    """``sender.unverified`` unless the sender is a registered contact and passed SPF/DKIM/DMARC.

    ``authentication_results`` is the top-most header, written by our own provider.
    The registered addresses are never quoted back: the sender may not be who it claims.
    """
    failed = sorted({m.group(1).upper() for m in _AUTH_FAIL.finditer(envelope.authentication_results)})
    if failed:
        return Reason(
            ReasonCode.SENDER_UNVERIFIED,
            detail=say("details.sender.unverified.auth", checks="/".join(failed)),
            column=say("details.column.sender"), value=envelope.sender,
            expected=say("details.sender.unverified.auth.expected"),
        )
    contacts = {c.strip().lower() for c in unit.contacts} if unit else set()
    if envelope.sender and envelope.sender.lower() in contacts:
        return None
    # No unit known: nobody's contact, so unverified.
    owner = unit.name if unit else say("details.sender.unverified.owner")
    return Reason(
        ReasonCode.SENDER_UNVERIFIED,
        detail=say("details.sender.unverified", sender=envelope.sender, owner=owner),
        column=say("details.column.sender"), value=envelope.sender,
        expected=say("details.sender.unverified.expected", owner=owner),
    )


def reply_address(envelope: Envelope, unit: UnitRef | None) -> str:
    """Reply-To only when it is a registered contact of the unit; else the sender."""
    if unit and envelope.reply_to and envelope.reply_to.lower() in {c.lower() for c in unit.contacts}:
        return envelope.reply_to
    return envelope.sender


@dataclass(frozen=True)
class AttemptHints:
    """What the subject and the attachment names say about a mail, before any attachment is read.

    ``rule``: the subject follows one of the profile's subject rules (perhaps with a unit
    not on the list or a wrong year). ``words``: submission words, form words or unit
    names found in the subject or in the name of an attachment we could read. ``marker``:
    a word saying the mail is something else (回执, 会议, …), found in the subject once the
    units' names and the forms' own words are taken out; "" when none.
    """

    rule: bool = False
    words: tuple[str, ...] = ()
    marker: str = ""

    @property
    def attempt(self) -> bool:
        """An attempt on the subject's word alone (a form found in an attachment is the other way)."""
        return (self.rule or bool(self.words)) and not self.marker


def form_words(profile: Profile) -> tuple[str, ...]:
    """Each form's own words: its name, its title keywords and its subject rule without the year."""
    words: list[str] = []
    for rule in profile.forms:
        suffix = _key(rule.subject_suffix)
        year = _YEAR.search(suffix)
        without_year = (suffix[: year.start()] + suffix[year.end():]) if year else suffix
        words += [rule.name, *rule.title_keywords, without_year]
    return tuple(dict.fromkeys(w for w in (_key(w).lower() for w in words) if w))


def _named_units(text: str, units: Sequence[UnitRef]) -> list[str]:
    """The keys of every unit name or alias written in ``text`` (a ``_key``-ed, lower-cased text)."""
    return [k for u in units for k in (_key(n).lower() for n in (u.name, *u.aliases)) if k and k in text]


def attempt_hints(envelope: Envelope, profile: Profile, units: Sequence[UnitRef] = ()) -> AttemptHints:
    """The subject's and the attachment names' evidence for a submission attempt (see ``AttemptHints``)."""
    written = _key(normalise(envelope.subject))
    subject = written.lower()
    own = form_words(profile)
    words = tuple(dict.fromkeys((*own, *(_key(w).lower() for w in profile.attempts.words))))
    found = [w for w in words if w in subject]
    if units and _guess_unit(written, units) is not None:
        found.append(say("details.attempt.unit"))
    for attachment in envelope.attachments:
        if attachment.inline or attachment.content_type not in READABLE_TYPES | ARCHIVE_TYPES:
            continue
        name = _key(attachment.filename)
        if any(w in name.lower() for w in words) or (units and _guess_unit(name, units) is not None):
            found.append(say("details.attempt.attachment", name=attachment.filename))
    rule = _follows_rule(normalise(envelope.subject), profile)
    # Markers are looked for where neither a unit's name nor a form's own words are:
    # a school called "…培训学院" or a form titled "…会议…" is no receipt by its name.
    rest = subject
    for known in sorted({*_named_units(subject, units), *own}, key=len, reverse=True):
        rest = rest.replace(known, " ")
    marker = next((m for m in profile.attempts.not_submission if _key(m).lower() in rest), "")
    return AttemptHints(rule=rule, words=tuple(dict.fromkeys(found)), marker=marker)


def _follows_rule(text: str, profile: Profile) -> bool:
    """The (normalised) subject carries a rule's parts, whatever unit or year is written in it."""
    for rule in profile.forms:
        found = _rule_pattern(rule).match(text)
        if found and found.group("unit").strip(" +") and _harmless_extra(found.group("extra").strip()):
            return True
    return False


def is_submission_attempt(envelope: Envelope, profile: Profile, units: Sequence[UnitRef] = ()) -> bool:
    """Does this look like a school trying to submit, on its subject and attachment names alone?

    Yes when the subject follows a subject rule, or carries a submission word, a form's
    own words or a unit's name (or an attachment we could read is named so), and no
    word saying it is something else (``profile.attempts.not_submission``: 回执, 会议 …).
    A bare year is not enough: spam in the polled junk folders carries years too, and
    must not get a reply. Auto-generated mail and mail without a sender address never
    are. ``intake.pipeline`` also counts a mail whose attachment holds a filled form.
    """
    if envelope.auto_generated or "@" not in envelope.sender:
        return False  # nobody to answer, or an answer would start a mail loop
    return attempt_hints(envelope, profile, units).attempt
