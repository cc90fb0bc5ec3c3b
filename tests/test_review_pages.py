"""The page image staff see: a real rendered form, the reader's own detectors, marks where they belong."""

from __future__ import annotations

import re

import numpy as np
from PIL import Image

from testkit.forms import random_form, render_image
from ocr.grid import find_table
from review.pages import PROBLEM, SEAL, outline


def _bands(mask_rows: np.ndarray) -> list[tuple[int, int]]:
    """Runs of consecutive True rows: (first, last)."""
    bands, start = [], None
    for y, on in enumerate(mask_rows):
        if on and start is None:
            start = y
        if not on and start is not None:
            bands.append((start, y - 1))
            start = None
    if start is not None:
        bands.append((start, len(mask_rows) - 1))
    return bands


def _near(arr: np.ndarray, colour: tuple[int, int, int], tolerance: int = 40) -> np.ndarray:
    return (np.abs(arr.astype(int) - np.array(colour)).sum(axis=2)) < tolerance


def test_problem_rows_are_marked_on_their_own_rows_and_the_seal_is_circled():
    spec = random_form("summary", seed=11, rows=8, blank_rows=0, long_names=False)
    page = render_image(spec, dpi=200)
    plain = np.asarray(outline(page, ()))
    marked = np.asarray(outline(page, (2, 5)))
    assert plain.shape == marked.shape  # the same crop: the marks do not move the page

    changed = np.abs(plain.astype(int) - marked.astype(int)).sum(axis=2) > 30
    bands = _bands(changed.any(axis=1))
    assert len(bands) == 2  # two separate rows, nothing else
    # Where are rows 2 and 5 (序号 n sits on grid row n, under the header)? Ask the grid finder.
    table = find_table(np.asarray(Image.fromarray(plain).convert("L")))
    for (top, bottom), number in zip(bands, (2, 5)):
        cells = [c for c in table.cells if c.row == number]
        y0, y1 = min(c.bbox[1] for c in cells), max(c.bbox[3] for c in cells)
        assert abs(top - y0) <= 8 and abs(bottom - y1) <= 8, (number, (top, bottom), (y0, y1))
        assert _near(marked[top:bottom], PROBLEM, 120).any()
    # The red seal is found and circled on both.
    assert _near(plain, SEAL, 30).sum() > 500 and _near(marked, SEAL, 30).sum() > 500
    assert Image.fromarray(plain).width <= 1400


def test_the_daily_chart_has_a_bar_per_day_and_marks_today():
    from datetime import date, timedelta

    from review.charts import bars_per_day

    days = [(date(2025, 3, 14) + timedelta(days=i), n) for i, n in enumerate([4, 0, 2, 7, 1])]
    svg = bars_per_day(days, today=date(2025, 3, 17))
    assert svg.count("<rect ") == 5
    assert svg.count('class="bar today"') == 1 and svg.count('class="bar future"') == 1
    assert "03月17日：7 份" in svg and ">今天<" in svg
    heights = [float(h) for h in re.findall(r'<rect [^>]*height="([\d.]+)"', svg)]
    assert heights[3] == max(heights) and heights[1] == 0  # bars scale with the counts


def test_the_login_limit_opens_again_after_its_window():
    from review.auth import LoginLimiter

    now = [1000.0]
    limiter = LoginLimiter(max_failures=2, window=60, clock=lambda: now[0])
    limiter.failed("ip:1", "user:a")
    assert limiter.retry_after("ip:1") == 0
    limiter.failed("ip:1", "user:b")
    assert limiter.retry_after("ip:1", "user:c") == 60  # the address is blocked, whoever it tries
    assert limiter.retry_after("ip:2", "user:a") == 0  # one failure for user a: not yet
    now[0] += 61
    assert limiter.retry_after("ip:1") == 0
