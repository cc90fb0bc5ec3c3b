"""Reading staff spreadsheets (xlsx or csv) into rows keyed by canonical header names.

Staff prepare these files by hand in Excel or WPS: headers may carry full-width
characters, spaces, a ``*`` for required columns, and a title row above them; CSV
files saved on Chinese Windows are GB18030, not UTF-8. All of that is accepted; what
cannot be read is reported as ``file:row:column: 说明``.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

HEADER_SEARCH_ROWS = 5  # a title row or two may sit above the header


class ImportFileError(Exception):
    """A file cannot be imported. ``problems`` are ``file:row:column: 说明`` lines."""

    def __init__(self, problems: Sequence[str]):
        self.problems = tuple(problems)
        shown = list(self.problems[:50])
        if len(self.problems) > 50:
            shown.append(f"……另有 {len(self.problems) - 50} 处问题未列出")
        super().__init__("\n".join(shown))


@dataclass(frozen=True)
class Row:
    number: int  # the row number staff see in Excel (1-based, header included)
    values: dict[str, str]  # canonical header -> cell text, stripped


@dataclass(frozen=True)
class Table:
    source: str  # the file name as given, for messages
    rows: tuple[Row, ...]


def normalise_header(text: str) -> str:
    """``' 单位名称＊ '`` and ``'单位 名称'`` both name the column ``单位名称``."""
    text = "".join(unicodedata.normalize("NFKC", text).split())
    return text.strip("*")


def cell_text(value: object) -> str:
    """A cell as text: integral floats lose their ``.0``, dates become ISO."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value).replace("\u3000", " ").strip()


def _read_csv(path: Path) -> list[list[object]]:
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes every byte string
        raise ImportFileError([f"{path.name}: 无法识别文件编码，请另存为 UTF-8 编码的 CSV 文件"])
    return list(csv.reader(io.StringIO(text)))


def _read_xlsx(path: Path) -> list[list[object]]:
    from zipfile import BadZipFile

    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, BadZipFile, OSError, KeyError, ValueError) as exc:
        raise ImportFileError([f"{path.name}: 不是有效的 xlsx 文件（{exc}），请用 Excel 另存为 .xlsx 后重试"]) from exc
    try:
        sheet = workbook.worksheets[0]
        return [list(row) for row in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()


def read_table(path: Path, columns: Sequence[str]) -> Table:
    """Read the first sheet of an xlsx (or a csv) whose header names every one of ``columns``."""
    path = Path(path)
    if not path.is_file():
        raise ImportFileError([f"{path}: 文件不存在"])
    suffix = path.suffix.lower()
    if suffix == ".csv":
        raw = _read_csv(path)
    elif suffix in (".xlsx", ".xlsm"):
        raw = _read_xlsx(path)
    else:
        raise ImportFileError([f"{path.name}: 只能导入 .xlsx 或 .csv 文件，而不是 “{path.suffix}”"])

    wanted = list(columns)
    for index, cells in enumerate(raw[:HEADER_SEARCH_ROWS]):
        headers = [normalise_header(cell_text(c)) for c in cells]
        if set(wanted) <= set(headers):
            break
    else:
        first = [cell_text(c) for c in raw[0]] if raw else []
        missing = [c for c in wanted if c not in {normalise_header(h) for h in first}]
        problem = (f"{path.name}:1: 表头缺少列 {'、'.join(missing)}；"
                   f"表头应为：{','.join(wanted)}（读到的表头：{','.join(first) or '空'}）")
        raise ImportFileError([problem])

    duplicated = sorted({h for h in headers if h in wanted and headers.count(h) > 1})
    if duplicated:
        raise ImportFileError([f"{path.name}:{index + 1}: 表头中列 {'、'.join(duplicated)} 出现了不止一次"])
    positions = {name: headers.index(name) for name in wanted}
    rows = []
    for number, cells in enumerate(raw[index + 1:], start=index + 2):
        values = {name: cell_text(cells[pos]) if pos < len(cells) else "" for name, pos in positions.items()}
        if any(values.values()):  # blank rows are spacing, not data
            rows.append(Row(number, values))
    return Table(source=path.name, rows=tuple(rows))
