"""The two OCR engines behind one interface: batching, typed failures, no downloads."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import pytesseract

from ocr.engines import LineImage, RapidEngine, TesseractEngine
from ocr.errors import EngineTimeout, EngineUnavailable
from testkit.ocr_samples import text_line


@pytest.fixture
def tesseract_calls(monkeypatch):
    """Count Tesseract processes by wrapping the real runner (it still runs)."""
    calls = []
    real = pytesseract.pytesseract.run_tesseract

    def counting(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(pytesseract.pytesseract, "run_tesseract", counting)
    return calls


BACKENDS = pytest.mark.parametrize("in_process", [True, False], ids=["tesserocr", "command"])
NUMBERS = ["7", "128", "45", "306", "1415", "9", "60", "233"]
NAMES = ["物流管理", "老年照护", "智能财税"]


@BACKENDS
def test_tesseract_reads_many_lines_in_one_montage_per_kind(tesseract_calls, in_process):
    lines = [LineImage(text_line(n), digits=True) for n in NUMBERS] + [LineImage(text_line(n)) for n in NAMES]
    read = TesseractEngine(in_process=in_process).read_lines(lines)
    assert [r.text for r in read[: len(NUMBERS)]] == NUMBERS
    assert [r.text for r in read[len(NUMBERS):]] == NAMES
    assert all(r.confidence > 0.8 for r in read)
    # One montage of digits, one of names: not one per cell; in-process, no process at all.
    assert len(tesseract_calls) == (0 if in_process else 2)


def test_in_process_is_the_default_and_reads_like_the_command():
    lines = [LineImage(text_line(n), digits=True) for n in NUMBERS] + [LineImage(text_line(n)) for n in NAMES]
    engine = TesseractEngine()
    assert engine.in_process
    in_process = engine.read_lines(lines)
    command = TesseractEngine(in_process=False).read_lines(lines)
    assert [r.text for r in in_process] == [r.text for r in command]
    assert all(abs(a.confidence - b.confidence) < 0.1 for a, b in zip(in_process, command))


def test_in_process_engines_on_two_threads_do_not_mix_their_pages():
    from concurrent.futures import ThreadPoolExecutor

    batches = [[LineImage(text_line(n), digits=True) for n in NUMBERS[k:] + NUMBERS[:k]] for k in range(6)]
    engine = TesseractEngine()
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(engine.read_lines, batches))
    for k, read in enumerate(results):
        assert [r.text for r in read] == NUMBERS[k:] + NUMBERS[:k]


@BACKENDS
def test_empty_line_image_reads_as_nothing_with_no_confidence(in_process):
    blank = text_line(" ")
    read = TesseractEngine(in_process=in_process).read_lines(
        [LineImage(blank, digits=True), LineImage(text_line("42"), digits=True)]
    )
    assert read[0].text == "" and read[0].confidence == 0.0
    assert read[1].text == "42"


@BACKENDS
def test_tesseract_timeout_is_a_typed_error(in_process):
    engine = TesseractEngine(timeout=0.001, in_process=in_process)
    with pytest.raises(EngineTimeout, match="timed out"):
        engine.read_lines([LineImage(text_line("物流管理"))] * 20)


def test_missing_tesseract_binary_is_a_typed_error(monkeypatch):
    monkeypatch.setattr(pytesseract.pytesseract, "tesseract_cmd", "/nonexistent/tesseract")
    with pytest.raises(EngineUnavailable, match="not installed"):
        TesseractEngine(in_process=False).read_lines([LineImage(text_line("12"), digits=True)])


@BACKENDS
def test_missing_language_data_is_a_typed_error(in_process):
    with pytest.raises(EngineUnavailable, match="language data"):
        TesseractEngine(lang="zz_missing", in_process=in_process).read_lines([LineImage(text_line("物流"))])


def test_language_data_is_found_through_tessdata_prefix(monkeypatch, tmp_path):
    from ocr.engines import tessdata_dir

    monkeypatch.setenv("TESSDATA_PREFIX", str(tmp_path))
    (tmp_path / "chi_sim.traineddata").write_bytes(b"")
    assert tessdata_dir("chi_sim") == str(tmp_path)
    monkeypatch.setenv("TESSDATA_PREFIX", str(tmp_path / "elsewhere"))
    assert tessdata_dir("chi_sim") != str(tmp_path)  # the packaged data, not the empty file


def test_rapidocr_reads_lines_and_agrees_with_tesseract_on_digits():
    numbers = ["7", "128", "306", "1415"]
    lines = [LineImage(text_line(n), digits=True) for n in numbers] + [LineImage(text_line("建筑信息模型（BIM）"))]
    read = RapidEngine().read_lines(lines)
    assert [r.text for r in read[:4]] == numbers
    assert read[4].text.replace("(", "（").replace(")", "）") == "建筑信息模型（BIM）"
    assert all(r.confidence > 0.9 for r in read)


def test_rapidocr_upside_down_classifier():
    line = text_line("工业机器人操作与运维")
    engine = RapidEngine()
    assert engine.upside_down([LineImage(line)]) == 0.0
    assert engine.upside_down([LineImage(line[::-1, ::-1].copy())]) == 1.0


def test_rapidocr_never_touches_the_network():
    """Load the engine in a fresh process whose sockets refuse to connect."""
    code = (
        "import socket\n"
        "def refuse(*a, **k): raise SystemExit('network used')\n"
        "socket.socket.connect = refuse\n"
        "socket.create_connection = refuse\n"
        "from testkit.ocr_samples import text_line\n"
        "from ocr.engines import RapidEngine, LineImage\n"
        "print(RapidEngine().read_lines([LineImage(text_line('2025'), digits=True)])[0].text)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=".")
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "2025"


def test_a_very_long_batch_is_split_below_tesseracts_height_limit(tesseract_calls):
    from ocr.engines import MONTAGE_MAX_LINES

    assert MONTAGE_MAX_LINES * (48 + 36) < 32767  # the real limit, checked on the real constant
    numbers = [str(n) for n in range(10, 21)]
    engine = TesseractEngine(max_lines=4, in_process=False)
    read = engine.read_lines([LineImage(text_line(n), digits=True) for n in numbers])
    assert len(tesseract_calls) == 3  # 4 + 4 + 3 lines
    assert [r.text for r in read] == numbers


def test_rapid_reads_narrow_number_crops_at_their_own_width():
    """Numbers are padded to DIGITS_MIN_WIDTH, not to the text width: same digits, less work."""
    from ocr.engines import DIGITS_MIN_WIDTH, LINE_HEIGHT, TEXT_MIN_WIDTH

    assert DIGITS_MIN_WIDTH < TEXT_MIN_WIDTH
    numbers = ["7", "38", "129", "406", "5"]
    crops = [text_line(n) for n in numbers]
    assert sum(c.shape[1] * LINE_HEIGHT / c.shape[0] < TEXT_MIN_WIDTH for c in crops) >= 3  # padded less than before
    mixed = [LineImage(c, digits=True) for c in crops] + [LineImage(text_line("中级"))]
    read = RapidEngine().read_lines(mixed)
    assert [t.text for t in read] == numbers + ["中级"]
    assert all(t.confidence > 0.8 for t in read)


@BACKENDS
def test_numbers_on_a_photos_gray_paper_are_read(in_process):
    """A photo's paper is gray: its crops, stacked on a white montage, once thresholded to
    black boxes and read as nothing (a whole number column sent to review)."""
    gray_paper = [LineImage((text_line(n).astype(np.float32) * 0.62 + 20).astype(np.uint8), digits=True) for n in NUMBERS]
    read = TesseractEngine(in_process=in_process).read_lines(gray_paper)
    assert [r.text for r in read] == NUMBERS
