"""PageScan → PageReading: classification, columns by header text, rows, confidence.

The scans here are built cell by cell (as ``ocr.scan_page`` or the text layer yields
them) so each rule is tested on its own; the end-to-end runs on rendered files are
in test_documents.py and test_read_cli.py.
"""

from __future__ import annotations

import pytest

from config.profile import load_profile
from domain.forms import IncreaseForm, SummaryForm
from ocr.model import Cell, Grid, PageScan, Seal, TextLine
from parsers.catalog import Catalogue, bundled_certificates
from parsers.forms import classify, read_page

ANHUI = load_profile("anhui-2025")
JIANGSU = load_profile("jiangsu-2024")
CATALOGUE = Catalogue(bundled_certificates())
SEAL = Seal(bbox=(300, 100, 500, 300), colour="red", score=0.9)


def _cell(row, col, text, conf=0.97, agreed=True, **kw):
    return Cell(row=row, col=col, text=text, confidence=conf, bbox=(col * 100, row * 40, col * 100 + 100, row * 40 + 40), agreed=agreed, **kw)


def scan(rows, *, title="安徽省 1+X 职业技能等级证书申报学校汇总表", unit="安徽职业技术学院", unit_conf=0.95,
         unit_agreed=True, seals=(SEAL,), merged_total=None):
    """A scan whose grid holds ``rows`` (lists of text or Cell) row by row."""
    cells = []
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is None:
                continue  # covered by a merged cell
            cells.append(value if isinstance(value, Cell) else _cell(r, c, value))
    if merged_total is not None:
        cells = [c for c in cells if c.row != merged_total[0] or c.col >= 3]
        cells.append(_cell(merged_total[0], 0, "合计", col_span=3))
    n_cols = max(len(r) for r in rows)
    grid = Grid(n_rows=len(rows), n_cols=n_cols, cells=tuple(cells), bbox=(0, 200, 100 * n_cols, 200 + 40 * len(rows)))
    lines = []
    if title:
        lines.append(TextLine(title, 0.9, (100, 20, 900, 60)))
    if unit is not None:
        lines.append(TextLine(f"学校名称（校章）：{unit}", unit_conf, (60, 100, 700, 130), agreed=unit_agreed))
    lines.append(TextLine("2025年3月20日", 0.9, (600, 900, 800, 930)))
    return PageScan(width=1000, height=1400, grid=grid, lines=tuple(lines), seals=tuple(seals))


SUMMARY_HEADER = ["序号", "职业技能等级证书", "级别", "2025 年拟申报人数"]


def summary_rows(*body, total="30"):
    return [SUMMARY_HEADER, *body, ["合计", "", "", total]]


def read(page_scan, source="ocr", profile=ANHUI):
    return read_page(page_scan, index=0, profile=profile, catalogue=CATALOGUE, source=source)


def test_summary_read_with_canonical_names_total_unit_and_stamp():
    reading = read(scan(summary_rows(
        ["1", "建筑信息模型(BIM)职业技能等级证书", "初级", "12"],
        ["2", "物流管理", "中级", "18"],
    )))
    assert reading.kind == "summary"
    form = reading.form
    assert isinstance(form, SummaryForm)
    assert form.unit == "安徽职业技术学院" and form.unit_confident
    assert form.stamp
    assert [(l.row, l.certificate, l.level, l.count) for l in form.lines] == [
        (1, "建筑信息模型（BIM）", "初级", 12),
        (2, "物流管理", "中级", 18),
    ]
    assert all(l.confident for l in form.lines)
    assert form.lines[0].certificate_read == "建筑信息模型(BIM)职业技能等级证书"
    assert form.total == 30 and form.total_confident
    assert "落款日期 2025-03-20" in reading.notes


def test_columns_are_mapped_by_header_text_not_position():
    # A school moved the level column to the end and added a remarks column.
    rows = [
        ["序号", "备注", "职业技能等级证书", "2025 年拟申报人数", "级别"],
        ["1", "新增", "物流管理", "7", "高级"],
        ["合计", "", "", "7", ""],
    ]
    form = read(scan(rows)).form
    assert [(l.certificate, l.level, l.count) for l in form.lines] == [("物流管理", "高级", 7)]
    assert form.total == 7


def test_blank_trailing_rows_are_skipped_and_merged_total_cell_is_read():
    rows = summary_rows(["1", "物流管理", "初级", "5"], ["", "", "", ""], ["", "", "", ""], total="5")
    form = read(scan(rows, merged_total=(4, 0))).form
    assert len(form.lines) == 1
    assert form.total == 5 and form.total_confident


def test_wrapped_certificate_name_is_joined():
    rows = summary_rows(["1", "智能终端产品调试与维修职业技能\n等级证书", "中级", "9"], total="9")
    line = read(scan(rows)).form.lines[0]
    assert line.certificate == "智能终端产品调试与维修" and line.confident


def test_number_read_by_one_engine_only_is_not_confident():
    rows = summary_rows(["1", "物流管理", "初级", _cell(1, 3, "18", agreed=None)], ["2", "母婴护理", "初级", "12"],
                        total="")  # no total to prove it either
    form = read(scan(rows)).form
    assert not form.lines[0].confident  # never trusted without the second engine
    assert form.lines[0].count == 18  # still reported, for the reviewer
    assert form.lines[1].confident


def test_row_number_is_the_schools_seq_only_when_read_with_confidence():
    rows = summary_rows(
        ["1", "物流管理", "初级", "5"],
        [_cell(2, 0, "5", conf=0.3, agreed=False), "母婴护理", "初级", "7"],  # a misread 2
        ["4", "数据标注", "中级", "3"],  # the school's own numbering, read well
        total="15",
    )
    form = read(scan(rows)).form
    assert [(l.row, l.certificate) for l in form.lines] == [(1, "物流管理"), (2, "母婴护理"), (4, "数据标注")]


def test_engines_disagreeing_or_low_confidence_mark_the_line():
    rows = summary_rows(
        ["1", "物流管理", "初级", _cell(1, 3, "18", agreed=False)],
        ["2", "母婴护理", "初级", _cell(2, 3, "12", conf=0.5)],
    )
    form = read(scan(rows)).form
    assert [l.confident for l in form.lines] == [False, False]


def test_text_layer_values_are_confident_without_engine_agreement():
    rows = summary_rows(["1", "物流管理", "初级", _cell(1, 3, "30", conf=1.0, agreed=None)])
    form = read(scan(rows), source="text").form
    assert form.lines[0].confident and form.total_confident


def test_unreadable_or_empty_number_is_none_and_not_confident():
    rows = summary_rows(["1", "物流管理", "初级", "1O"], ["2", "母婴护理", "初级", ""], total="")
    form = read(scan(rows), source="text").form
    assert [(l.count, l.confident) for l in form.lines] == [(None, False), (None, False)]
    assert form.total is None and not form.total_confident


def test_total_mismatch_on_a_scan_asks_for_review_but_on_a_text_layer_stays_confident():
    rows = summary_rows(["1", "物流管理", "初级", "10"], ["2", "母婴护理", "初级", "12"], total="32")
    ocr_form = read(scan(rows)).form
    assert ocr_form.total == 32 and not ocr_form.total_confident
    text_form = read(scan(rows), source="text").form
    assert text_form.total == 32 and text_form.total_confident  # the school's own mistake: total_mismatch


def test_unknown_certificate_from_text_layer_is_confident_but_from_ocr_is_not():
    rows = summary_rows(["1", "区块链应用操作", "初级", "30"])
    text_line = read(scan(rows), source="text").form.lines[0]
    assert text_line.certificate == "区块链应用操作" and not text_line.certificate_matched and text_line.confident
    ocr_line = read(scan(rows)).form.lines[0]
    assert not ocr_line.certificate_matched and not ocr_line.confident


def test_fuzzy_name_between_two_catalogue_entries_is_not_confident():
    rows = summary_rows(["1", "网络安全评维", "初级", "30"])
    assert not read(scan(rows)).form.lines[0].confident


@pytest.mark.parametrize("written, level, confident", [("中级", "中级", True), ("中", "中级", True), ("中圾", "中圾", False)])
def test_levels(written, level, confident):
    line = read(scan(summary_rows(["1", "物流管理", written, "30"]))).form.lines[0]
    assert (line.level, line.confident) == (level, confident)


def test_invalid_level_from_text_layer_is_kept_for_cert_level_invalid():
    line = read(scan(summary_rows(["1", "物流管理", "特级", "30"])), source="text").form.lines[0]
    assert line.level == "特级" and line.confident


def test_unit_under_the_seal_read_poorly_is_not_confident():
    form = read(scan(summary_rows(["1", "物流管理", "初级", "30"]), unit="安徽职业技术学晥", unit_conf=0.41)).form
    assert not form.unit_confident


def test_missing_unit_line_and_missing_seal():
    form = read(scan(summary_rows(["1", "物流管理", "初级", "30"]), unit=None, seals=())).form
    assert form.unit == "" and not form.unit_confident
    assert not form.stamp


def test_increase_form_with_anhui_columns():
    rows = [
        ["序号", "证书名称", "证书级别", "原批准人数", "调增后人数"],
        ["1", "老年照护", "中级", "20", "35"],
    ]
    reading = read(scan(rows, title="安徽省 1+X 职业技能等级证书指标调增申请表"))
    assert reading.kind == "increase"
    form = reading.form
    assert isinstance(form, IncreaseForm)
    assert [(l.certificate, l.level, l.approved, l.requested, l.confident) for l in form.lines] == [
        ("老年照护", "中级", 20, 35, True)
    ]


def test_jiangsu_columns_come_from_its_profile():
    rows = [
        ["序号", "证书名称", "证书级别", "原申报人数", "调整后人数"],
        ["1", "老年照护", "高级", "8", "15"],
    ]
    reading = read(scan(rows, title="江苏省1+X证书申报调整申请表"), profile=JIANGSU)
    assert reading.kind == "increase"
    assert [(l.approved, l.requested) for l in reading.form.lines] == [(8, 15)]
    # The Anhui profile has no form with these columns or this title.
    assert read(scan(rows, title="江苏省1+X证书申报调整申请表")).kind == "application"


def test_garbled_title_is_classified_by_the_table_header():
    rows = summary_rows(["1", "物流管理", "初级", "30"])
    assert classify(scan(rows, title="安徽省 1+X 职业技能等级证书申报学校汇"), ANHUI) == "summary"


def test_no_round_mark_at_all_is_a_sure_no_stamp_only_on_colour_pages():
    page = scan(summary_rows(["1", "物流管理", "初级", "30"]), seals=())
    form = read(page).form
    assert (form.stamp, form.stamp_confident) == (False, True)
    gray = read_page(page, index=0, profile=ANHUI, catalogue=CATALOGUE, source="ocr", absence_visible=False).form
    assert (gray.stamp, gray.stamp_confident) == (False, False)  # a gray seal may have been missed


def test_title_and_header_lost_from_the_grid_still_classify_by_column_names():
    # A black-and-white scan: the title is garbled, the header row fell outside the grid.
    rows = [["1", "老年照护", "高级", "8", "15"]]
    base = scan(rows, title="学交技能等级证书申报学校工总表")
    lines = base.lines + (TextLine("序号", 1.0, (0, 180, 50, 199)), TextLine("证书级别原批准人数", 1.0, (200, 180, 400, 199)),
                          TextLine("证书名称", 1.0, (60, 180, 190, 199)), TextLine("调增后人数", 1.0, (420, 180, 500, 199)))
    reading = read(PageScan(base.width, base.height, base.grid, lines, base.seals))
    assert reading.kind == "increase"
    assert reading.form.lines == () and not reading.form.table_confident  # → review, not form.unrecognized


def test_application_and_unknown_pages():
    application = scan([["项目", "内容"], ["院校名称", ""]], title="附件1  1+X 证书制度试点院校申报表")
    assert read(application).kind == "application" and read(application).form is None
    letter = scan([["a", "b"]], title="关于报送材料的说明")
    assert read(letter).kind == "unknown"


def test_form_without_a_readable_header_needs_review():
    rows = [["x", "y", "z"], ["1", "物流管理", "30"]]
    reading = read(scan(rows))
    assert reading.kind == "summary"
    assert reading.form.lines == () and not reading.form.table_confident
    assert any("表头" in n for n in reading.notes)


def test_garbled_ocr_header_still_maps():
    rows = [["序号", "职业技能等级证书", "級别", "2025 年拟申报人薮"], ["1", "物流管理", "初级", "30"], ["合计", "", "", "30"]]
    form = read(scan(rows)).form
    assert [(l.level, l.count) for l in form.lines] == [("初级", 30)]


def test_unit_split_from_its_label_by_ocr_is_found_to_the_right():
    base = scan(summary_rows(["1", "物流管理", "初级", "30"]), unit=None)
    lines = base.lines + (
        TextLine("学校名称（校章）：", 0.95, (60, 100, 300, 130), agreed=True),
        TextLine("安徽职业技术学院", 0.93, (310, 98, 600, 132), agreed=True),
    )
    form = read(PageScan(base.width, base.height, base.grid, lines, base.seals)).form
    assert form.unit == "安徽职业技术学院" and form.unit_confident


def test_a_unit_name_only_one_engine_read_is_not_sure():
    """One engine sure of 安徽字联学章 (a seal's characters over 安徽三联学院) must not make the
    form another unit's: a school is never rejected on one engine's word."""
    form = read(scan(summary_rows(["1", "物流管理", "初级", "30"]), unit="安徽字联学章", unit_conf=0.97,
                     unit_agreed=None)).form
    assert form.unit == "安徽字联学章" and not form.unit_confident


@pytest.mark.parametrize(
    "colour, score, source, stamped, sure",
    [
        ("red", 0.6, "ocr", True, True),
        ("gray", 0.97, "ocr", True, True),
        ("gray", 0.65, "ocr", False, False),  # a faint round mark: no stamp, but ask a human
        ("gray", 0.3, "ocr", False, False),
        ("gray", 0.65, "text", False, True),  # electronic seals are colour images
    ],
)
def test_stamp_and_how_sure_we_are(colour, score, source, stamped, sure):
    seal = Seal(bbox=(300, 100, 500, 300), colour=colour, score=score)
    form = read(scan(summary_rows(["1", "物流管理", "初级", "30"]), seals=(seal,)), source=source).form
    assert (form.stamp, form.stamp_confident) == (stamped, sure)


@pytest.mark.parametrize("label", [
    "学校名称（校章）：", "学校名称(盖章)：", "填报单位（盖章）：", "申报学校（盖章）：", "单位名称（公章）：",
    "填报学校（盖章）：", "申报单位：",
])
def test_the_unit_line_in_the_wordings_forms_use(label):
    base = scan(summary_rows(["1", "物流管理", "初级", "30"]), unit=None)
    lines = (TextLine("2025年1+X证书制度试点", 0.95, (60, 20, 600, 50)),
             TextLine("申报学校汇总表", 0.95, (60, 55, 600, 85)),  # a title line is no unit label
             TextLine(label + "安徽职业技术学院", 0.95, (60, 100, 600, 130)))
    form = read(PageScan(base.width, base.height, base.grid, lines, base.seals), source="text").form
    assert (form.unit, form.unit_confident) == ("安徽职业技术学院", True)


def test_a_unit_row_merged_into_the_table_is_read():
    base = scan(summary_rows(["1", "物流管理", "初级", "30"]), unit=None)
    shifted = tuple(Cell(c.row + 1, c.col, c.text, c.confidence, c.bbox, c.row_span, c.col_span, c.agreed)
                    for c in base.grid.cells)
    merged = Cell(0, 0, "学校名称(盖章)：安徽职业技术学院", 1.0, (10, 60, 990, 90), col_span=base.grid.n_cols)
    grid = Grid(base.grid.n_rows + 1, base.grid.n_cols, (merged, *shifted), base.grid.bbox)
    lines = (TextLine("申报学校汇总表", 1.0, (60, 20, 600, 50)),)
    form = read(PageScan(base.width, base.height, grid, lines, base.seals), source="text").form
    assert form.unit == "安徽职业技术学院" and len(form.lines) == 1


def test_a_header_cell_naming_a_column_of_schools_is_no_unit_line():
    rows = [["序号", "学校名称", "职业技能等级证书", "级别", "拟申报人数"],
            ["1", "合肥学院", "物流管理", "初级", "30"], ["合计", "", "", "", "30"]]
    base = scan(rows, unit=None)
    form = read(PageScan(base.width, base.height, base.grid, (), base.seals), source="text").form
    assert form is None or (form.unit, form.unit_confident) == ("", False)


def test_a_date_run_into_the_unit_line_ends_the_name():
    base = scan(summary_rows(["1", "物流管理", "初级", "30"]), unit=None)
    lines = (TextLine("填报单位（盖章）：铜陵理工学校 填报日期：2025年3月27日", 0.95, (60, 100, 900, 130)),)
    form = read(PageScan(base.width, base.height, base.grid, lines, base.seals), source="text").form
    assert form.unit == "铜陵理工学校"


def test_two_row_header_with_a_merged_count_cell_is_an_increase_form():
    """人数 merged over 原批准人数 and 调增后人数, the title a merged row inside the table: the
    summary's 申报人数 must not claim the merged cell (it read 28 numbers as a summary's)."""
    rows = [
        [_cell(0, 0, "2025年1+X证书制度试点指标调增申请表", col_span=5), None, None, None, None],
        [_cell(1, 0, "序号", row_span=2), _cell(1, 1, "证书名称", row_span=2), _cell(1, 2, "证书级别", row_span=2),
         _cell(1, 3, "申报人数", col_span=2), None],
        [None, None, None, "原批准人数（人）", "调增后人数"],
        ["1", "老年照护", "中级", "20", "35"],
        ["2", "物流管理", "高级", "8", "12"],
    ]
    reading = read(scan(rows, title=None))
    assert reading.kind == "increase"
    assert [(l.certificate, l.approved, l.requested) for l in reading.form.lines] == [
        ("老年照护", 20, 35), ("物流管理", 8, 12)]


def test_header_words_offices_use_beyond_the_profile_list():
    rows = [
        ["序 号", "1+X证书名称", "等级", "原批准数", "调增后总人数", "备注"],
        ["1", "老年照护", "中级", "20", "35", ""],
    ]
    reading = read(scan(rows, title="指标调增申请表"))
    assert [(l.certificate, l.level, l.approved, l.requested) for l in reading.form.lines] == [
        ("老年照护", "中级", 20, 35)]


def test_garbled_name_header_is_found_by_elimination_past_a_remarks_column():
    rows = [
        ["序号", "职业能要", "级别", "拟申报人数", "备注"],
        ["1", "老年照护", "中级", "20", ""],
        ["合  计", "", "", "20", ""],
    ]
    form = read(scan(rows)).form
    assert [(l.certificate, l.count) for l in form.lines] == [("老年照护", 20)]


@pytest.mark.parametrize("label", ["合记", "台计", "合  计"])
def test_a_half_read_total_label_still_ends_the_lines(label):
    form = read(scan([SUMMARY_HEADER, ["1", "物流管理", "中级", "18"], [label, "", "", "18"]])).form
    assert [l.certificate for l in form.lines] == ["物流管理"] and form.total == 18


def test_a_unit_row_whose_rules_were_lost_is_read_across_its_cells():
    rows = [
        ["学校", "名称(盖章):六安技师学院", "", ""],
        SUMMARY_HEADER,
        ["1", "物流管理", "中级", "18"],
    ]
    form = read(scan(rows, unit=None)).form
    assert form.unit == "六安技师学院" and [l.count for l in form.lines] == [18]


def test_the_total_settles_the_one_number_the_engines_disagreed_on():
    """Tesseract read 118, RapidOCR 18; the total and the other line, both sure, need 18."""
    disputed = _cell(1, 3, "118", conf=0.3, agreed=False, alternatives=("18",))
    reading = read(scan(summary_rows(["1", "物流管理", "初级", disputed], ["2", "母婴护理", "初级", "12"])))
    assert [(l.count, l.confident) for l in reading.form.lines] == [(18, True), (12, True)]
    assert reading.form.total_confident and any("由合计与其余各行核定" in n for n in reading.notes)


def test_no_reading_fits_the_sum_or_two_lines_unsure_leave_the_doubt():
    wrong = _cell(1, 3, "118", conf=0.3, agreed=False, alternatives=("19",))
    form = read(scan(summary_rows(["1", "物流管理", "初级", wrong], ["2", "母婴护理", "初级", "12"]))).form
    assert not form.lines[0].confident
    a = _cell(1, 3, "18", conf=0.3, agreed=False, alternatives=("13",))
    b = _cell(2, 3, "12", conf=0.3, agreed=False, alternatives=("17",))
    form = read(scan(summary_rows(["1", "物流管理", "初级", a], ["2", "母婴护理", "初级", b]))).form
    assert not form.lines[0].confident and not form.lines[1].confident


def test_lines_all_sure_settle_a_total_read_two_ways():
    total = _cell(3, 3, "38", conf=0.3, agreed=False, alternatives=("30",))
    rows = [SUMMARY_HEADER, ["1", "物流管理", "初级", "18"], ["2", "母婴护理", "初级", "12"], ["合计", "", "", total]]
    form = read(scan(rows)).form
    assert (form.total, form.total_confident) == (30, True)


def test_a_total_smaller_than_the_sure_lines_is_not_sure():
    """671 read as 67 (a seal over a digit), lines partly unsure: the sure lines alone exceed it."""
    unsure = _cell(2, 3, "8", conf=0.3, agreed=False, alternatives=("18",))
    rows = summary_rows(["1", "物流管理", "初级", "68"], ["2", "母婴护理", "初级", unsure], total="67")
    reading = read(scan(rows))
    assert reading.form.total == 67 and not reading.form.total_confident
    assert any("已确认的各行之和已达 68" in n for n in reading.notes)


def test_a_header_cell_spanning_two_columns_names_one_and_the_form_still_classifies():
    """证书名称 merged over two columns (the name and a blank one): the header still explains the
    table, so a page whose title was lost is still the summary form."""
    rows = [
        ["序号", _cell(0, 1, "职业技能等级证书名称", col_span=2), None, "级别", "拟申报人数"],
        ["1", "物流管理", "", "中级", "18"],
        ["合计", "", "", "", "18"],
    ]
    reading = read(scan(rows, title=None))
    assert reading.kind == "summary"
    assert [(l.certificate, l.count) for l in reading.form.lines] == [("物流管理", 18)]
