"""The third look at numbers the engines read differently (``ocr.third_look``)."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ocr.engines import Engine, LineText, RapidEngine, TesseractEngine
from ocr.model import Cell
from ocr.third_look import cleaned, disputed, settle
from testkit.forms import NOTO_SANS


def _digits(text: str, size=(160, 48), shade=90) -> np.ndarray:
    image = Image.new("L", size, 235)
    ImageDraw.Draw(image).text((14, 6), text, fill=shade, font=ImageFont.truetype(NOTO_SANS, 30))
    return np.asarray(image)


class Says(Engine):
    def __init__(self, *texts: str, confidence: float = 0.9):
        self.texts, self.confidence = list(texts), confidence

    def read_lines(self, lines):
        return [LineText(self.texts.pop(0), self.confidence) for _ in lines]


def _cell(text="118", alternatives=("18",)) -> Cell:
    return Cell(3, 2, text, 0.3, (0, 0, 10, 10), agreed=False, alternatives=alternatives)


def test_both_engines_again_on_one_of_the_first_readings_settle_it():
    [(k, cell)] = settle([(_cell(), _digits("18"))], (Says("18"), Says("18"))).items()
    assert (k, cell.text, cell.agreed, cell.confidence >= 0.8) == (0, "18", True, True)
    assert cell.alternatives == ("118",)  # the other first reading stays, for the sum


def test_a_new_number_or_engines_still_apart_settle_nothing():
    assert settle([(_cell(), _digits("18"))], (Says("19"), Says("19"))) == {}  # never invented
    assert settle([(_cell(), _digits("18"))], (Says("18"), Says("118"))) == {}
    assert settle([(_cell(), _digits("18"))], (Says("18", confidence=0.3), Says("18"))) == {}


def test_only_one_line_numbers_not_read_surely_alike_are_disputed():
    crop = _digits("18")
    assert disputed(_cell(), True, [crop])
    assert not disputed(_cell(), False, [crop])  # a text column
    assert not disputed(_cell(), True, [crop, crop])  # two lines: a wrapped name, not a count
    assert not disputed(Cell(3, 2, "18", 0.9, (0, 0, 1, 1), agreed=True), True, [crop])
    assert disputed(Cell(3, 2, "18", 0.6, (0, 0, 1, 1), agreed=True), True, [crop])  # alike, scored low
    assert not disputed(Cell(3, 2, "18", 0.9, (0, 0, 1, 1), agreed=None), True, [crop])  # 序号: one engine


def test_the_cleaned_line_is_read_by_the_real_engines():
    """Faint gray digits on gray paper: cleaned, both real engines read them."""
    image = cleaned(_digits("207", shade=150))
    assert image.dtype == np.uint8 and image.shape[0] == 64 + 2 * 12 and image.min() == 0 and image.max() == 255
    from ocr.engines import LineImage

    for engine in (TesseractEngine(), RapidEngine()):
        assert engine.read_lines([LineImage(image, digits=True)])[0].text.strip() == "207"
