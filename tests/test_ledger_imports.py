"""Imports of units, catalogue and quotas from real rows, as csv and xlsx, on both databases."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from domain.decision import Claim, Decision, Outcome
from domain.forms import IncreaseForm, IncreaseLine
from ledger.imports import (
    CATALOG_COLUMNS,
    QUOTA_COLUMNS,
    UNIT_COLUMNS,
    import_catalog,
    import_quotas,
    import_units,
)
from ledger.models import Event, Quota, QuotaChange, Unit
from ledger.store import Store
from ledger.tabular import ImportFileError
from testkit.ledger import anhui_schools, catalogue
from testkit.rosters import BIM, TYPES, catalog_rows, count, write_csv, write_xlsx

SCHOOLS = anhui_schools(8)


def unit_rows() -> list[list[str]]:
    rows = [[s["name"], TYPES[s["level"]], s["city"], "", f"JWC{s['code']}@School.example.cn"] for s in SCHOOLS]
    rows[0][3] = "安大；安徽大学本部"  # aliases, full-width separator
    rows[0][4] += "; zsb@ahu.example.cn"
    rows.append(["合肥市教育局", "市教育局", "合肥市", "", "zcjy@hefei.example.cn"])
    return rows


def quota_rows() -> list[list[object]]:
    return [
        [2025, SCHOOLS[0]["name"], BIM, "初级", 30],
        [2025, "安大", "Web前端开发", "中级", 12],  # an alias resolves to the canonical name
        [2025, SCHOOLS[1]["name"], "工业机器人应用编程", "高级", 8],
    ]


@pytest.fixture
def reference(ledger_engine, tmp_path):
    """A ledger with the units and the catalogue imported from real rows."""
    import_units(ledger_engine, write_csv(tmp_path / "units.csv", UNIT_COLUMNS, unit_rows()))
    import_catalog(ledger_engine, write_csv(tmp_path / "catalog.csv", CATALOG_COLUMNS, catalog_rows()))
    return ledger_engine


def test_units_import_then_reimport_changes_nothing(ledger_engine, tmp_path):
    path = write_csv(tmp_path / "units.csv", UNIT_COLUMNS, unit_rows())
    first = import_units(ledger_engine, path)
    assert (first.rows, first.created, first.updated, first.unchanged) == (len(SCHOOLS) + 1, len(SCHOOLS) + 1, 0, 0)
    events = count(ledger_engine, Event)
    again = import_units(ledger_engine, path)
    assert (again.created, again.updated, again.unchanged) == (0, 0, len(SCHOOLS) + 1)
    assert count(ledger_engine, Event) == events + 1  # only the import's own summary event

    unit = Store(ledger_engine).snapshot().unit(SCHOOLS[0]["name"])
    assert unit.aliases == ("安大", "安徽大学本部")
    assert unit.contacts == (f"jwc{SCHOOLS[0]['code']}@school.example.cn", "zsb@ahu.example.cn")
    assert Store(ledger_engine).snapshot().unit("合肥市教育局").type == "市教育局"


def test_units_from_xlsx_with_untidy_headers_and_a_title_row(ledger_engine, tmp_path):
    header = [" 单位名称＊", "单位 类型", "所属市\u3000", "别名", "联系邮箱*"]
    path = write_xlsx(tmp_path / "单位名单.xlsx", header, unit_rows(), title="2025年1+X证书试点单位名单")
    assert import_units(ledger_engine, path).created == len(SCHOOLS) + 1


def test_a_gb18030_csv_from_chinese_excel_is_read(ledger_engine, tmp_path):
    path = write_csv(tmp_path / "units.csv", UNIT_COLUMNS, unit_rows(), encoding="gb18030")
    assert import_units(ledger_engine, path).created == len(SCHOOLS) + 1


def test_a_changed_unit_is_updated_with_an_event(ledger_engine, tmp_path):
    rows = unit_rows()
    import_units(ledger_engine, write_csv(tmp_path / "a.csv", UNIT_COLUMNS, rows))
    rows[2][4] = "new@school.example.cn"
    summary = import_units(ledger_engine, write_csv(tmp_path / "b.csv", UNIT_COLUMNS, rows))
    assert (summary.updated, summary.unchanged) == (1, len(rows) - 1)
    with ledger_engine.connect() as conn:
        event = conn.execute(sa.select(Event).where(Event.action == "unit.updated")).scalar_one()
        detail = conn.execute(sa.select(Event.detail).where(Event.id == event)).scalar_one()
    assert detail["after"]["contacts"] == ["new@school.example.cn"] and detail["row"] == 4


@pytest.mark.parametrize(("column", "bad", "message"), [
    ("单位名称", "", "不能为空"),
    ("单位名称", "安徽" * 101, "不能超过 200 个字"),
    # An unknown type is imported as written (tests/test_ledger_units_roster.py), but
    # one longer than the ledger's column cannot be kept as written.
    ("单位类型", "中等职业学校（含技工学校、职业高中、成人中专）", "不能超过 20 个字"),
    ("所属市", "", "不能为空"),
    ("联系邮箱", "jwc-at-school", "不是有效的邮箱地址"),
    ("别名", SCHOOLS[1]["name"], "重复"),
])
def test_a_bad_unit_row_names_file_row_column_and_imports_nothing(ledger_engine, tmp_path, column, bad, message):
    rows = unit_rows()
    rows[4][UNIT_COLUMNS.index(column)] = bad  # file row 6 (header is row 1)
    path = write_csv(tmp_path / "units.csv", UNIT_COLUMNS, rows)
    with pytest.raises(ImportFileError) as error:
        import_units(ledger_engine, path)
    assert any(p.startswith(f"units.csv:6:{column}: ") and message in p for p in error.value.problems), \
        error.value.problems
    assert count(ledger_engine, Unit) == 0


def test_a_missing_column_is_named(ledger_engine, tmp_path):
    path = write_csv(tmp_path / "units.csv", UNIT_COLUMNS[:-1], [r[:-1] for r in unit_rows()])
    with pytest.raises(ImportFileError, match=r"units.csv:1: 表头缺少列 联系邮箱"):
        import_units(ledger_engine, path)


def test_wrong_file_types_are_explained(ledger_engine, tmp_path):
    text = tmp_path / "units.txt"
    text.write_text("x")
    with pytest.raises(ImportFileError, match="只能导入 .xlsx 或 .csv"):
        import_units(ledger_engine, text)
    fake = tmp_path / "units.xlsx"
    fake.write_bytes(b"not a zip")
    with pytest.raises(ImportFileError, match="不是有效的 xlsx 文件"):
        import_units(ledger_engine, fake)


def test_catalog_import_strips_the_suffix_and_keeps_levels(ledger_engine, tmp_path):
    summary = import_catalog(ledger_engine, write_csv(tmp_path / "c.csv", CATALOG_COLUMNS, catalog_rows()))
    assert summary.created == len(catalogue())
    state = Store(ledger_engine).snapshot()
    assert state.certificate(BIM).levels == frozenset({"初级", "中级", "高级"})
    assert state.certificate("工业机器人操作与运维").levels == frozenset({"中级", "高级"})
    assert state.certificate(BIM + "职业技能等级证书") is None


@pytest.mark.parametrize(("column", "bad", "message"), [
    ("证书名称", catalogue()[1]["name"], "与第 3 行重复"),
    ("级别", "初级;特级", "级别只能是 初级、中级、高级"),
    ("批次", "2025年第一批（补充）" * 3, "不能超过 20 个字"),  # the ledger's column holds 20
])
def test_a_bad_catalog_row_imports_nothing(ledger_engine, tmp_path, column, bad, message):
    rows = catalog_rows()
    rows[5][CATALOG_COLUMNS.index(column)] = bad  # file row 7
    with pytest.raises(ImportFileError) as error:
        import_catalog(ledger_engine, write_csv(tmp_path / "c.csv", CATALOG_COLUMNS, rows))
    assert any(p.startswith(f"c.csv:7:{column}: ") and message in p for p in error.value.problems)
    assert Store(ledger_engine).snapshot().certificates == ()


def test_numbers_typed_the_chinese_way_are_read(reference, tmp_path):
    rows = [["２０２５年", SCHOOLS[0]["name"], BIM, "初级", " ３０ "]]
    assert import_quotas(reference, write_csv(tmp_path / "q.csv", QUOTA_COLUMNS, rows)).created == 1
    assert dict(Store(reference).snapshot().quotas) == {(2025, SCHOOLS[0]["name"], BIM, "初级"): 30}


def test_quotas_import_resolves_aliases_and_is_idempotent(reference, tmp_path):
    path = write_xlsx(tmp_path / "quotas.xlsx", QUOTA_COLUMNS, quota_rows())
    assert import_quotas(reference, path).created == 3
    assert import_quotas(reference, path).unchanged == 3
    assert dict(Store(reference).snapshot().quotas) == {
        (2025, SCHOOLS[0]["name"], BIM, "初级"): 30,
        (2025, SCHOOLS[0]["name"], "Web前端开发", "中级"): 12,
        (2025, SCHOOLS[1]["name"], "工业机器人应用编程", "高级"): 8,
    }
    assert count(reference, QuotaChange) == 3


def test_a_changed_quota_is_recorded_not_silently_overwritten(reference, tmp_path):
    import_quotas(reference, write_csv(tmp_path / "q1.csv", QUOTA_COLUMNS, quota_rows()))
    rows = quota_rows()
    rows[2][4] = 15
    summary = import_quotas(reference, write_csv(tmp_path / "q2.csv", QUOTA_COLUMNS, rows))
    assert (summary.created, summary.updated, summary.unchanged) == (0, 1, 2)
    with reference.connect() as conn:
        change = conn.execute(sa.select(QuotaChange).order_by(QuotaChange.id.desc()).limit(1)).one()
        event = conn.execute(sa.select(Event.detail).where(Event.action == "quota.changed")).scalar_one()
    assert (change.old_approved, change.new_approved, change.source) == (8, 15, "q2.csv:4")
    assert (event["old"], event["new"], event["row"]) == (8, 15, 4)


def test_reimporting_the_old_file_keeps_an_accepted_increase(reference, tmp_path):
    path = write_csv(tmp_path / "q.csv", QUOTA_COLUMNS, quota_rows())
    import_quotas(reference, path)
    store = Store(reference)
    message, _ = store.record_message(mailbox="INBOX", uidvalidity=1, uid=1, message_id="<a@b>", sha256="0" * 64,
                                      received_at=__import__("datetime").datetime.now().astimezone(),
                                      sender="a@b.cn", subject="s", original_path="p")
    line = IncreaseLine(row=1, certificate=BIM, level="初级", approved=30, requested=40)
    store.record_decision(message.id, claim=Claim(unit=SCHOOLS[0]["name"], year=2025, kind="increase"),
                          forms=[IncreaseForm(unit=SCHOOLS[0]["name"], stamp=True, lines=(line,))],
                          decision=Decision(Outcome.ACCEPTED), reply=None)
    assert import_quotas(reference, path).unchanged == 3
    assert store.snapshot().quotas[(2025, SCHOOLS[0]["name"], BIM, "初级")] == 40


@pytest.mark.parametrize(("column", "bad", "message"), [
    ("年度", "二〇二五", "应为整数"),
    ("年度", "1999", "应在 2019 到 2100 之间"),
    ("单位名称", "不存在职业学院", "不在单位名单中"),
    ("证书名称", "无人机驾驶员", "不在证书目录中"),
    ("级别", "特级", "级别只能是"),
    ("级别", "初级;中级", "每行只能填写一个级别"),
    ("批准人数", "-3", "应在 0 到 100000 之间"),
    ("批准人数", "12.5", "应为整数"),
    ("批准人数", "", "不能为空"),
])
def test_a_bad_quota_row_names_file_row_column_and_imports_nothing(reference, tmp_path, column, bad, message):
    rows = quota_rows()
    rows[1][QUOTA_COLUMNS.index(column)] = bad  # file row 3
    with pytest.raises(ImportFileError) as error:
        import_quotas(reference, write_xlsx(tmp_path / "quotas.xlsx", QUOTA_COLUMNS, rows))
    assert any(p.startswith(f"quotas.xlsx:3:{column}: ") and message in p for p in error.value.problems), \
        error.value.problems
    assert count(reference, Quota) == 0


def test_a_level_the_certificate_does_not_offer_is_refused(reference, tmp_path):
    rows = quota_rows() + [[2025, SCHOOLS[2]["name"], "工业机器人操作与运维", "初级", 5]]
    with pytest.raises(ImportFileError, match=r"q.csv:5:级别: 证书“工业机器人操作与运维”没有初级，可选：中级、高级"):
        import_quotas(reference, write_csv(tmp_path / "q.csv", QUOTA_COLUMNS, rows))


def test_every_problem_of_a_file_is_listed_at_once(reference, tmp_path):
    rows = quota_rows()
    rows[0][4], rows[2][1] = "many", "某某学院"
    with pytest.raises(ImportFileError) as error:
        import_quotas(reference, write_csv(tmp_path / "q.csv", QUOTA_COLUMNS, rows))
    assert [p.split(": ")[0] for p in error.value.problems] == ["q.csv:2:批准人数", "q.csv:4:单位名称"]
