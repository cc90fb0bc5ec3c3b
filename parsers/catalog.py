"""Certificate names as schools write them → canonical catalogue names.

Schools add the suffix 职业技能等级证书, mix full- and half-width brackets, and OCR
drops or swaps a character. Matching is exact after normalisation first, then fuzzy
— accepted only when the best candidate is close *and* clearly ahead of the next one
(the margin), so two similar names (网络安全评估 / 网络安全运维) are never confused
silently.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from rapidfuzz import fuzz, process

from domain.state import CertificateRef

BUNDLED_CATALOGUE = Path(__file__).resolve().parent.parent / "config" / "data" / "certificates.csv"

# Longest first: strip the full suffix before its shorter forms.
SUFFIXES = ("职业技能等级证书", "职业技能等级", "等级证书", "证书")
MIN_SCORE = 85.0  # rapidfuzz ratio (0–100) a fuzzy match must reach
MIN_MARGIN = 8.0  # and how far ahead of the runner-up it must be
CONFIDENT_SCORE = 92.0  # a fuzzy match this close (with the margin) is trusted without review

_SPACE = re.compile(r"\s+")
# The suffix as OCR damages it: two of its neighbouring characters kept (职业支能等级证-3,
# 职业技能等级书, 能等级证书 …) and the rest garbled or cut.
_DAMAGED_SUFFIX = re.compile(r"(职业.?.?能|职.?技能|技能等|能等级|等级证).{0,6}$")


def normalise(text: str) -> str:
    """A comparison key: NFKC (full-width → ASCII), no spaces, upper-case Latin, no suffix."""
    key = unicodedata.normalize("NFKC", text)
    key = _SPACE.sub("", key).upper()
    key = key.replace("“", "").replace("”", "").replace("《", "").replace("》", "")
    for suffix in SUFFIXES:
        if key.endswith(suffix) and len(key) > len(suffix) + 1:
            return key[: -len(suffix)]
    # The suffix misread or cut by OCR: no catalogue name holds two neighbouring characters
    # of 职业技能等级证, so everything from them on is the suffix.
    return _DAMAGED_SUFFIX.sub("", key) if len(_DAMAGED_SUFFIX.sub("", key)) > 1 else key


@dataclass(frozen=True)
class CatalogMatch:
    read: str  # the text as read
    name: str | None  # canonical name, None when nothing matched well enough
    score: float  # 0–100, 100 for an exact (normalised) match
    runner_up: float  # score of the second-best distinct name
    exact: bool

    @property
    def confident(self) -> bool:
        """Exact, or so close and so far ahead that no human look is needed."""
        if self.name is None:
            return False
        return self.exact or (self.score >= CONFIDENT_SCORE and self.score - self.runner_up >= MIN_MARGIN)


class Catalogue:
    """An index over certificate names for repeated matching (build once per reading)."""

    def __init__(self, certificates: Sequence[CertificateRef]):
        self._by_key: dict[str, str] = {}
        for ref in certificates:
            self._by_key.setdefault(normalise(ref.name), ref.name)
        self._keys = list(self._by_key)

    def __len__(self) -> int:
        return len(self._by_key)

    def match(self, text: str) -> CatalogMatch:
        key = normalise(text)
        if not key:
            return CatalogMatch(text, None, 0.0, 0.0, False)
        if key in self._by_key:
            return CatalogMatch(text, self._by_key[key], 100.0, 0.0, True)
        best = process.extract(key, self._keys, scorer=fuzz.ratio, limit=2)
        if not best:
            return CatalogMatch(text, None, 0.0, 0.0, False)
        top_key, top, _ = best[0]
        second = best[1][1] if len(best) > 1 else 0.0
        if top >= MIN_SCORE and top - second >= MIN_MARGIN:
            return CatalogMatch(text, self._by_key[top_key], float(top), float(second), False)
        return CatalogMatch(text, None, float(top), float(second), False)


def match_certificate(text: str, certificates: Sequence[CertificateRef]) -> CatalogMatch:
    """One-off match; use ``Catalogue`` when matching many names against one list."""
    return Catalogue(certificates).match(text)


@lru_cache(maxsize=1)
def bundled_certificates() -> tuple[CertificateRef, ...]:
    """The public catalogue shipped in ``config/data`` (for ``intake read`` without a ledger)."""
    refs = []
    with BUNDLED_CATALOGUE.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            levels = frozenset(v for v in (row.get("levels") or "").split("|") if v)
            refs.append(
                CertificateRef(
                    name=row["name"],
                    organization=row.get("organization", ""),
                    levels=levels,
                    batch=row.get("batch", ""),
                )
            )
    return tuple(refs)
