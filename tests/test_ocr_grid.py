"""Table grids from ruling lines: rows, columns, merged cells, broken lines."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from ocr.grid import find_table
from testkit.ocr_samples import long_name_sample, make_sample, render


def gray(img: Image.Image) -> np.ndarray:
    return np.asarray(img.convert("L"))


def test_summary_grid_has_every_row_and_the_merged_total():
    sample = long_name_sample(blank_rows=2)
    table = find_table(gray(render(sample)))
    assert table is not None
    assert table.n_cols == 4
    assert table.n_rows == 1 + len(sample.rows) + 2 + 1  # header, rows, blank rows, 合计
    total = [c for c in table.cells if c.row == table.n_rows - 1]
    assert [(c.col, c.col_span) for c in total] == [(0, 3), (3, 1)]
    assert all(c.row_span == 1 for c in table.cells)
    assert len(table.cells) == 4 * (table.n_rows - 1) + 2


def test_wrapped_name_row_is_one_tall_row_not_two():
    sample = long_name_sample()
    table = find_table(gray(render(sample)))
    heights = np.diff(table.ys)
    # The first body rows hold names wrapped to two or three lines: taller, still one row.
    assert heights[1] > 1.4 * heights[-2]


def test_increase_grid_has_five_columns_and_no_merged_cells():
    sample = make_sample(11, "increase", n_rows=6)
    table = find_table(gray(render(sample)))
    assert (table.n_rows, table.n_cols) == (1 + 6 + sample.spec.blank_rows, 5)
    assert all(c.row_span == c.col_span == 1 for c in table.cells)


def test_broken_ruling_lines_still_give_the_same_grid():
    sample = make_sample(12, n_rows=5)
    page = render(sample)
    whole = find_table(gray(page))
    broken = page.copy()
    d = ImageDraw.Draw(broken)
    rng = np.random.default_rng(1)
    for y in whole.ys:  # three gaps in every horizontal rule, like worn toner
        for x in rng.uniform(whole.xs[0], whole.xs[-1] - 40, 3):
            d.rectangle([x, y - 6, x + 30, y + 6], fill="white")
    for x in whole.xs:
        for y in rng.uniform(whole.ys[0], whole.ys[-1] - 40, 2):
            d.rectangle([x - 6, y, x + 6, y + 25], fill="white")
    table = find_table(gray(broken))
    assert (table.n_rows, table.n_cols) == (whole.n_rows, whole.n_cols)
    assert np.abs(np.array(table.ys) - np.array(whole.ys)).max() <= 3
    assert np.abs(np.array(table.xs) - np.array(whole.xs)).max() <= 3


def test_cell_spanning_two_rows_is_one_merged_cell():
    img = Image.new("L", (1200, 800), 255)
    d = ImageDraw.Draw(img)
    xs, ys = [100, 500, 800, 1100], [100, 250, 400, 550, 700]
    for y in ys:
        d.line([(xs[0], y), (xs[-1], y)], fill=0, width=4)
    for x in xs:
        d.line([(x, ys[0]), (x, ys[-1])], fill=0, width=4)
    d.rectangle([xs[0] + 4, ys[2] - 4, xs[1] - 4, ys[2] + 4], fill=255)  # no rule between rows 1 and 2, col 0
    table = find_table(np.asarray(img))
    merged = table.cells[[(c.row, c.col) for c in table.cells].index((1, 0))]
    assert (merged.row_span, merged.col_span) == (2, 1)
    assert len(table.cells) == 4 * 3 - 1


def test_two_row_header_rule_under_only_some_columns_splits_them():
    """人数 merged over 原批准 and 调增后: the rule between the two header rows runs under the
    last two columns only (a third of the table), yet it makes a row of its own."""
    img = Image.new("L", (1300, 900), 255)
    d = ImageDraw.Draw(img)
    xs, ys = [100, 250, 700, 850, 1000, 1150], [100, 170, 240, 310, 380, 450]
    for y in ys:
        d.line([(xs[0], y), (xs[-1], y)], fill=0, width=3)
    for x in xs:
        d.line([(x, ys[0]), (x, ys[-1])], fill=0, width=3)
    d.line([(xs[3], 135), (xs[5], 135)], fill=0, width=3)  # the partial rule, mid first row
    d.rectangle([xs[4] - 4, ys[0] + 4, xs[4] + 4, 133], fill=255)  # 人数 spans both columns
    table = find_table(np.asarray(img))
    assert table.n_rows == 6 and table.n_cols == 5
    spans = {(c.row, c.col): (c.row_span, c.col_span) for c in table.cells}
    assert spans[(0, 0)] == spans[(0, 1)] == spans[(0, 2)] == (2, 1)  # 序号, 证书, 级别 span both rows
    assert spans[(0, 3)] == (1, 2) and spans[(1, 3)] == spans[(1, 4)] == (1, 1)


def test_strokes_inside_a_row_make_no_rule():
    """An underline under one cell's text is no rule: it starts and ends away from the columns."""
    img = Image.new("L", (1300, 700), 255)
    d = ImageDraw.Draw(img)
    xs, ys = [100, 400, 700, 1000], [100, 200, 300, 400, 500]
    for y in ys:
        d.line([(xs[0], y), (xs[-1], y)], fill=0, width=3)
    for x in xs:
        d.line([(x, ys[0]), (x, ys[-1])], fill=0, width=3)
    d.line([(440, 250), (660, 250)], fill=0, width=3)
    table = find_table(np.asarray(img))
    assert table.n_rows == 4


def _ruled(size, xs, ys, *, gap_at=None, gap=0):
    img = Image.new("L", size, 255)
    d = ImageDraw.Draw(img)
    for y in ys:
        d.line([(xs[0], y), (xs[-1], y)], fill=0, width=3)
    for x in xs:
        d.line([(x, ys[0]), (x, ys[-1])], fill=0, width=3)
    if gap_at is not None:  # a fold: every row rule broken across the same place
        d.rectangle([gap_at, ys[0] - 5, gap_at + gap, ys[-1] + 5], fill=255)
    return img


def test_a_table_broken_in_two_by_a_fold_is_one_table():
    xs, ys = [100, 200, 600, 800, 1000, 1200], [300, 360, 420, 480, 540, 600, 660]
    img = _ruled((1300, 1000), xs, ys, gap_at=380, gap=45)  # inside the name column
    table = find_table(np.asarray(img))
    assert (table.n_rows, table.n_cols) == (6, 5)


def test_the_sheet_edge_of_a_photo_is_not_the_table():
    """A photographed sheet's edge is a large ruled box; the table inside it has the cells."""
    img = _ruled((1400, 1800), [100, 300, 700, 900, 1100], [500, 560, 620, 680, 740, 800])
    ImageDraw.Draw(img).rectangle([30, 30, 1370, 1770], outline=0, width=4)
    table = find_table(np.asarray(img))
    assert (table.n_rows, table.n_cols) == (5, 4) and table.bbox[0] >= 95


def test_rules_lost_in_an_l_shape_merge_nothing():
    """Missing pieces of rule that would join cells into no rectangle join none of them."""
    xs, ys = [100, 400, 700, 1000], [100, 200, 300, 400]
    img = _ruled((1100, 500), xs, ys)
    d = ImageDraw.Draw(img)
    d.rectangle([xs[1] - 5, ys[0] + 25, xs[1] + 5, ys[1] - 25], fill=255)  # between (0,0) and (0,1)
    d.rectangle([xs[0] + 70, ys[1] - 5, xs[1] - 70, ys[1] + 5], fill=255)  # between (0,0) and (1,0)
    table = find_table(np.asarray(img))
    assert all(c.row_span == c.col_span == 1 for c in table.cells) and len(table.cells) == 9


def test_page_without_a_table_has_no_grid():
    img = Image.new("L", (2480, 3508), 255)
    ImageDraw.Draw(img).text((200, 200), "附件1", fill=0)
    assert find_table(np.asarray(img)) is None
