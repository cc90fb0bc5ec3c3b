"""The whole OCR pipeline on rendered, stamped, degraded forms — and its confidence rule."""

from __future__ import annotations

import time

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from ocr import outline, scan_page
from ocr.engines import Engine, LineText, RapidEngine, TesseractEngine, default_engines
from ocr.errors import EngineTimeout
from ocr.model import ColumnHints, PageScan
from parsers.columns import ANY_FORM
from testkit.forms import NOTO_SANS
from testkit.ocr_samples import CATEGORIES, Degradation, long_name_sample, make_sample, scan

ENGINES = default_engines()


def norm(text: str) -> str:
    return text.replace("(", "（").replace(")", "）").replace(" ", "")


def body_rows(scan_: PageScan, n: int) -> list[list[str]]:
    return [[c.text for c in scan_.grid.row_cells(r)] for r in range(1, n + 1)]


def assert_numbers_sure_or_flagged(scan_: PageScan, truth_rows, numeric_cols) -> int:
    """No silent error: every number is right, or it is not confident. Returns the sure count."""
    sure = 0
    for r, row in enumerate(truth_rows, start=1):
        for col in numeric_cols:
            cell = scan_.grid.cell(r, col)
            confident = cell.agreed is True and cell.confidence >= 0.8
            assert cell.text == row[col] or not confident, (r, col, cell)
            sure += confident
    return sure


@pytest.fixture(scope="module")
def stamped_long_names():
    sample = long_name_sample(blank_rows=2, seal_over="numbers")
    return sample, scan_page(scan(sample, CATEGORIES["clean"], 1), columns=ANY_FORM, engines=ENGINES)


def test_clean_scan_reads_every_cell_with_confidence(stamped_long_names):
    sample, result = stamped_long_names
    assert result.grid is not None and result.grid.n_cols == 4
    assert [norm(t) for t in [c.text for c in result.grid.row_cells(0)]] == [norm(h) for h in sample.spec.headers]
    for got, want in zip(body_rows(result, len(sample.rows)), sample.rows):
        assert [norm(t) for t in got] == [norm(v) for v in want]  # wrapped names come back joined
    numbers = [result.grid.cell(r, 3) for r in range(1, len(sample.rows) + 1)]
    assert all(n.agreed is True for n in numbers)  # the seal sat on these numbers
    # The seal's lettering crosses the lone "7" of row 1: Tesseract scores it 0.41–0.99 by ink
    # pattern, so that one cell may go to review. Every other number must be sure.
    assert sum(n.confidence >= 0.8 for n in numbers) >= len(numbers) - 1
    assert [s.colour for s in result.seals] == ["red"]


def test_blank_rows_are_empty_and_sure_and_the_total_row_is_merged(stamped_long_names):
    sample, result = stamped_long_names
    blank = [len(sample.rows) + 1, len(sample.rows) + 2]
    for r in blank:
        assert [(c.text, c.confidence) for c in result.grid.row_cells(r)] == [("", 1.0)] * 4
    total_row = result.grid.row_cells(result.grid.n_rows - 1)
    assert [(c.col, c.col_span) for c in total_row] == [(0, 3), (3, 1)]
    assert total_row[0].text == "合计"
    assert total_row[1].text == str(sample.spec.total) and total_row[1].agreed is True


def test_text_around_the_table_comes_back_as_lines(stamped_long_names):
    sample, result = stamped_long_names
    texts = [norm(line.text) for line in result.lines]
    assert any("汇总表" in t for t in texts)
    unit_line = next(t for t in texts if t.startswith("学校名称"))
    assert unit_line.endswith(sample.spec.unit)
    assert any(sample.spec.date in t for t in texts)
    assert all(a.bbox[1] <= b.bbox[1] for a, b in zip(result.lines, result.lines[1:]))


@pytest.mark.parametrize(
    "category,rotation,seal_over",
    [("turned90", 90, "total"), ("turned180", 180, "unit"), ("photo", 0, "numbers")],  # turned180 is also gray
)
def test_degraded_scans_read_right_or_flag_the_doubt(category, rotation, seal_over):
    sample = make_sample(40 + rotation, n_rows=5, seal_over=seal_over)
    result = scan_page(scan(sample, CATEGORIES[category], 40), columns=ANY_FORM, engines=ENGINES)
    assert result.rotation == rotation
    assert result.grid is not None
    assert result.grid.n_rows == 1 + 5 + sample.spec.blank_rows + 1
    sure = assert_numbers_sure_or_flagged(result, sample.rows, [3])
    assert sure >= 4  # and most of them are read with confidence
    levels = [result.grid.cell(r, 2).text for r in range(1, 6)]
    assert levels == [row[2] for row in sample.rows]


def test_increase_form_reads_both_number_columns_as_digits():
    sample = make_sample(50, "increase", n_rows=4, seal_over="numbers")
    result = scan_page(scan(sample, Degradation(skew=-1.2, jpeg_quality=80), 50), columns=ANY_FORM, engines=ENGINES)
    assert result.grid.n_cols == 5
    assert assert_numbers_sure_or_flagged(result, sample.rows, [3, 4]) >= 7
    assert any("deskewed" in n for n in result.notes)


class MisreadsCounts(Engine):
    """Tesseract on a bad page: the 调增后人数 header and any number read as text come out garbled."""

    name = "misreads-counts"

    def __init__(self, inner: Engine):
        self.inner = inner

    def read_lines(self, lines):
        out = []
        for ln, t in zip(lines, self.inner.read_lines(lines)):
            if not ln.digits and "后人" in t.text:
                t = LineText("调培后人敬", 0.4)
            elif not ln.digits and t.text.strip().isdigit():
                t = LineText("呈和", 0.4)
            out.append(t)
        return out


def test_a_count_header_the_reader_misread_is_read_again():
    # 原批准人数 is read well, so a count column is found; 调增后人数 must not be lost.
    sample = make_sample(51, "increase", n_rows=3, seal_over="numbers")
    image = scan(sample, CATEGORIES["clean"], 51)
    result = scan_page(image, columns=ANY_FORM, engines=(RapidEngine(), MisreadsCounts(TesseractEngine())))
    for r in range(1, 4):
        cell = result.grid.cell(r, 4)
        assert cell.text == sample.rows[r - 1][4] and cell.agreed is True, cell


class LyingDigits(Engine):
    """A fault injected through the real extension point: reads every number one too high."""

    name = "lying"

    def __init__(self, inner: Engine):
        self.inner = inner

    def read_lines(self, lines):
        out = self.inner.read_lines(lines)
        return [
            LineText(str(int(t.text) + 1), 0.99) if ln.digits and t.text.isdigit() else t
            for ln, t in zip(lines, out)
        ]


def test_engines_that_disagree_never_yield_a_confident_number():
    sample = make_sample(60, n_rows=4)
    image = scan(sample, CATEGORIES["clean"], 60)
    result = scan_page(image, columns=ANY_FORM, engines=(RapidEngine(), LyingDigits(TesseractEngine())))
    for r in range(1, 5):
        cell = result.grid.cell(r, 3)
        assert cell.agreed is False and cell.confidence <= 0.3
        assert cell.alternatives == (str(int(sample.rows[r - 1][3]) + 1),)


class StalledEngine(Engine):
    name = "stalled"

    def read_lines(self, lines):
        raise EngineTimeout("stalled engine timed out after 0 s")


def test_engine_timeout_surfaces_as_a_typed_error_not_an_empty_page():
    image = scan(make_sample(61, n_rows=3), CATEGORIES["clean"], 61)
    with pytest.raises(EngineTimeout):
        scan_page(image, columns=ANY_FORM, engines=(StalledEngine(),))


def test_page_without_a_table_still_gives_its_text():
    page = Image.new("L", (2480, 3508), 255)
    d = ImageDraw.Draw(page)
    d.text((300, 300), "附件1", font=ImageFont.truetype(NOTO_SANS, 70), fill=0)
    d.text((300, 500), "1+X证书制度试点申报表", font=ImageFont.truetype(NOTO_SANS, 90), fill=0)
    result = scan_page(page, columns=ANY_FORM, engines=ENGINES)
    assert result.grid is None
    assert "no ruled table found" in result.notes
    assert [norm(t.text) for t in result.lines] == ["附件1", "1+X证书制度试点申报表"]


def test_outline_draws_cells_and_seal_on_the_upright_page(stamped_long_names):
    sample, result = stamped_long_names
    image = scan(sample, CATEGORIES["clean"], 1)
    drawn = np.asarray(outline(image, result))
    assert drawn.shape[:2] == (round(result.height), round(result.width))
    green = (drawn[:, :, 1] > 120) & (drawn[:, :, 0] < 40) & (drawn[:, :, 2] < 100)
    assert green.sum() > 1000  # sure cells are outlined in green
    x0, y0, x1, y1 = (int(v) for v in result.seals[0].bbox)
    ring = drawn[y0:y1, x0:x1]
    assert ((ring[:, :, 0] > 200) & (ring[:, :, 1] < 30)).sum() > 500  # the seal's ring


def test_tesseract_alone_turns_the_page_by_osd_and_claims_no_agreement():
    sample = make_sample(62, n_rows=3, seal_over="numbers")
    result = scan_page(scan(sample, CATEGORIES["turned180"], 62), columns=ANY_FORM, engines=(TesseractEngine(),))
    assert result.rotation == 180
    for r in range(1, 4):
        cell = result.grid.cell(r, 3)
        assert cell.agreed is None  # one engine: nothing to agree with, so never "confident" for a number
        assert cell.text == sample.rows[r - 1][3] or cell.confidence < 0.8


class Recording(Engine):
    """A real engine that remembers which line images it was given (and as digits or not)."""

    def __init__(self, inner: Engine, score: float | None = None):
        self.inner = inner
        self.name = inner.name
        self.score = score  # when set, every text line reads at this score (to force second looks)
        self.seen: dict[int, tuple[bool, bool]] = {}  # line image id → (long, digits)

    def read_lines(self, lines):
        for ln in lines:
            h, w = ln.pixels.shape[:2]
            self.seen[id(ln.pixels)] = (w > 8 * h, ln.digits)
        out = self.inner.read_lines(lines)
        if self.score is None:
            return out
        return [t if ln.digits else LineText(t.text, self.score) for ln, t in zip(lines, out)]

    def long_lines(self) -> set[int]:
        return {k for k, (long, digits) in self.seen.items() if long and not digits}

    def digit_lines(self) -> set[int]:
        return {k for k, (_, digits) in self.seen.items() if digits}


def _bench_scan(seed: int, engines):
    """A page of the forms benchmark (names in one wide cell line each), read with ``engines``."""
    from parsers.documents import iter_pages
    from testkit.forms.samples import make_sample as bench_sample

    sample = bench_sample("scan_color", seed)
    image = list(iter_pages(sample.data, sample.filename))[-1].render()
    return sample.truth["pages"][-1], scan_page(image, columns=ANY_FORM, engines=engines)


def test_text_is_read_by_tesseract_numbers_by_both_and_names_shared():
    first, second = Recording(RapidEngine()), Recording(TesseractEngine())
    truth, result = _bench_scan(1000, (first, second))
    rows = truth["lines"]
    # Numbers: 序号 and counts by Tesseract, the counts by RapidOCR too, and they agree.
    assert len(second.digit_lines()) >= 2 * len(rows)
    assert len(second.digit_lines() - set(first.seen)) == len(rows)  # 序号: Tesseract alone
    for r in range(1, len(rows) + 1):
        assert result.grid.cell(r, 0).agreed is None  # one engine's 序号: never confident
    for r, line in enumerate(rows, start=1):
        numbers = [line[k] for k in ("count", "approved", "requested") if k in line]
        for j, value in enumerate(numbers):
            cell = result.grid.cell(r, 3 + j)
            assert cell.text == str(value) and cell.agreed is True
    # Text: one engine where it was sure. Tesseract reads most of it (it costs less than
    # half as much per line); RapidOCR takes some long lines so both finish together.
    text_first = {k for k, (_, digits) in first.seen.items() if not digits}
    text_second = {k for k, (_, digits) in second.seen.items() if not digits}
    assert len(text_second - text_first) > len(text_first - text_second) > 0
    assert first.long_lines() - second.long_lines()  # names RapidOCR read alone
    for r, line in enumerate(rows, start=1):
        assert line["certificate"] in norm(result.grid.cell(r, 1).text)


def test_a_text_line_tesseract_is_unsure_of_is_read_again_by_rapidocr():
    first, second = Recording(RapidEngine()), Recording(TesseractEngine(), score=0.5)
    truth, result = _bench_scan(1000, (first, second))
    text_second = {k for k, (_, digits) in second.seen.items() if not digits}
    # Every one read again, but for the lines below the table (contact, date: notes only).
    below = [t for t in result.lines if t.bbox[1] > result.grid.bbox[3]]
    assert text_second and len(text_second - set(first.seen)) <= len(below) < len(text_second) // 4
    for r, line in enumerate(truth["lines"], start=1):
        name = result.grid.cell(r, 1)
        assert name.confidence > 0.5  # RapidOCR's reading leads, not the unsure one
        assert line["certificate"] in norm(name.text)


class RuleRemnants(Recording):
    """Tesseract reading a ruling line's remnant before every level, and sure of it."""

    def read_lines(self, lines):
        out = super().read_lines(lines)
        return [LineText("=" + t.text, 0.95) if t.text in ("初级", "中级", "高级") else t for t in out]


def test_a_rule_remnant_in_a_sure_reading_is_read_again():
    first, second = Recording(RapidEngine()), RuleRemnants(TesseractEngine())
    truth, result = _bench_scan(1000, (first, second))
    for r, line in enumerate(truth["lines"], start=1):
        assert result.grid.cell(r, 2).text == line["level"]  # RapidOCR's reading leads


class Paced(Engine):
    """An engine that takes a set time per line and is always sure of one character."""

    def __init__(self, seconds_per_line: float):
        self.name = f"paced-{seconds_per_line}"
        self.seconds_per_line = seconds_per_line
        self.read = 0

    def read_lines(self, lines):
        time.sleep(self.seconds_per_line * len(lines))
        self.read += len(lines)
        return [LineText("字", 0.95) for _ in lines]


def _lines(n: int, kind: str, width: int = 480, start: int = 0):
    from ocr.schedule import Line

    return [Line(np.full((48, width), 255, np.uint8), (kind, start + i)) for i in range(n)]


def test_lines_either_engine_may_read_are_shared_so_both_finish_together():
    from ocr.schedule import read_all

    lines = _lines(40, "region")  # a page without a table: its free lines are shared
    checker, reader = Paced(0.01), Paced(0.01)
    read_all(lines, [], ColumnHints(numbers=("人数",)), (checker, reader))
    assert all(len(ln.reads) == 1 for ln in lines)  # each read once: sure readings need no second look
    assert checker.read + reader.read == 40 and 10 <= checker.read <= 30
    # A far slower checker is left next to nothing: the reader takes the rest meanwhile.
    lines = _lines(40, "region")
    checker, reader = Paced(0.2), Paced(0.002)
    read_all(lines, [], ColumnHints(numbers=("人数",)), (checker, reader))
    assert all(len(ln.reads) == 1 for ln in lines) and checker.read <= 2


def test_the_checker_takes_names_under_a_seal_first_the_reader_from_the_top():
    from ocr.schedule import _Names

    names = _lines(20, "cell")
    levels = _lines(20, "cell", width=96, start=100)  # short: not shared, the reader's
    wrapped = _lines(2, "cell", start=50)
    wrapped[1].owner = wrapped[0].owner  # one cell, a name on two lines
    queue = _Names(names + levels + wrapped, lambda owner: owner in {("cell", 17), ("cell", 3)})
    assert not any(queue.holds(ln) for ln in levels) and queue.holds(wrapped[1])
    assert [queue.take(top=False)[0].owner[1] for _ in range(3)] == [17, 3, 50]
    assert len(queue.take(top=False)) == 1  # one cell at a time: 19
    assert [ln.owner[1] for ln in queue.take(top=True, width=3 * 480)] == [0, 1, 2]
    assert [ln.owner[1] for ln in queue.take(top=True, width=1)] == [4]


def test_the_checker_leaves_the_last_names_to_a_reader_that_would_finish_them_sooner():
    from ocr.schedule import _Names

    queue = _Names(_lines(3, "cell"), lambda owner: False)
    queue.timed(True, Paced(0.02), 1, _lines(1, "cell", start=10))  # the reader: 0.02 s a name
    queue.timed(False, Paced(0.2), 0, _lines(1, "cell", start=20))  # the checker: ten times that
    assert queue.take(top=False) == []  # 0.2 s for one name against 0.06 s for all three
    assert len(queue.take(top=True)) == 1
    queue.timed(False, Paced(0.0), 0, _lines(20, "cell", start=30))  # now it has read far faster
    assert len(queue.take(top=False)) == 1


def test_a_two_row_header_heads_every_column_under_its_merged_count_cell():
    """人数 merged over 原批准数 and 调增后人数: both columns are read as numbers by both engines,
    and a title across the table (it says 调增) heads none."""
    from ocr.schedule import _header_row

    texts = {(0, 0): "2025年指标调增申请表", (1, 0): "序号", (1, 1): "证书名称", (1, 2): "级别", (1, 3): "人数",
             (2, 3): "原批准数", (2, 4): "调增后人数", (3, 3): "20", (3, 4): "35"}
    spans = {(0, 0): 5, (1, 3): 2}
    assert _header_row(texts, ANY_FORM, spans) == (2, {3, 4})
    assert _header_row({(0, 0): "序号", (0, 3): "拟申报人数", (1, 3): "12"}, ANY_FORM) == (0, {3})
