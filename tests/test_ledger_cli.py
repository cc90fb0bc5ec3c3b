"""The ledger's commands as staff run them: ``intake units import``, ``intake ledger export``."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from cli.main import cli as main
from ledger.export import collect, to_json
from ledger.imports import CATALOG_COLUMNS, QUOTA_COLUMNS, UNIT_COLUMNS
from ledger.store import Store
from testkit.ledger import DATA, anhui_schools, catalogue
from testkit.rosters import TYPES, write_csv, write_xlsx


@pytest.fixture
def run(ledger_engine, tmp_path):
    url = ledger_engine.url.render_as_string(hide_password=False)
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(main, list(args), env={"INTAKE_DB_URL": url, "INTAKE_DATA_DIR": str(tmp_path / "data")},
                             catch_exceptions=False)

    return invoke


def all_schools_file(path: Path) -> Path:
    """Every school of the public list (566 rows): big enough to draw the progress bar."""
    with (DATA / "schools.csv").open(encoding="utf-8") as f:
        rows = [[r["name"], TYPES[r["level"]], r["city"], "", ""] for r in csv.DictReader(f)]
    return write_csv(path, UNIT_COLUMNS, rows)


def test_imports_print_a_summary_and_are_idempotent(run, ledger_engine, tmp_path):
    units = all_schools_file(tmp_path / "units.csv")
    result = run("units", "import", str(units))
    assert result.exit_code == 0, result.output
    assert "单位名单 units.csv：共 566 行，新增 566，更新 0，未变 0。" in result.output
    assert "未变 566" in run("units", "import", str(units)).output

    cat = write_csv(tmp_path / "catalog.csv", CATALOG_COLUMNS,
                    [[r["batch"], r["name"], r["organization"], r["levels"].replace("|", ";")] for r in catalogue()])
    assert run("catalog", "import", str(cat)).exit_code == 0
    school = anhui_schools(1)[0]["name"]
    quotas = write_xlsx(tmp_path / "指标.xlsx", QUOTA_COLUMNS, [[2025, school, "物流管理", "中级", 40]])
    result = run("quotas", "import", str(quotas))
    assert result.exit_code == 0 and "新增 1" in result.output
    assert Store(ledger_engine).snapshot().quotas == {(2025, school, "物流管理", "中级"): 40}


def test_a_bad_file_exits_1_and_names_every_problem(run, ledger_engine, tmp_path):
    rows = [[s["name"], TYPES[s["level"]], s["city"], "", ""] for s in anhui_schools(4)]
    rows[1][4], rows[3][2] = "jwc-at-school", ""
    result = run("units", "import", str(write_csv(tmp_path / "units.csv", UNIT_COLUMNS, rows)))
    assert result.exit_code == 1
    assert "units.csv:3:联系邮箱: “jwc-at-school”不是有效的邮箱地址（多个地址用分号隔开）" in result.output
    assert "units.csv:5:所属市: 不能为空" in result.output
    assert "有 2 处问题，本文件的数据均未导入" in result.output
    assert Store(ledger_engine).snapshot().units == ()


def test_a_unit_type_no_table_knows_is_imported_and_its_rows_are_printed(run, ledger_engine, tmp_path):
    rows = [[s["name"], "高职院校", s["city"], "", ""] for s in anhui_schools(4)]
    rows[1][1] = rows[2][1] = "大学"
    result = run("units", "import", str(write_csv(tmp_path / "units.csv", UNIT_COLUMNS, rows)))
    assert result.exit_code == 0, result.output
    assert "提示：units.csv:3,4:单位类型: 单位类型“大学”不在单位类型对照表中，已按原文导入。" in result.output
    assert "共 4 行，新增 4，更新 0，未变 0。另有 1 条提示，见上。" in result.output
    assert [u.type for u in Store(ledger_engine).snapshot().units].count("高职") == 2


def test_a_missing_file_is_refused(run, tmp_path):
    result = run("catalog", "import", str(tmp_path / "nope.xlsx"))
    assert result.exit_code == 1 and "文件不存在" in result.output


def test_exports_write_json_and_xlsx(run, ledger_engine, tmp_path):
    run("units", "import", str(write_csv(tmp_path / "u.csv", UNIT_COLUMNS,
                                         [[s["name"], TYPES[s["level"]], s["city"], "", ""] for s in anhui_schools(3)])))
    out = tmp_path / "out"
    result = run("ledger", "export", "--format", "json", "-o", str(out / "ledger.json"))
    assert result.exit_code == 0, result.output
    assert json.loads((out / "ledger.json").read_text(encoding="utf-8")) == to_json(collect(ledger_engine))
    result = run("ledger", "export", "--format", "xlsx", "-o", str(out / "台账.xlsx"))
    assert result.exit_code == 0, result.output
    book = load_workbook(out / "台账.xlsx")
    assert book.sheetnames[:4] == ["汇总", "明细", "指标", "事件"]
    assert book["汇总"].max_row == 4  # a header and the three units, none received yet
    assert run("ledger", "export", "--format", "csv", "-o", "x").exit_code == 2


def test_a_bad_database_url_is_explained(tmp_path):
    result = CliRunner().invoke(main, ["ledger", "export", "--format", "json", "-o", str(tmp_path / "x.json")],
                                env={"INTAKE_DB_URL": "mysql://x@y/z"})
    assert result.exit_code == 1 and "INTAKE_DB_URL" in result.output


def test_the_commands_run_as_a_module(tmp_path):
    done = subprocess.run([sys.executable, "-m", "cli", "units", "--help"], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0 and "单位名称,单位类型,所属市,别名,联系邮箱" in done.stdout
