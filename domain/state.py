"""A read-only snapshot of what the ledger knows, for the pure rules.

``intake.subject`` resolves units against ``units``; ``parsers`` matches
certificate names against ``certificates``; ``domain.rules`` checks quotas.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

QuotaKey = tuple[int, str, str, str]  # (year, unit, certificate, level), canonical names


@dataclass(frozen=True)
class UnitRef:
    name: str  # canonical 单位名称
    type: str = ""  # 高职 | 本科 | 中职 | 市教育局 | …
    city: str = ""
    aliases: tuple[str, ...] = ()
    contacts: tuple[str, ...] = ()  # registered e-mail addresses, lower-cased


@dataclass(frozen=True)
class CertificateRef:
    name: str  # canonical name, without the suffix 职业技能等级证书
    organization: str = ""
    levels: frozenset[str] = frozenset()  # empty: the catalogue does not say
    batch: str = ""


@dataclass(frozen=True)
class LedgerState:
    units: tuple[UnitRef, ...] = ()
    certificates: tuple[CertificateRef, ...] = ()
    quotas: Mapping[QuotaKey, int] = field(default_factory=dict)

    def unit(self, name: str) -> UnitRef | None:
        return next((u for u in self.units if u.name == name), None)

    def certificate(self, name: str) -> CertificateRef | None:
        return next((c for c in self.certificates if c.name == name), None)
