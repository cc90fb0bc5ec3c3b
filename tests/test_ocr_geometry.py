"""Page geometry: skew, quarter turns, perspective of phone photos."""

from __future__ import annotations

import numpy as np
import pytest

from testkit.ocr_samples import Degradation
from ocr.geometry import gray_of, make_upright, page_mask, sideways, skew_angle, to_array
from ocr.grid import find_table
from testkit.ocr_samples import CATEGORIES, make_sample, scan


@pytest.mark.parametrize("angle", [2.5, -4.0, 0.6])
def test_skew_is_measured_on_the_ruling_lines(angle):
    image = scan(make_sample(31), Degradation(skew=angle, jpeg_quality=80), 31)
    assert skew_angle(gray_of(to_array(image))) == pytest.approx(angle, abs=0.15)


def test_sideways_page_is_recognised():
    sample = make_sample(32)
    assert sideways(gray_of(to_array(scan(sample, CATEGORIES["turned90"], 32))))
    assert not sideways(gray_of(to_array(scan(sample, CATEGORIES["clean"], 32))))


def test_gray_rgb_file_becomes_one_channel():
    image = scan(make_sample(33), CATEGORIES["gray"], 33).convert("RGB")
    assert to_array(image).ndim == 2


@pytest.mark.parametrize("dpi", [150, 600])
def test_every_resolution_is_read_at_one_working_scale(dpi):
    up = make_upright(to_array(scan(make_sample(34), Degradation(dpi=dpi), 34)))
    assert max(up.pixels.shape[:2]) == pytest.approx(3508, abs=3)


def test_photo_is_unwarped_until_the_table_is_a_rectangle():
    sample = make_sample(35, n_rows=6)
    image = scan(sample, CATEGORIES["photo"], 35)
    up = make_upright(to_array(image))
    assert up.warped
    g = gray_of(up.pixels)
    table = find_table(g, page_mask(g))  # the desk around the sheet is not part of the form
    assert table is not None
    assert (table.n_rows, table.n_cols) == (1 + 6 + sample.spec.blank_rows + 1, 4)
    # Straight and square: each rule runs at one height / position from end to end.
    from ocr.grid import binarize, rule_masks

    horiz, _ = rule_masks(binarize(gray_of(up.pixels)))
    x0, x1 = table.xs[0] + 20, table.xs[-1] - 20
    for y in (table.ys[0], table.ys[-1]):
        band = horiz[y - 8:y + 9]
        left = np.flatnonzero(band[:, x0])
        right = np.flatnonzero(band[:, x1])
        assert left.size and right.size
        assert abs(left.mean() - right.mean()) <= 4
