"""Every sentence a school or staff member reads, in one catalogue, by key.

The wording lives in the ``*.txt`` files beside this module (see ``README.md``); code
holds keys and values only. A key is ``<file>.<line key>``: ``details.window.closed`` is
the line ``window.closed = …`` of ``details.txt``. Values fill ``{name}`` placeholders
(``str.format``, so ``{time:%Y年%m月%d日}`` and ``{seconds:g}`` work; a literal brace is
written twice). ``reply.txt`` is the one whole-text file: the reply's skeleton, a
``string.Template`` (``$greeting`` …), read with ``Catalogue.document``.

    from templates import say
    say("details.subject.wrong_year", year=2024, expected=2025)

``load(directory)`` gives the bundled wording with any file of the same name in
``directory`` overriding single lines (a profile's own ``reasons.txt``, say); ``say``
and ``text`` read the bundled catalogue. ``PAGES_DIR`` (``review/``) holds the review
site's Jinja pages, the staff pages' own wording. The lowest floor: imports nothing of ours;
``domain`` and ``config`` beside it, and every package above, take their words from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

__all__ = ["CATALOGUE", "DOCUMENTS", "PAGES_DIR", "Catalogue", "load", "read_lines", "say", "text"]

# Files read whole rather than as ``key = text`` lines.
DOCUMENTS = ("reply",)
# The review site's Jinja pages (``review.app`` points its loader here).
PAGES_DIR = Path(__file__).resolve().parent / "review"


def read_lines(content: str, source: str) -> dict[str, str]:
    """``key = text`` lines; ``#`` starts a comment line; a line without ``=`` names ``source`` and its number."""
    values: dict[str, str] = {}
    for number, line in enumerate(content.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"{source}, line {number}: expected 'key = text', got {line!r}")
        values[key.strip()] = value.strip()
    return values


@dataclass(frozen=True)
class Catalogue:
    """The wording: ``groups`` maps a file's name (``details``) to its lines, ``documents`` a whole file's text."""

    groups: Mapping[str, Mapping[str, str]]
    documents: Mapping[str, str]

    def text(self, key: str) -> str:
        """The wording at ``key`` as written, placeholders and all."""
        group, _, name = key.partition(".")
        lines = self.groups.get(group)
        if lines is None or name not in lines:
            raise KeyError(f"no wording {key!r}: add the line {name!r} to templates/{group}.txt")
        return lines[name]

    def say(self, key: str, /, **values: object) -> str:
        """The wording at ``key`` with ``values`` filled in."""
        return self.text(key).format(**values)

    def group(self, name: str) -> dict[str, str]:
        """Every line of one file, ``{line key: text}`` (a copy)."""
        return dict(self.groups[name])

    def document(self, name: str) -> str:
        return self.documents[name]

    def keys(self) -> list[str]:
        return [f"{group}.{key}" for group, lines in self.groups.items() for key in lines]


def load(directory: Path | str | None = None) -> Catalogue:
    """The bundled catalogue; a file of the same name in ``directory`` overrides its lines (or, for
    ``reply.txt``, the whole skeleton). A key missing from the override keeps the bundled text."""
    bundled = resources.files(__name__)
    override_dir = Path(directory) if directory else None
    groups: dict[str, dict[str, str]] = {}
    documents: dict[str, str] = {}
    for entry in sorted(bundled.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".txt"):
            continue
        name = entry.name.removesuffix(".txt")
        override = override_dir / entry.name if override_dir else None
        if not (override and override.is_file()):
            override = None
        if name in DOCUMENTS:
            documents[name] = (override or entry).read_text(encoding="utf-8")
            continue
        groups[name] = read_lines(entry.read_text(encoding="utf-8"), entry.name)
        if override is not None:
            groups[name].update(read_lines(override.read_text(encoding="utf-8"), str(override)))
    return Catalogue(groups, documents)


CATALOGUE = load()


def text(key: str) -> str:
    """The bundled wording at ``key``, as written."""
    return CATALOGUE.text(key)


def say(key: str, /, **values: object) -> str:
    """The bundled wording at ``key`` with ``values`` filled in (``{name}`` placeholders)."""
    return CATALOGUE.say(key, **values)
