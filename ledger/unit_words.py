"""The words offices write in a units roster (``config/units.toml``): unit types and headers.

A new wording is a line in that file, not a code change. Matching is on the whole cell
after NFKC, without spaces and case; nothing is matched by part or by similarity.
"""

from __future__ import annotations

import tomllib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ledger.tabular import ImportFileError
from templates import say

UNIT_COLUMNS = ("单位名称", "单位类型", "所属市", "别名", "联系邮箱")


class UnitWordsError(ImportFileError):
    """``config/units.toml`` (or the file given instead) is malformed."""


def word_key(text: str) -> str:
    """How a type or header word is compared: NFKC, no spaces, no case (县（市、区） = 县(市、区))."""
    return "".join(unicodedata.normalize("NFKC", text).split()).casefold()


@dataclass(frozen=True)
class UnitWords:
    """The words offices write in a units roster, from ``config/units.toml``."""

    types: tuple[str, ...]  # canonical types, in the file's order
    type_of: Mapping[str, str]  # word_key(a word offices write, or a canonical type) -> canonical type
    headers: Mapping[str, tuple[str, ...]]  # canonical column -> other header texts

    def canonical_type(self, written: str) -> str | None:
        return self.type_of.get(word_key(written))


def unit_words_file() -> Path:
    return Path(str(resources.files("config").joinpath("units.toml")))


def load_unit_words(path: Path | None = None) -> UnitWords:
    """Read and check the synonym tables (``config/units.toml`` unless ``path`` is given)."""
    path = Path(path) if path else unit_words_file()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UnitWordsError([f"{path}: {say('imports.words.unreadable', error=exc)}"]) from exc
    problems = []
    types, type_of = [], {}
    for canonical, words in data.get("types", {}).items():
        if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
            problems.append(f"{path}: {say('imports.words.not_a_list', table='types', word=canonical)}")
            continue
        types.append(canonical)
        for word in (canonical, *words):
            earlier = type_of.setdefault(word_key(word), canonical)
            if earlier != canonical:
                why = say("imports.words.type_twice", word=word, first=earlier, second=canonical)
                problems.append(f"{path}: {why}")
    headers, owner = {}, {word_key(c): c for c in UNIT_COLUMNS}
    for column, words in data.get("headers", {}).items():
        if column not in UNIT_COLUMNS:
            why = say("imports.words.not_a_column", column=column, columns="、".join(UNIT_COLUMNS))
            problems.append(f"{path}: {why}")
            continue
        if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
            problems.append(f"{path}: {say('imports.words.not_a_list', table='headers', word=column)}")
            continue
        for word in words:
            earlier = owner.setdefault(word_key(word), column)
            if earlier != column:
                problems.append(f"{path}: {say('imports.words.header_twice', word=word, first=earlier, second=column)}")
        headers[column] = tuple(words)
    if not types:
        problems.append(f"{path}: {say('imports.words.no_types')}")
    if problems:
        raise UnitWordsError(problems)
    return UnitWords(tuple(types), type_of, headers)
