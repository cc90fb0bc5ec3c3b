"""Form models: what the reader extracted from one page, with confidence per field.

A field the reader is not sure of carries ``confident=False``; reconciliation
turns that into ``ocr.low_confidence`` (a human look), never a silent guess.
"""

from __future__ import annotations

from dataclasses import dataclass, field

LEVELS = ("初级", "中级", "高级")


@dataclass(frozen=True)
class SummaryLine:
    row: int  # the form's 序号, or the table row position when 序号 is blank
    certificate: str  # canonical catalogue name when matched, else the text as read
    level: str  # 初级 | 中级 | 高级, or the text as read when it is none of them
    count: int | None  # None when the cell is empty or unreadable
    confident: bool = True
    certificate_read: str = ""  # the certificate text exactly as read, before matching
    certificate_matched: bool = True  # the name was found in the catalogue


@dataclass(frozen=True)
class IncreaseLine:
    row: int
    certificate: str
    level: str
    approved: int | None  # 原批准人数
    requested: int | None  # 调增后人数
    confident: bool = True
    certificate_read: str = ""
    certificate_matched: bool = True
    unsure: tuple[str, ...] = ()  # the fields (certificate, level, approved, requested) not read surely
    approved_options: tuple[int, ...] = ()  # every engine's reading of 原批准人数, for the ledger to choose from


@dataclass(frozen=True)
class SummaryForm:
    unit: str  # the unit name as read from 学校名称（校章）
    stamp: bool
    total: int | None  # the 合计 row, None when absent or unreadable
    lines: tuple[SummaryLine, ...]
    unit_confident: bool = True
    total_confident: bool = True
    # False when the table itself could not be read (no header found, no rows): the
    # lines are then incomplete and the form needs a human look (ocr.low_confidence).
    table_confident: bool = True
    # False when no stamp was found but a faint round mark was (a gray scan): the
    # missing stamp then asks for a human look (ocr.low_confidence), not form.stamp_missing.
    stamp_confident: bool = True
    kind: str = field(default="summary", init=False)


@dataclass(frozen=True)
class IncreaseForm:
    unit: str
    stamp: bool
    lines: tuple[IncreaseLine, ...]
    unit_confident: bool = True
    table_confident: bool = True  # see SummaryForm.table_confident
    stamp_confident: bool = True  # see SummaryForm.stamp_confident
    kind: str = field(default="increase", init=False)


Form = SummaryForm | IncreaseForm


@dataclass(frozen=True)
class PageReading:
    """One page of one attachment, classified and (for a form page) read."""

    index: int  # 0-based page number inside the attachment
    kind: str  # summary | increase | application | unknown
    form: Form | None = None
    source: str = ""  # "text" (PDF text layer) or "ocr"
    notes: tuple[str, ...] = ()  # short human-readable remarks (rotation fixed, seal found…)
    has_table: bool = False  # a ruled table was found: "no form here" is then not sure enough to reject
    illegible: bool = False  # a picture the OCR read next to nothing of: "no form here" is not sure either


@dataclass(frozen=True)
class DocumentReading:
    filename: str
    pages: tuple[PageReading, ...]

    @property
    def forms(self) -> list[Form]:
        return [p.form for p in self.pages if p.form is not None]
