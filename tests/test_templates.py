"""The wording catalogue (``templates/``): every key used in code exists, every line is used,
and the modules that were cleaned hold no Chinese sentence of their own.

A key is used in code as the first argument (a string, an f-string whose ``{…}`` parts
stand for any key segment, or ``a if … else b`` of those) of ``say(…)``, ``text(…)`` or
``intake.archive._why(…)``, or as any positional argument of ``Templates.phrase(…)`` (a line
of ``phrases.txt``). ``reasons.txt`` is read by reason code and checked against ``ReasonCode``
instead. The review site's Jinja pages (``templates/review/``) are checked to be there.
"""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest

import templates
from domain.decision import ReasonCode
from intake.replies import load_templates

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("domain", "templates", "config", "ocr", "parsers", "ledger", "intake", "review", "cli")
KEY_FUNCTIONS = {"say", "text", "_why"}
CJK_RUN = re.compile(r"[\u4e00-\u9fff]{4,}")

# Modules whose prose moved to the catalogue. Runs of four or more CJK characters may remain
# only as data, listed here with the reason: never shown as a sentence, only matched against
# what others write or used as a key.
CLEANED: dict[str, set[str]] = {
    "intake/subject.py": set(),
    "intake/archive.py": set(),
    # Subjects of auto-replies and bounces, matched to ignore such mail.
    "intake/message.py": {"自动回复", "自动答复", "系统退信", "投递失败"},
    "intake/replies.py": set(),
    "intake/pipeline.py": set(),
    "intake/worker.py": set(),
    "parsers/documents.py": set(),
    # Certificate-name suffixes stripped before names are compared with the catalogue.
    "parsers/catalog.py": {"职业技能等级证书", "职业技能等级", "等级证书", "职业技能"},
    "parsers/errors.py": set(),
    "parsers/forms.py": set(),
    # Words matched on the page (the unit line's labels); the readers' notes are attachments.txt's.
    "parsers/unit_line.py": {"学校名称", "单位名称", "填报单位", "申报单位", "填报学校", "申报学校"},
    "parsers/values.py": set(),
    "parsers/reader.py": set(),
    "domain/decision.py": set(),
    # The import contract's column names (the keys of a row; messages quote the file's own
    # header text) and the certificate suffix stripped from catalogue names.
    "ledger/imports.py": {"单位名称", "单位类型", "联系邮箱", "证书名称", "培训评价组织", "批准人数", "职业技能等级证书"},
    "ledger/tabular.py": set(),
    "ledger/export.py": set(),
    "config/__init__.py": set(),
    "config/settings.py": set(),
    # The placeholder profiles write in a subject rule ("{单位名称}+2025年证书申报").
    "config/profile.py": {"单位名称"},
    # The Anhui 2025 forms' header texts, the column a reason is placed in when the profile
    # names none: the form's own words, quoted as printed and matched by the review pages.
    "domain/rules.py": {"职业技能等级证书", "拟申报人数", "证书名称", "证书级别", "原批准人数", "调增后人数",
                        "学校名称"},
}
# Packages whose every module (today's and any added later) holds no Chinese sentence.
CLEAN_PACKAGES = ("review", "cli")
CLEANED.update({str(path.relative_to(ROOT)): set() for package in CLEAN_PACKAGES
                for path in sorted((ROOT / package).rglob("*.py")) if str(path.relative_to(ROOT)) not in CLEANED})


def _sources() -> list[Path]:
    return sorted(p for package in PACKAGES if (ROOT / package).is_dir() for p in (ROOT / package).rglob("*.py"))


def _key_pattern(node: ast.expr) -> str | None:
    """A regex for the key(s) ``node`` names: a string exactly, an f-string with any segment per field."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return re.escape(node.value)
    if isinstance(node, ast.JoinedStr):
        return "".join(re.escape(part.value) if isinstance(part, ast.Constant) else r"[\w.]*"
                       for part in node.values)
    if isinstance(node, ast.IfExp):
        branches = (_key_pattern(node.body), _key_pattern(node.orelse))
        return f"(?:{branches[0]}|{branches[1]})" if None not in branches else None
    return None


def keys_in_code() -> dict[str, list[str]]:
    """Key pattern → where it is used (``file:line``)."""
    found: dict[str, list[str]] = {}
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in KEY_FUNCTIONS and node.args:
                patterns = [_key_pattern(node.args[0])]
            elif name == "phrase":
                patterns = [f"phrases\\.{p}" for p in map(_key_pattern, node.args) if p is not None]
            else:
                continue
            for pattern in filter(None, patterns):
                found.setdefault(pattern, []).append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_the_scan_finds_the_keys_it_should():
    used = keys_in_code()
    assert re.escape("details.window.closed") in used
    assert "phrases\\.section\\.problems" in used
    assert any(re.fullmatch(p, "export.reason.cert.unknown") for p in used)
    assert any(re.fullmatch(p, "cli.read.stamp.no") for p in used)  # text("…yes" if … else "…no")
    assert any(re.fullmatch(p, "phrases.staff.rejected.note") for p in used)  # t.phrase("staff.rejected.note", …)


def test_every_key_used_in_code_is_in_the_catalogue():
    keys = templates.CATALOGUE.keys()
    missing = {pattern: where for pattern, where in keys_in_code().items()
               if not any(re.fullmatch(pattern, key) for key in keys)}
    assert missing == {}, "add these lines to templates/<file>.txt (or fix the key in code)"


def test_every_line_of_the_catalogue_is_used():
    patterns = list(keys_in_code())
    unused = [key for key in templates.CATALOGUE.keys()
              if not key.startswith("reasons.") and not any(re.fullmatch(p, key) for p in patterns)]
    assert unused == [], "remove these lines, or use them"


def test_reasons_hold_every_code_and_nothing_else():
    reasons = templates.CATALOGUE.group("reasons")
    codes = {str(code) for code in ReasonCode}
    allowed = {f"{c}{suffix}" for c in codes for suffix in ("", ".fix", ".fix.rejected")}
    assert set(reasons) - allowed == set()
    assert {c for c in codes if c not in reasons or f"{c}.fix" not in reasons} == set()
    export = templates.CATALOGUE.group("export")
    assert {c for c in codes if f"reason.{c}" not in export} == set()
    # The review pages' own short names, where they differ from the workbook's, name real codes.
    staff = templates.CATALOGUE.group("staff")
    assert {k for k in staff if k.startswith("reason.") and k.removeprefix("reason.") not in codes} == set()


def test_every_line_formats_and_the_skeleton_names_what_replies_fill():
    for key in templates.CATALOGUE.keys():
        list(string.Formatter().parse(templates.text(key)))  # raises on a broken placeholder
    skeleton = string.Template(templates.CATALOGUE.document("reply"))
    assert set(skeleton.get_identifiers()) == {
        "greeting", "office", "received", "outcome_label", "outcome_text", "details", "signature", "date"}


def test_say_fills_placeholders_and_names_the_file_of_a_missing_key():
    assert templates.say("details.subject.wrong_year", year=2024, expected=2025) == \
        "邮件主题中的年度是2024年，本次受理的是2025年"
    with pytest.raises(KeyError, match=r"templates/details\.txt"):
        templates.say("details.no_such_line")


def test_an_override_directory_replaces_single_lines(tmp_path):
    (tmp_path / "details.txt").write_text("attachment.missing = 未见附件\n", encoding="utf-8")
    catalogue = templates.load(tmp_path)
    assert catalogue.say("details.attachment.missing") == "未见附件"
    assert catalogue.text("details.column.subject") == templates.text("details.column.subject")
    assert templates.text("details.attachment.missing") == "邮件中没有附件"  # the bundled one is untouched
    (tmp_path / "reply.txt").write_text("$greeting\n", encoding="utf-8")
    assert load_templates(tmp_path).skeleton.template == "$greeting\n"


def test_a_line_without_equals_names_its_file_and_line(tmp_path):
    (tmp_path / "imports.txt").write_text("# fine\n\nno equals here\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"imports\.txt, line 3"):
        templates.load(tmp_path)


def test_the_readme_names_every_file():
    readme = (ROOT / "templates" / "README.md").read_text(encoding="utf-8")
    files = sorted(p.name for p in (ROOT / "templates").glob("*.txt"))
    assert [f for f in files if f"`{f}`" not in readme] == []
    assert "`review/`" in readme


def test_the_review_pages_live_in_the_catalogue():
    assert templates.PAGES_DIR == ROOT / "templates" / "review"
    pages = sorted(p.name for p in templates.PAGES_DIR.glob("*.html"))
    assert "base.html" in pages and "detail.html" in pages
    assert not (ROOT / "review" / "templates").exists()  # one home for what staff read


def _literals(path: Path) -> list[tuple[int, str]]:
    """Every string literal but docstrings (comments are not in the tree), f-string parts included."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value) for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)
    }
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings]


@pytest.mark.parametrize("module", sorted(CLEANED))
def test_cleaned_modules_hold_no_chinese_sentences(module):
    path = ROOT / module
    if not path.exists():
        pytest.skip(f"{module} moved")
    found = [f"{module}:{line}: {run}" for line, value in _literals(path)
             for run in CJK_RUN.findall(value) if run not in CLEANED[module]]
    assert found == [], "move the wording to templates/ and say(key, …) it"
