"""The house plan, checked: every import arrow points down, none sideways or back up.

Floors, lowest first (README "How the code is laid out"):
  templates                    the wording (every sentence staff and schools read): nothing of ours
  domain, config               shared value types, pure rules, settings: only the wording
  ocr                          pixels to text
  parsers                      documents to form readings
  ledger                       the database and its imports and exports
  intake                       mail in and out, the worker
  review                       the staff web site
  cli                          the one command-line edge
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GROUND = {"domain", "templates", "config"}
MAY_IMPORT: dict[str, set[str]] = {
    "templates": set(),
    "domain": {"templates"},
    "config": {"templates"},
    "ocr": {"domain"},
    "parsers": {"ocr"} | GROUND,
    "ledger": GROUND,
    "intake": {"ledger", "parsers", "ocr"} | GROUND,
    "review": {"intake", "ledger", "parsers", "ocr"} | GROUND,
    "cli": {"review", "intake", "ledger", "parsers", "ocr"} | GROUND,
}
LONG_MODULE_LINES = 450


def ours(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def imported_packages(path: Path) -> set[str]:
    """Top-level names of every import in ``path``, including imports inside functions."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", sorted(MAY_IMPORT))
def test_imports_point_down_the_floors(package):
    wrong = {}
    for path in ours(package):
        bad = (imported_packages(path) & set(MAY_IMPORT)) - MAY_IMPORT[package] - {package}
        if bad:
            wrong[str(path.relative_to(ROOT))] = sorted(bad)
    assert wrong == {}, f"{package} may import only {sorted(MAY_IMPORT[package])}"


def test_every_package_of_the_plan_exists_and_nothing_else_ships():
    # testkit: builders and real servers shared by tests/, bench/ and scripts/demo.py; not in the wheel
    shipped = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests", "bench", "scripts", "testkit"}
    assert shipped == set(MAY_IMPORT)


def test_long_modules_say_why_in_their_docstring():
    unexplained = []
    for package in MAY_IMPORT:
        for path in ours(package):
            lines = path.read_text(encoding="utf-8").count("\n")
            doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
            if lines > LONG_MODULE_LINES and "Long because" not in doc:
                unexplained.append(f"{path.relative_to(ROOT)} ({lines} lines)")
    assert unexplained == [], "split these, or say 'Long because …' in the module docstring"


def test_no_test_imports_another_test():
    offenders = {
        str(path.relative_to(ROOT)): sorted(m for m in _modules(path) if m.startswith("tests.test_"))
        for path in sorted((ROOT / "tests").rglob("*.py"))
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def _modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    names |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    return names


def test_the_root_holds_no_stray_files():
    tracked = {p.name for p in ROOT.iterdir() if p.is_file() and not p.name.startswith(".")}
    assert tracked <= {"README.md", "Makefile", "Dockerfile", "pyproject.toml"}
