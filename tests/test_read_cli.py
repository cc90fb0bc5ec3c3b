"""``intake read FILE [--json]``: the contract's JSON shape on real rendered files."""

from __future__ import annotations

import json

from click.testing import CliRunner

from testkit.forms import application_form, random_form, render_pdf
from cli.main import cli
from cli.read import read_command


def run(*args):
    return CliRunner().invoke(read_command, [str(a) for a in args], catch_exceptions=False)


def test_json_reading_of_a_two_page_text_pdf(tmp_path):
    spec = random_form("summary", seed=21, rows=6)
    path = tmp_path / "安徽大学+2025年证书申报.pdf"
    path.write_bytes(render_pdf([application_form(spec.unit), spec], seal_at=["none", "unit"]))
    result = run(path, "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["file"] == path.name
    cover, page = out["pages"]
    assert cover == {"page": 1, "kind": "application", "source": "text", "notes": []}
    truth = spec.truth(stamp=True)
    assert page["kind"] == "summary" and page["unit"] == truth["unit"] and page["stamp"] is True
    assert page["total"] == truth["total"]
    assert page["lines"] == [
        {"certificate": t["certificate"], "level": t["level"], "count": t["count"], "confident": True}
        for t in truth["lines"]
    ]


def test_json_increase_lines_with_jiangsu_profile(tmp_path):
    spec = random_form("increase", seed=22, rows=4, province="江苏省")
    path = tmp_path / "js.pdf"
    path.write_bytes(render_pdf([spec]))
    out = json.loads(run(path, "--json", "--profile", "jiangsu-2024").output)
    (page,) = out["pages"]
    assert page["kind"] == "increase"
    assert [(l["approved"], l["requested"]) for l in page["lines"]] == [r.numbers for r in spec.rows]
    assert set(page["lines"][0]) == {"certificate", "level", "approved", "requested", "confident"}


def test_human_output_is_chinese(tmp_path):
    spec = random_form("summary", seed=23, rows=3)
    path = tmp_path / "f.pdf"
    path.write_bytes(render_pdf([spec], seal_at="none"))
    result = run(path)
    assert result.exit_code == 0
    assert "申报学校汇总表" in result.output and spec.unit in result.output
    assert "校章：未发现" in result.output
    assert f"合计：{spec.total}" in result.output


def test_unreadable_file_exits_2_with_the_reason(tmp_path):
    path = tmp_path / "empty.pdf"
    path.write_bytes(b"")
    result = run(path, "--json")
    assert result.exit_code == 2
    first = json.loads(result.stdout.splitlines()[0])
    assert first["error"] == "attachment.unreadable" and "空文件" in first["message"]


def test_unknown_profile_is_a_clear_error(tmp_path):
    path = tmp_path / "f.pdf"
    path.write_bytes(b"%PDF-1.4")
    result = run(path, "--profile", "mars-2099")
    assert result.exit_code == 1 and "mars-2099" in result.output


def test_intake_has_the_read_command():
    assert cli.commands["read"] is read_command


def _check_against_truth(page: dict, truth: dict) -> None:
    """The reader's promise: every line it calls confident is exactly right."""
    truth_lines = truth["lines"]
    assert len(page["lines"]) == len(truth_lines)
    confident = 0
    for got, want in zip(page["lines"], truth_lines, strict=True):
        if got["confident"]:
            confident += 1
            assert (got["certificate"], got["level"], got["count"]) == (want["certificate"], want["level"], want["count"])
    assert confident >= len(truth_lines) // 2, "the reader flagged most of a clean scan"


def test_upside_down_gray_scan_with_gray_seal_is_read_by_ocr(tmp_path):
    from testkit.forms import Variant, degrade, encode_image, render_image

    spec = random_form("summary", seed=24, rows=6, long_names=True, blank_rows=1)
    page_image = degrade(render_image(spec, dpi=200, seal_at="total"), Variant(colour="gray", quarter_turns=2, skew=0.8))
    path = tmp_path / "scan.png"
    path.write_bytes(encode_image(page_image, "PNG"))
    result = run(path, "--json")
    assert result.exit_code == 0, result.output
    (page,) = json.loads(result.output)["pages"]
    assert page["kind"] == "summary" and page["source"] == "ocr"
    truth = spec.truth(stamp=True)
    _check_against_truth(page, truth)
    if page["total_confident"]:
        assert page["total"] == truth["total"]
