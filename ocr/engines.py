"""OCR engines behind one small interface (as OCRmyPDF does with its plugins).

The pipeline hands an engine *line images*: one text line each, cut from a table cell or
from the text around the table (the pipeline finds lines by ink, so no engine needs its
own layout analysis). Two implementations:

- ``TesseractEngine``: ``chi_sim`` for names, a digit whitelist for numbers. All line
  images of a kind go into ONE montage per page. It runs in-process through tesserocr
  (libtesseract with the language data loaded once per process: a ``tesseract`` process
  start costs 0.16–0.2 s, as much as reading a page's numbers); where tesserocr is
  missing, through pytesseract and one process per montage.
- ``RapidEngine``: RapidOCR (PP-OCR detection + recognition, ONNX models shipped inside
  the ``rapidocr`` wheel, onnxruntime on the CPU). It reads cell lines through a red or
  gray seal far better than Tesseract; it never downloads a model (checked at load).

Every call has a time limit; failures become ``ocr.errors`` types.
"""

from __future__ import annotations

import importlib.util
import os
import queue
import re
import threading
import unicodedata
from abc import ABC, abstractmethod
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from ocr.errors import EngineFailed, EngineTimeout, EngineUnavailable, ImageTooLarge

# Tesseract likes a cap height of roughly 30–40 px; cell lines are scaled to this.
LINE_HEIGHT = 48
MONTAGE_GAP = 36
MAX_MONTAGE_PIXELS = 60_000_000
MONTAGE_MAX_LINES = 300  # 300 × (48 + 36) px stays under Tesseract's 32767 px limit
# RapidOCR pads each line image to at least this width (at LINE_HEIGHT). Cell lines are
# short: the default 320 px pads a two-character cell to 8× its size; 96 reads the same.
# Numbers go narrower still: on 529 number lines of the benchmark 48 read exactly as 96.
TEXT_MIN_WIDTH = 96
DIGITS_MIN_WIDTH = 48


@dataclass(frozen=True)
class LineImage:
    """One line of text cut from a cell: grayscale uint8, dark ink on white."""

    pixels: np.ndarray
    digits: bool = False  # a number column: read digits only


@dataclass(frozen=True)
class LineText:
    text: str
    confidence: float  # 0.0 … 1.0


class Engine(ABC):
    """What the pipeline needs from an OCR engine."""

    name: str

    @abstractmethod
    def read_lines(self, lines: Sequence[LineImage]) -> list[LineText]:
        """Read each line image; the result has one entry per input, in order."""


_CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")


def join_words(words: Sequence[str]) -> str:
    """Join engine words: no space next to a CJK character, one space between Latin words."""
    out = ""
    for w in words:
        if out and not (_CJK.search(out[-1]) or _CJK.search(w[0])):
            out += " "
        out += w
    return out


def compact(text: str) -> str:
    """NFKC (full-width digits and letters as ASCII), no spaces: the form readings are compared in."""
    return unicodedata.normalize("NFKC", text).replace(" ", "")


def normalise_digits(text: str) -> str:
    """Full-width digits and stray spaces, as both engines may print them."""
    return compact(text)


# ----------------------------------------------------------------------------- Tesseract


class TesseractEngine(Engine):
    name = "tesseract"

    def __init__(
        self, lang: str = "chi_sim", digits_lang: str = "eng", timeout: float = 30.0,
        max_lines: int = MONTAGE_MAX_LINES, in_process: bool | None = None,
    ):
        """``in_process``: None takes tesserocr when it is installed, else the command."""
        # Tesseract's OpenMP threads fight each other (and RapidOCR, running alongside)
        # on a small machine: one thread per process is 2–3× faster here.
        os.environ.setdefault("OMP_THREAD_LIMIT", "1")
        self.lang = lang
        self.digits_lang = digits_lang
        self.max_lines = max_lines
        self.timeout = timeout
        self.in_process = _tesserocr_available() if in_process is None else in_process

    def read_lines(self, lines: Sequence[LineImage]) -> list[LineText]:
        results: list[LineText | None] = [None] * len(lines)
        for digits in (False, True):
            idx = [i for i, ln in enumerate(lines) if ln.digits == digits]
            # Tesseract refuses images over 32767 px high: a very long table takes two runs.
            for start in range(0, len(idx), self.max_lines):
                chunk = idx[start:start + self.max_lines]
                texts = self._read_montage([lines[i].pixels for i in chunk], digits)
                for i, t in zip(chunk, texts):
                    results[i] = t
        return [r if r is not None else LineText("", 0.0) for r in results]

    def orientation(self, image: np.ndarray) -> tuple[int, float] | None:
        """Tesseract OSD: (degrees to rotate clockwise to read, confidence), None when unsure."""
        import pytesseract

        try:
            osd = pytesseract.image_to_osd(image, config="--psm 0", timeout=self.timeout)
        except pytesseract.TesseractError:
            return None  # "Too few characters": OSD has nothing to say
        except RuntimeError as exc:
            raise EngineTimeout(f"tesseract OSD timed out after {self.timeout:.0f} s") from exc
        rotate = re.search(r"Rotate:\s*(\d+)", osd)
        conf = re.search(r"Orientation confidence:\s*([\d.]+)", osd)
        if not rotate:
            return None
        return int(rotate.group(1)), float(conf.group(1)) if conf else 0.0

    # -- internals

    def _read_montage(self, crops: list[np.ndarray], digits: bool) -> list[LineText]:
        """Stack the line images into one image, OCR it once, map words back by position."""
        scaled = [_whiten(_to_height(c, LINE_HEIGHT)) for c in crops]
        width = max(c.shape[1] for c in scaled) + 2 * MONTAGE_GAP
        height = sum(c.shape[0] + MONTAGE_GAP for c in scaled) + MONTAGE_GAP
        if width * height > MAX_MONTAGE_PIXELS:
            raise ImageTooLarge(f"montage of {len(crops)} lines is {width}x{height} px")
        montage = np.full((height, width), 255, np.uint8)
        bands = []
        y = MONTAGE_GAP
        for c in scaled:
            montage[y:y + c.shape[0], MONTAGE_GAP:MONTAGE_GAP + c.shape[1]] = c
            bands.append((y - MONTAGE_GAP // 2, y + c.shape[0] + MONTAGE_GAP // 2))
            y += c.shape[0] + MONTAGE_GAP
        lang = self.digits_lang if digits else self.lang
        if self.in_process:
            data = _words_in_process(montage, lang, digits, self.timeout)
        else:
            data = self._data(montage, lang, digits)
        words: list[list[tuple[int, str, float]]] = [[] for _ in bands]
        for i, word in enumerate(data["text"]):
            conf = float(data["conf"][i])
            if not word.strip() or conf < 0:
                continue
            cy = data["top"][i] + data["height"][i] / 2
            for b, (top, bottom) in enumerate(bands):
                if top <= cy < bottom:
                    words[b].append((data["left"][i], word.strip(), conf / 100))
                    break
        out = []
        for ws in words:
            if not ws:
                out.append(LineText("", 0.0))
                continue
            ws.sort()
            text = join_words([w for _, w, _ in ws])
            out.append(LineText(normalise_digits(text) if digits else text, min(c for _, _, c in ws)))
        return out

    def _data(self, image: np.ndarray, lang: str, digits: bool) -> dict:
        """One ``tesseract`` process over the montage (when tesserocr is not installed)."""
        import pytesseract

        config = "--psm 6" + (f" -c tessedit_char_whitelist={DIGITS}" if digits else "")
        try:
            return pytesseract.image_to_data(
                image, lang=lang, config=config, output_type=pytesseract.Output.DICT, timeout=self.timeout
            )
        except pytesseract.TesseractNotFoundError as exc:
            raise EngineUnavailable("tesseract is not installed (apt-get install tesseract-ocr)") from exc
        except pytesseract.TesseractError as exc:
            if "Failed loading language" in str(exc.message):
                raise EngineUnavailable(f"tesseract language data '{lang}' is missing") from exc
            raise EngineFailed(f"tesseract failed: {exc.message.strip()[:300]}") from exc
        except RuntimeError as exc:  # pytesseract signals its timeout this way
            raise EngineTimeout(f"tesseract timed out after {self.timeout:.0f} s") from exc


DIGITS = "0123456789"
# Where Debian, Fedora, Alpine and Homebrew put the language data (TESSDATA_PREFIX first).
TESSDATA_DIRS = (
    "/usr/share/tesseract-ocr/5/tessdata", "/usr/share/tesseract-ocr/4.00/tessdata",
    "/usr/share/tessdata", "/usr/local/share/tessdata", "/opt/homebrew/share/tessdata",
)
# Loaded APIs, by (language, digits only): one is taken for a read and given back, so
# threads never share one and no more are loaded than ever ran at once.
_idle_apis: dict[tuple[str, bool], queue.SimpleQueue] = {}
_idle_lock = threading.Lock()


def _tesserocr_available() -> bool:
    return importlib.util.find_spec("tesserocr") is not None


def tessdata_dir(lang: str) -> str:
    """The directory holding ``<lang>.traineddata``; EngineUnavailable if there is none."""
    dirs = [os.environ["TESSDATA_PREFIX"]] if os.environ.get("TESSDATA_PREFIX") else []
    for d in [*dirs, *TESSDATA_DIRS]:
        if (Path(d) / f"{lang}.traineddata").is_file():
            return d
    raise EngineUnavailable(
        f"tesseract language data '{lang}' is missing (apt-get install tesseract-ocr-chi-sim, or set TESSDATA_PREFIX)"
    )


def _words_in_process(image: np.ndarray, lang: str, digits: bool, timeout: float) -> dict:
    """libtesseract through tesserocr: the words of ``image`` as pytesseract's dict would hold them."""
    import tesserocr

    with _idle_lock:
        idle = _idle_apis.setdefault((lang, digits), queue.SimpleQueue())
    try:
        api = idle.get_nowait()
    except queue.Empty:
        try:
            api = tesserocr.PyTessBaseAPI(path=tessdata_dir(lang), lang=lang, psm=tesserocr.PSM.SINGLE_BLOCK)
        except RuntimeError as exc:
            raise EngineUnavailable(f"tesseract could not load '{lang}': {exc}") from exc
        if digits:
            api.SetVariable("tessedit_char_whitelist", DIGITS)
    try:
        pixels = np.ascontiguousarray(image, dtype=np.uint8)
        api.SetImageBytes(pixels.tobytes(), pixels.shape[1], pixels.shape[0], 1, pixels.shape[1])
        if not api.Recognize(timeout=max(1, int(timeout * 1000))):
            raise EngineTimeout(f"tesseract timed out after {timeout:.0f} s")
        data: dict[str, list] = {"text": [], "conf": [], "left": [], "top": [], "height": []}
        level = tesserocr.RIL.WORD
        for word in tesserocr.iterate_level(api.GetIterator(), level):
            try:
                text = word.GetUTF8Text(level)
            except RuntimeError:  # an empty word
                continue
            x0, y0, _, y1 = word.BoundingBox(level)
            for k, v in (("text", text), ("conf", word.Confidence(level)), ("left", x0), ("top", y0), ("height", y1 - y0)):
                data[k].append(v)
        return data
    finally:
        api.Clear()
        idle.put(api)


def _whiten(gray: np.ndarray) -> np.ndarray:
    """The line with its paper made white. A photo's paper is gray, and Tesseract thresholds
    the montage as one image: gray crops on the white canvas turned into black boxes."""
    paper = float(np.percentile(gray, 90))
    if paper >= 245:
        return gray
    return np.clip(gray.astype(np.float32) * (255.0 / max(paper, 1.0)), 0, 255).astype(np.uint8)


def _to_height(gray: np.ndarray, height: int) -> np.ndarray:
    h, w = gray.shape[:2]
    if h == 0 or w == 0:
        return np.full((height, height), 255, np.uint8)
    f = height / h
    interp = cv2.INTER_AREA if f < 1 else cv2.INTER_CUBIC
    return cv2.resize(gray, (max(1, round(w * f)), height), interpolation=interp)


# ----------------------------------------------------------------------------- RapidOCR

_rapid_lock = threading.Lock()
_rapid_instance = None
# Inference runs on this thread so the caller can stop waiting after its time limit.
_rapid_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rapidocr")


def _rapid():
    """One RapidOCR per process: loading the models takes ~2 s, reading a page less."""
    global _rapid_instance
    with _rapid_lock:
        if _rapid_instance is None:
            try:
                import rapidocr
                from rapidocr import RapidOCR
            except ImportError as exc:
                raise EngineUnavailable("rapidocr is not installed (pip install rapidocr onnxruntime)") from exc
            models = Path(rapidocr.__file__).parent / "models"
            # Refuse to start if the wheel lacks its models: RapidOCR would download them.
            if not any(models.glob("*det*.onnx")) or not any(models.glob("*rec*.onnx")):
                raise EngineUnavailable(f"rapidocr models missing from {models}; refusing to download")
            try:
                instance = RapidOCR(
                    params={
                        "Global.log_level": "error",
                        "Global.text_score": 0.0,
                        "Rec.rec_img_shape": [3, LINE_HEIGHT, TEXT_MIN_WIDTH],
                        "Rec.rec_batch_num": 6,
                        # One thread: Tesseract reads on the other core at the same time
                        # (see ocr.schedule.read_all); a second onnxruntime thread only
                        # contended with it.
                        "EngineConfig.onnxruntime.intra_op_num_threads": 1,
                        "EngineConfig.onnxruntime.inter_op_num_threads": 1,
                    }
                )
            except Exception as exc:  # onnxruntime missing or a broken model
                raise EngineUnavailable(f"rapidocr could not start: {exc}") from exc
            _rapid_instance = instance
        return _rapid_instance


class RapidEngine(Engine):
    name = "rapidocr"

    def __init__(self, timeout: float = 30.0):
        self.timeout = timeout

    def read_lines(self, lines: Sequence[LineImage]) -> list[LineText]:
        if not lines:
            return []
        from rapidocr.ch_ppocr_rec.typings import TextRecInput

        # The recogniser alone: cells are already cut into lines, no detection needed.
        # RapidOCR loads it lazily; ``_load_rec_model`` is how its own pipeline does it.
        recogniser = _rapid()._load_rec_model()
        out: list[LineText | None] = [None] * len(lines)
        for digits, min_width in ((True, DIGITS_MIN_WIDTH), (False, TEXT_MIN_WIDTH)):
            idx = [i for i, ln in enumerate(lines) if ln.digits == digits]
            if not idx:
                continue
            crops = [cv2.cvtColor(_to_height(lines[i].pixels, LINE_HEIGHT), cv2.COLOR_GRAY2BGR) for i in idx]

            def recognise(crops=crops, min_width=min_width):
                # Every crop of a batch is padded to the batch's widest, and to this minimum:
                # a two-digit number is ~40 px wide, padding it to 96 doubled its cost.
                recogniser.rec_image_shape = [3, LINE_HEIGHT, min_width]
                return recogniser(TextRecInput(img=crops))

            res = self._bounded(recognise)
            for i, text, score in zip(idx, res.txts, res.scores):
                text = text.strip()
                out[i] = LineText(normalise_digits(text) if digits else text, float(score) if text else 0.0)
        return [r if r is not None else LineText("", 0.0) for r in out]

    def upside_down(self, lines: Sequence[LineImage]) -> float:
        """Share of the lines the text-direction classifier is sure are turned 180°."""
        if not lines:
            return 0.0
        classifier = _rapid()._load_cls_model()
        crops = [cv2.cvtColor(_to_height(ln.pixels, LINE_HEIGHT), cv2.COLOR_GRAY2BGR) for ln in lines]
        res = self._bounded(lambda: classifier(crops))
        flipped = sum(1 for label, score in res.cls_res if "180" in label and score > 0.9)
        return flipped / len(lines)

    def _bounded(self, call):
        """Run in-process inference with a time limit (onnxruntime cannot be killed, only left)."""
        fut = _rapid_pool.submit(call)
        try:
            return fut.result(timeout=self.timeout)
        except FutureTimeout as exc:
            raise EngineTimeout(f"rapidocr timed out after {self.timeout:.0f} s") from exc
        except EngineUnavailable:
            raise
        except Exception as exc:
            raise EngineFailed(f"rapidocr failed: {exc}") from exc


def default_engines() -> tuple[Engine, ...]:
    """RapidOCR first (the better reader), Tesseract as the cross-check; drop what is missing."""
    engines: list[Engine] = []
    try:
        _rapid()
        engines.append(RapidEngine())
    except EngineUnavailable:
        pass
    engines.append(TesseractEngine())
    return tuple(engines)
