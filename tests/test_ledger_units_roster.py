"""Units rosters as offices send them (issue 14): their words for unit types and headers,
their sheets (title rows, merged cells, section headings, instruction sheets), their csv
encodings. One office's 42-row roster said 高职院校 instead of 高职 and was refused whole;
then its quotas were refused and every school was told it did not exist."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Border, Font, Side

import ledger.imports as imports
from ledger.imports import (
    CATALOG_COLUMNS,
    QUOTA_COLUMNS,
    UNIT_COLUMNS,
    import_catalog,
    import_quotas,
    import_units,
)
from ledger.models import Event, Unit
from ledger.store import Store
from ledger.tabular import ImportFileError
from ledger.unit_words import UnitWordsError, load_unit_words, unit_words_file
from testkit.ledger import anhui_schools
from testkit.rosters import BIM, catalog_rows, count, write_csv

CANONICAL = ("高职", "本科", "中职", "技工院校", "市教育局")
ROOT = Path(__file__).resolve().parents[1]

# --- an office's roster ---------------------------------------------------------------

CITIES = ("芜湖市", "蚌埠市", "马鞍山市", "淮南市")
WORDS = {  # canonical type -> the words this office uses, in turn
    "本科": ["本科院校", "本科高校", "应用型本科", "职业本科"],
    "高职": ["高职院校", "高等职业院校", "职业技术学院", "高职高专"],
    "中职": ["中职学校", "中等职业学校", "中专", "职业高中", "职高", "省属中专"],
    "技工院校": ["技师学院", "技工学校"],
    "市教育局": ["市教育局", "县（市、区）教育局", "教育体育局", "省直管县教育局"],
}


def office_units() -> list[tuple[str, str, str, str, str, str]]:
    """(name, type as the office writes it, canonical type, city, aliases, address), grouped by city."""
    turn = {k: 0 for k in WORDS}

    def word(canonical: str) -> str:
        turn[canonical] += 1
        return WORDS[canonical][(turn[canonical] - 1) % len(WORDS[canonical])]

    rows = []
    for n, city in enumerate(CITIES):
        for school in (s for s in anhui_schools() if s["city"] == city):
            canonical = {"本科": "本科", "专科": "高职"}[school["level"]]
            address = f"jwc{school['code']}@school.example.cn"
            rows.append((school["name"], word(canonical), canonical, city, "", address))
        short = city.removesuffix("市")
        rows += [
            (f"{short}中等专业学校", word("中职"), "中职", city, "", f"zz{n}@school.example.cn"),
            (f"{short}职业教育中心（{short}职业高级中学）", word("中职"), "中职", city, f"{short}职高", f"zg{n}@school.example.cn"),
            (f"{short}技师学院", word("技工院校"), "技工院校", city, "", f"js{n}@school.example.cn"),
            (f"{city}教育局", word("市教育局"), "市教育局", city, "", f"zcjy{n}@bureau.example.cn"),
        ]
    return rows


ROSTER = office_units()


def office_xlsx(path: Path, header, rows, *, merge_cities: bool = True, title: str = "2025年1+X证书制度试点单位名单",
                trailing_blank_rows: int = 3) -> Path:
    """An xlsx laid out as offices do: a merged title row, a 填报单位 line, 序号, the city
    merged over its schools, borders down to a few empty rows below the table."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "单位名单"
    width = len(header) + 1
    sheet.append([title])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    sheet["A1"].font, sheet["A1"].alignment = Font(bold=True, size=16), Alignment(horizontal="center")
    sheet.append(["填报单位（盖章）：安徽省1+X证书制度试点工作办公室　　　　填报日期：2025年3月"])
    sheet.merge_cells(start_row=2, start_column=1, end_row=2, end_column=width)
    sheet.append(["序号", *header])
    city_col = next((i for i, h in enumerate(header) if "市" in h), None)
    first_data = 4
    for number, row in enumerate(rows, start=1):
        sheet.append([number, *row])
    if merge_cities and city_col is not None:
        column = city_col + 2  # 1-based, after 序号
        start = first_data
        for r in range(first_data + 1, first_data + len(rows) + 1):
            if r == first_data + len(rows) or rows[r - first_data][city_col] != rows[start - first_data][city_col]:
                if r - 1 > start:
                    for blank in range(start + 1, r):
                        sheet.cell(blank, column).value = None  # Excel keeps only the top-left value
                    sheet.merge_cells(start_row=start, start_column=column, end_row=r - 1, end_column=column)
                start = r
    thin = Side(style="thin")
    last = first_data + len(rows) + trailing_blank_rows
    for r in range(3, last):
        for c in range(1, width + 1):
            sheet.cell(r, c).border = Border(left=thin, right=thin, top=thin, bottom=thin)
    for r in range(first_data + len(rows), last):
        sheet.cell(r, 1).value = " "  # a stray space, as a cleared cell often keeps
    workbook.save(path)
    return path


def roster_rows() -> list[list[str]]:
    return [[name, written, city, aliases, address] for name, written, _, city, aliases, address in ROSTER]


def units_by_name(engine) -> dict[str, Unit]:
    with engine.connect() as conn:
        return {u.name: u for u in conn.execute(sa.select(Unit)).all()}


def events(engine, action: str) -> list[dict]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(Event.detail).where(Event.action == action).order_by(Event.id)).scalars())


# --- the roster ---------------------------------------------------------------


def test_an_office_roster_in_its_own_words_imports_and_its_quotas_follow(ledger_engine, tmp_path):
    path = office_xlsx(tmp_path / "2025年试点单位名单.xlsx", UNIT_COLUMNS, roster_rows())
    summary = import_units(ledger_engine, path)
    assert (summary.rows, summary.created, summary.warnings) == (len(ROSTER), len(ROSTER), ())

    stored = units_by_name(ledger_engine)
    assert {name: (u.type, u.city) for name, u in stored.items()} == \
        {name: (canonical, city) for name, _, canonical, city, _, _ in ROSTER}
    assert stored["芜湖职业教育中心（芜湖职业高级中学）"].aliases == ["芜湖职高"]
    # The ledger keeps the canonical type; the event keeps what the office wrote, if it differs.
    created = {e["row"]: e for e in events(ledger_engine, "unit.created")}
    row_of = {r[0]: number for number, r in enumerate(ROSTER, start=4)}  # title, 填报单位, header above
    assert (created[4]["type"], created[4]["written_type"]) == (ROSTER[0][2], ROSTER[0][1])
    bureau = created[row_of["芜湖市教育局"]]
    assert bureau["type"] == "市教育局" and "written_type" not in bureau

    # The quotas that were refused as "not in the unit list" now import (one by an alias).
    import_catalog(ledger_engine, write_csv(tmp_path / "catalog.csv", CATALOG_COLUMNS, catalog_rows()))
    technical = next(r[0] for r in ROSTER if r[2] == "技工院校")
    quotas = [[2025, ROSTER[0][0], BIM, "初级", 30], [2025, technical, BIM, "中级", 20],
              [2025, "芜湖职高", "物流管理", "中级", 15]]
    assert import_quotas(ledger_engine, write_csv(tmp_path / "quotas.csv", QUOTA_COLUMNS, quotas)).created == 3
    assert Store(ledger_engine).snapshot().unit(technical).type == "技工院校"


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gbk"])
def test_an_office_roster_as_csv_from_excel_utf8_or_gbk(ledger_engine, tmp_path, encoding):
    header = ["学校名称", "学校类型", "所在市", "简称", "联系人邮箱"]
    path = write_csv(tmp_path / "单位名单.csv", header, roster_rows(), encoding=encoding)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf") == (encoding == "utf-8-sig")
    summary = import_units(ledger_engine, path)
    assert (summary.created, summary.warnings) == (len(ROSTER), ())
    bureaus = sorted(n for n, u in units_by_name(ledger_engine).items() if u.type == "市教育局")
    assert bureaus == sorted(f"{c}教育局" for c in CITIES)


@pytest.mark.parametrize(("written", "canonical"), [
    *((w, c) for c, words in WORDS.items() for w in words),
    ("高等职业学校", "高职"), ("高职（专科）", "高职"), ("专科", "高职"),
    ("本科层次职业学校", "本科"), ("独立学院", "本科"),
    ("中等专业学校", "中职"), ("职教中心", "中职"),
    ("高级技工学校", "技工院校"),
    ("县(市、区)教育局", "市教育局"), ("县（市，区）教育局", "市教育局"), ("县教育局", "市教育局"),
    ("区教育局", "市教育局"), ("教育和体育局", "市教育局"), ("教体局", "市教育局"),
    # NFKC and spaces: full-width brackets and letters, ideographic and ordinary spaces.
    (" 高　职 ", "高职"), ("县 （市、区） 教育局", "市教育局"), ("省直管县（市）教育局", "市教育局"),
    *((c, c) for c in CANONICAL),
])
def test_the_wordings_offices_use_have_a_canonical_type(written, canonical):
    assert load_unit_words().canonical_type(written) == canonical


@pytest.mark.parametrize("written", ["大学", "民办高职院校", "高职院", "中职学校（民办）", "教育"])
def test_nothing_is_matched_by_a_part_or_by_similarity(written):
    assert load_unit_words().canonical_type(written) is None


# --- a type no table knows ----------------------------------------------------------


def test_an_unknown_type_is_imported_as_written_with_a_warning_naming_the_rows(ledger_engine, tmp_path):
    rows = roster_rows()
    for index in (2, 5, 9):
        rows[index][1] = "民办高校"
    rows[7][1] = "大学"
    rows[11][1] = ""
    path = write_csv(tmp_path / "units.csv", UNIT_COLUMNS, rows)
    summary = import_units(ledger_engine, path)
    assert summary.created == len(ROSTER)
    assert summary.warnings[0].startswith("units.csv:4,7,11:单位类型: 单位类型“民办高校”不在单位类型对照表中，已按原文导入。")
    assert "已知类型：高职、本科、中职、技工院校、市教育局" in summary.warnings[0]
    assert summary.warnings[1].startswith("units.csv:9:单位类型: 单位类型“大学”不在单位类型对照表中")
    assert summary.warnings[2].startswith("units.csv:13:单位类型: 单位类型为空，已导入")
    assert len(summary.warnings) == 3
    stored = units_by_name(ledger_engine)
    assert stored[rows[2][0]].type == "民办高校" and stored[rows[7][0]].type == "大学" and stored[rows[11][0]].type == ""
    assert events(ledger_engine, "import.units")[-1]["warnings"] == list(summary.warnings)

    # A new word is a config change: with 民办高校 added, the same file makes those units 本科.
    table = tomllib.loads(unit_words_file().read_text(encoding="utf-8"))
    table["types"]["本科"].append("民办高校")
    extended = tmp_path / "units.toml"
    extended.write_text(toml(table), encoding="utf-8")
    again = import_units(ledger_engine, path, words=load_unit_words(extended))
    assert (again.updated, len(again.warnings)) == (3, 2)
    assert units_by_name(ledger_engine)[rows[2][0]].type == "本科"
    updated = events(ledger_engine, "unit.updated")
    assert [(e["before"]["type"], e["after"]["type"], e["written_type"]) for e in updated] == \
        [("民办高校", "本科", "民办高校")] * 3


def test_warnings_list_at_most_ten_rows_and_say_how_many(ledger_engine, tmp_path):
    rows = roster_rows()
    for row in rows[:12]:
        row[1] = "民办高校"
    summary = import_units(ledger_engine, write_csv(tmp_path / "units.csv", UNIT_COLUMNS, rows))
    assert summary.warnings[0].startswith("units.csv:2,3,4,5,6,7,8,9,10,11,…（共 12 行）:单位类型: ")


def test_an_unknown_type_is_an_error_naming_the_rule_once_a_rule_reads_it(ledger_engine, tmp_path, monkeypatch):
    monkeypatch.setattr(imports, "RULES_ON_UNIT_TYPE", ("市教育局代报",))
    rows = roster_rows()
    rows[3][1] = "大学"
    with pytest.raises(ImportFileError) as error:
        import_units(ledger_engine, write_csv(tmp_path / "units.csv", UNIT_COLUMNS, rows))
    assert error.value.problems == (
        "units.csv:5:单位类型: “大学”不是已知的单位类型（高职、本科、中职、技工院校、市教育局），"
        "而“市教育局代报”依单位类型判断：请改为其中之一",)
    assert count(ledger_engine, Unit) == 0


def test_real_errors_still_stop_the_whole_file_and_name_file_row_and_the_column_as_written(ledger_engine, tmp_path):
    header = ["学校名称", "办学层次", "地市", "别名", "电子邮箱"]
    rows = roster_rows()
    rows[0][1] = "民办高校"  # a warning only, but the file has errors: nothing is imported
    rows[2][0] = ""
    rows[5][4] = "jwc@school"
    rows[8][3] = rows[1][0]
    path = office_xlsx(tmp_path / "单位名单.xlsx", header, rows)
    with pytest.raises(ImportFileError) as error:
        import_units(ledger_engine, path)
    # Data starts on Excel row 4 (title, 填报单位, header).
    assert error.value.problems == (
        "单位名单.xlsx:6:学校名称: 不能为空",
        "单位名单.xlsx:9:电子邮箱: “jwc@school”不是有效的邮箱地址（多个地址用分号隔开）",
        f"单位名单.xlsx:12:别名: “{rows[1][0]}”与第 5 行的单位名称或别名重复",
    )
    assert count(ledger_engine, Unit) == 0 and events(ledger_engine, "import.units") == []


# --- headers --------------------------------------------------------------------------


@pytest.mark.parametrize("header", [
    ["学校名称", "类型", "所在市", "别名", "联系人邮箱"],
    ["单位全称", "学校类型", "地市", "简称", "邮箱"],
    ["学校全称", "办学层次", "市", "曾用名", "电子邮箱"],
    ["院校名称", "院校类型", "所属地市", "别称", "E-mail"],
    ["单位名称（全称）", "单位类型", "所属市（州）", "别名", "联系邮箱（多个用分号隔开）"],
])
def test_headers_in_office_wording_name_the_columns(ledger_engine, tmp_path, header):
    path = office_xlsx(tmp_path / "units.xlsx", header, roster_rows())
    assert import_units(ledger_engine, path).created == len(ROSTER)
    assert units_by_name(ledger_engine)["芜湖职业教育中心（芜湖职业高级中学）"].aliases == ["芜湖职高"]


def test_a_roster_without_an_alias_column_imports(ledger_engine, tmp_path):
    header = ["单位名称", "单位类型", "所属市", "联系邮箱"]
    rows = [[r[0], r[1], r[2], r[4]] for r in roster_rows()]
    assert import_units(ledger_engine, office_xlsx(tmp_path / "units.xlsx", header, rows)).created == len(ROSTER)
    assert all(u.aliases == [] for u in units_by_name(ledger_engine).values())


def test_the_contract_header_wins_over_a_synonym_beside_it(ledger_engine, tmp_path):
    header = [*UNIT_COLUMNS, "学校名称"]
    rows = [[*r, "（旧名称，不导入）"] for r in roster_rows()]
    assert import_units(ledger_engine, write_csv(tmp_path / "units.csv", header, rows)).created == len(ROSTER)
    assert ROSTER[0][0] in units_by_name(ledger_engine)


def test_two_columns_that_both_could_be_the_name_are_refused(ledger_engine, tmp_path):
    header = ["学校名称", "单位全称", "单位类型", "所属市", "别名", "联系邮箱"]
    rows = [[r[0], *r] for r in roster_rows()]
    with pytest.raises(ImportFileError) as error:
        import_units(ledger_engine, write_csv(tmp_path / "units.csv", header, rows))
    assert error.value.problems == ("units.csv:1: 表头中 “学校名称”、“单位全称” 都表示“单位名称”，请只保留一列",)


def test_a_missing_column_names_its_other_wordings(ledger_engine, tmp_path):
    header = ["学校名称", "学校类型", "所在市", "别名", "手机号"]
    path = office_xlsx(tmp_path / "units.xlsx", header, roster_rows())
    with pytest.raises(ImportFileError) as error:
        import_units(ledger_engine, path)
    [problem] = error.value.problems
    # The header row (3, under the title and the 填报单位 line) is named, not the title.
    assert problem.startswith("units.xlsx:3: 表头缺少列 联系邮箱（也可写作 联系人邮箱、邮箱、电子邮箱")
    assert "读到的表头：序号,学校名称,学校类型,所在市,别名,手机号" in problem


# --- sheets as offices keep them ------------------------------------------------------


def test_section_headings_and_a_repeated_header_are_not_units(ledger_engine, tmp_path):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["2025年1+X证书制度试点单位名单"])
    sheet.merge_cells("A1:E1")
    sheet.append(list(UNIT_COLUMNS))
    rows = roster_rows()
    sheet.append(["一、本科高校（芜湖市）"])
    sheet.merge_cells(start_row=3, start_column=1, end_row=3, end_column=5)
    sheet.append(rows[0])
    sheet.append(rows[1])
    sheet.append(list(UNIT_COLUMNS))  # the header again, copied with the next block
    sheet.append(["二、中职学校"])
    sheet.merge_cells(start_row=7, start_column=1, end_row=7, end_column=5)
    sheet.append(rows[2])
    sheet.append(["注：联系邮箱用于核对申报邮件的发件人，多个邮箱用分号隔开。"])
    sheet.merge_cells(start_row=9, start_column=1, end_row=9, end_column=5)
    workbook.save(tmp_path / "units.xlsx")
    summary = import_units(ledger_engine, tmp_path / "units.xlsx")
    assert (summary.created, summary.warnings) == (3, ())
    assert [e["row"] for e in events(ledger_engine, "unit.created")] == [4, 5, 8]


def test_the_type_merged_over_a_block_of_schools_applies_to_each(ledger_engine, tmp_path):
    rows = roster_rows()[:6]
    path = office_xlsx(tmp_path / "units.xlsx", UNIT_COLUMNS, rows, merge_cities=False)
    workbook = load_workbook(path)
    sheet = workbook.active
    for r in range(5, 10):
        sheet.cell(r, 3).value = None
    sheet.cell(4, 3).value = "高职院校"
    sheet.merge_cells("C4:C9")
    workbook.save(path)
    import_units(ledger_engine, path)
    assert {u.type for u in units_by_name(ledger_engine).values()} == {"高职"}


def test_an_instructions_sheet_before_the_roster_is_passed_over(ledger_engine, tmp_path):
    workbook = Workbook()
    notes = workbook.active
    notes.title = "填表说明"
    notes.append(["1. 单位类型填写：高职院校、本科院校、中职学校、技师学院或市教育局。"])
    notes.append(["2. 联系邮箱为学校发送申报邮件所用的邮箱。"])
    roster = workbook.create_sheet("单位名单")
    roster.append(list(UNIT_COLUMNS))
    rows = roster_rows()
    rows[1][2] = ""
    for row in rows:
        roster.append(row)
    workbook.save(tmp_path / "units.xlsx")
    with pytest.raises(ImportFileError) as error:
        import_units(ledger_engine, tmp_path / "units.xlsx")
    assert error.value.problems == ("units.xlsx[单位名单]:3:所属市: 不能为空",)  # the sheet is named

    roster.cell(3, 3).value = ROSTER[1][3]
    workbook.save(tmp_path / "units.xlsx")
    assert import_units(ledger_engine, tmp_path / "units.xlsx").created == len(ROSTER)


def test_names_copied_from_a_web_page_lose_invisible_characters(ledger_engine, tmp_path):
    rows = roster_rows()
    rows[0][0] = "\u200b" + rows[0][0] + "\xa0"
    import_units(ledger_engine, write_csv(tmp_path / "units.csv", UNIT_COLUMNS, rows))
    assert ROSTER[0][0] in units_by_name(ledger_engine)


# --- csv encodings and files that are not what they say -------------------------------


def test_a_tab_separated_unicode_text_file_from_excel_is_read(ledger_engine, tmp_path):
    path = tmp_path / "units.csv"
    lines = ["\t".join(UNIT_COLUMNS)] + ["\t".join(r) for r in roster_rows()]
    path.write_bytes("\r\n".join(lines).encode("utf-16"))  # with its BOM, as Excel writes it
    assert import_units(ledger_engine, path).created == len(ROSTER)


def test_a_csv_in_no_known_encoding_is_refused_with_what_to_do(ledger_engine, tmp_path):
    path = tmp_path / "units.csv"
    path.write_bytes(",".join(UNIT_COLUMNS).encode("gbk") + b"\r\n\x80\xff,\xfe\r\n")
    with pytest.raises(ImportFileError) as error:
        import_units(ledger_engine, path)
    assert error.value.problems == ("units.csv: 无法识别文件编码（既不是 UTF-8，也不是 GBK/GB18030），"
                                    "请在 Excel 或 WPS 中另存为“CSV UTF-8（逗号分隔）”后重试",)


def test_a_garbled_gbk_header_says_how_to_save_as_utf8(ledger_engine, tmp_path):
    path = tmp_path / "units.csv"
    # A Big5 file (traditional Chinese Excel) is valid GB18030 too, and reads as mojibake.
    path.write_bytes("單位名稱,單位類型,所屬市,別名,聯繫郵箱\r\n".encode("big5"))
    with pytest.raises(ImportFileError, match="文件按 GBK/GB18030 编码读取，如表头显示为乱码"):
        import_units(ledger_engine, path)


@pytest.mark.parametrize(("name", "content", "message"), [
    ("units.csv", b"PK\x03\x04" + b"\x00" * 40, "这是一个 xlsx 文件，只是扩展名为 .csv"),
    ("units.csv", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 40, "这是一个 Excel 97-2003（.xls）文件"),
    ("units.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "请用 Excel 或 WPS 打开后另存为 .xlsx"),
])
def test_a_file_that_is_not_what_its_name_says_is_explained(ledger_engine, tmp_path, name, content, message):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(ImportFileError, match=message):
        import_units(ledger_engine, tmp_path / name)


# --- the table itself ---------------------------------------------------------------


def test_the_shipped_table_loads_and_its_types_are_the_canonical_ones():
    words = load_unit_words()
    assert words.types == CANONICAL
    assert set(words.headers) == set(UNIT_COLUMNS)
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "units.toml" in pyproject["tool"]["setuptools"]["package-data"]["config"]


def test_a_table_that_gives_one_word_two_types_is_refused(tmp_path):
    path = tmp_path / "units.toml"
    path.write_text('[types]\n"高职" = ["技师学院"]\n"技工院校" = ["技工学校", "技师 学院"]\n'
                    '[headers]\n"单位名称" = ["学校名称"]\n"单位类型" = ["学校名称"]\n"学校" = []\n', encoding="utf-8")
    with pytest.raises(UnitWordsError) as error:
        load_unit_words(path)
    assert [p.split(": ", 1)[1] for p in error.value.problems] == [
        "[types] “技师 学院”同时属于“高职”和“技工院校”",
        "[headers] “学校名称”同时表示“单位名称”和“单位类型”",
        "[headers] “学校”不是单位名单的列（单位名称、单位类型、所属市、别名、联系邮箱）",
    ]


def toml(table: dict) -> str:
    """Just enough TOML for the synonym table: sections of string lists."""
    def quote(text: str) -> str:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

    out = []
    for section, entries in table.items():
        out.append(f"[{section}]")
        out += [f"{quote(k)} = [{', '.join(map(quote, v))}]" for k, v in entries.items()]
    return "\n".join(out) + "\n"
