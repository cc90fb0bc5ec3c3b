"""How sure is it that the unit name printed on a form is another unit than the subject's?

A reader misreads a character now and then (颍 as 颖, 亳 as 毫), and a school must never
be told "your form names another unit" for our misreading. So the printed name is
compared with the subject's unit and its aliases under a distance where a substitution
between characters that look alike (``confusables.txt``) costs little, and with every
other registered unit. Only a name that is clearly another unit, or clearly far from the
subject's, is a mismatch; a near match is the subject's unit; anything between is for
staff.
"""

from __future__ import annotations

import enum
import functools
import unicodedata
from collections.abc import Iterable, Sequence
from importlib import resources

from domain.state import UnitRef

LOOK_ALIKE_COST = 0.25  # a substitution between confusable characters
NEAR_FRACTION = 0.1  # near: at most one plain edit per ten characters (at least one)
FAR_FRACTION = 0.3  # far: more than three plain edits per ten characters (at least two)
MARGIN = 1 - LOOK_ALIKE_COST  # near only when every other unit is a plain edit further away


class UnitMatch(enum.Enum):
    SAME = "same"  # the subject's unit or one of its aliases, as written
    NEAR = "near"  # the subject's unit, a few look-alike characters misread
    OTHER_UNIT = "other_unit"  # (nearly) exactly another registered unit
    FAR = "far"  # none of the registered units, far from the subject's
    UNSURE = "unsure"  # between near and far, blank, or close to two units: staff decide


def normalise_name(name: str) -> str:
    """Compare names as printed: full-width/half-width (NFKC, brackets too) and spaces do not matter."""
    return "".join(unicodedata.normalize("NFKC", name or "").split())


key = normalise_name


@functools.cache
def _look_alike() -> dict[str, frozenset[str]]:
    text = resources.files("domain").joinpath("confusables.txt").read_text(encoding="utf-8")
    groups: dict[str, set[str]] = {}
    for line in text.splitlines():
        for group in line.split("#", 1)[0].split():
            for ch in group:
                groups.setdefault(ch, set()).update(group)
    return {ch: frozenset(others - {ch}) for ch, others in groups.items() if others - {ch}}


def distance(a: str, b: str) -> float:
    """Weighted edit distance: insert, delete or substitute 1; a look-alike substitution less."""
    look_alike = _look_alike()
    previous = [float(j) for j in range(len(b) + 1)]
    for i, ca in enumerate(a, 1):
        current = [float(i)]
        for j, cb in enumerate(b, 1):
            swap = 0.0 if ca == cb else LOOK_ALIKE_COST if cb in look_alike.get(ca, ()) else 1.0
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + swap))
        previous = current
    return previous[-1]


def _nearest(printed: str, names: Iterable[str]) -> float:
    return min((distance(printed, k) for k in map(key, names) if k), default=float("inf"))


def match_unit(printed: str, claimed: UnitRef | str, units: Sequence[UnitRef]) -> tuple[UnitMatch, str]:
    """The verdict on ``printed`` against the subject's unit, and the other unit's name when it is one."""
    unit = claimed if isinstance(claimed, UnitRef) else UnitRef(name=claimed)
    text = key(printed)
    if not text:
        return UnitMatch.UNSURE, ""
    own = (unit.name, *unit.aliases)
    if text in {key(n) for n in own}:
        return UnitMatch.SAME, ""
    size = max(len(text), min(len(key(n)) for n in own))
    near, far = max(1.0, NEAR_FRACTION * size), max(2.0, FAR_FRACTION * size)
    mine = _nearest(text, own)
    others = sorted(((_nearest(text, (u.name, *u.aliases)), u.name) for u in units if u.name != unit.name))
    closest_other, other_name = others[0] if others else (float("inf"), "")
    if closest_other == 0:  # exactly another unit: a mismatch, unless a misreading of ours could make it
        return (UnitMatch.OTHER_UNIT, other_name) if mine > near else (UnitMatch.UNSURE, other_name)
    if any(len(key(n)) >= 4 and key(n) in text for n in own):
        return UnitMatch.NEAR, ""  # the subject's name with something run into it (a date, a stroke)
    if mine <= near and closest_other >= mine + MARGIN:
        return UnitMatch.NEAR, ""
    if closest_other <= min(near, LOOK_ALIKE_COST * 2) and mine > near and closest_other < mine:
        return UnitMatch.OTHER_UNIT, other_name
    if mine > far and closest_other > near:
        return UnitMatch.FAR, ""
    return UnitMatch.UNSURE, other_name if closest_other <= near else ""
