"""An attachment's bytes → pages: a text-layer scan, or an image for OCR.

A PDF page whose text layer decodes to real text is read from it (pdfplumber tables
and words, confidence 1.0, no OCR). Chinese official PDFs often carry ``(cid:N)``
glyphs or mojibake from broken font maps: such a page is rasterised and OCR'd like
a scan. Images go through Pillow with their EXIF orientation applied. Every limit
(bytes, pages, pixels) is checked *before* the expensive work, so a hostile file
costs little.
"""

from __future__ import annotations

import io
import re
import unicodedata
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

from PIL import Image, ImageOps, UnidentifiedImageError

from ocr.model import BBox, Cell, Grid, PageScan, Seal, TextLine
from parsers.errors import LimitExceeded, UnreadableAttachment
from templates import say

POINTS_PER_INCH = 72
SEAL_DPI = 100  # enough to find a 4 cm round stamp on a text-layer page, cheap to render
IMAGE_FORMATS = {"PNG", "JPEG", "TIFF", "BMP", "WEBP", "GIF", "MPO"}
MIN_TEXT_CHARS = 12  # fewer characters than this: the page is an image with a stray label
MIN_PLAUSIBLE = 0.9  # share of characters that must be ordinary text


@dataclass(frozen=True)
class ReaderLimits:
    """What one attachment may cost. A file over a limit is refused with a clear message."""

    max_bytes: int = 50 * 1024 * 1024
    max_pages: int = 30  # a form sent with its annexes is a few pages; thousands is an attack
    max_pixels: int = 80_000_000  # per page image (600 dpi A4 is 35 MP)
    raster_dpi: int = 300
    max_seconds: float = 300.0  # whole attachment, checked between pages


@dataclass(frozen=True)
class Page:
    """One page: ``scan`` when the text layer was read, else ``render()`` gives the image to OCR."""

    index: int
    source: str  # "text" | "ocr"
    render: Callable[[], Image.Image]  # the page as an image (for OCR, or to look for seals)
    scan: PageScan | None = None
    note: str = ""  # why a PDF page went to OCR


# ---------------------------------------------------------------- entry point


def iter_pages(data: bytes, filename: str, limits: ReaderLimits = ReaderLimits()) -> Iterator[Page]:
    """The pages of ``data`` in order. Raises ``UnreadableAttachment`` / ``LimitExceeded``."""
    if not data:
        raise UnreadableAttachment(say("attachments.reader.empty", name=filename))
    if len(data) > limits.max_bytes:
        raise LimitExceeded(say("attachments.reader.too_large", name=filename, size=len(data) / 1048576,
                                limit=limits.max_bytes // 1048576))
    if data[:1024].lstrip().startswith(b"%PDF") or b"%PDF-" in data[:1024]:
        yield from _pdf_pages(data, filename, limits)
    else:
        yield from _image_pages(data, filename, limits)


# ---------------------------------------------------------------- images


def _image_pages(data: bytes, filename: str, limits: ReaderLimits) -> Iterator[Page]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise UnreadableAttachment(say("attachments.reader.unknown_format", name=filename)) from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _too_many_pixels(filename, None, limits) from exc
    if image.format not in IMAGE_FORMATS:
        raise UnreadableAttachment(say("attachments.reader.image_format", name=filename, format=image.format))
    frames = getattr(image, "n_frames", 1)
    if frames > limits.max_pages:
        raise _too_many_pages(filename, frames, limits)
    for index in range(frames):
        image.seek(index)
        w, h = image.size
        if w * h > limits.max_pixels:
            raise _too_many_pixels(filename, (w, h), limits)
        try:
            frame = _normalised(image)
        except (OSError, ValueError, SyntaxError) as exc:
            raise UnreadableAttachment(say("attachments.reader.image_broken", name=filename, page=index + 1)) from exc
        yield Page(index=index, source="ocr", render=lambda frame=frame: frame)


def _normalised(image: Image.Image) -> Image.Image:
    """Upright (EXIF orientation), in L or RGB, transparency flattened on white."""
    image.load()
    upright = ImageOps.exif_transpose(image) if image.getexif() else image.copy()
    if upright.mode in ("L", "RGB"):
        return upright
    if upright.mode in ("RGBA", "LA", "P", "PA"):
        rgba = upright.convert("RGBA")
        flat = Image.new("RGB", rgba.size, "white")
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    if upright.mode.startswith("I;16") or upright.mode in ("I", "F"):
        return upright.point(lambda v: v / 256).convert("L")
    return upright.convert("L" if upright.mode == "1" else "RGB")


# ---------------------------------------------------------------- PDF


def _pdf_pages(data: bytes, filename: str, limits: ReaderLimits) -> Iterator[Page]:
    import pdfplumber
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise UnreadableAttachment(say("attachments.reader.pdf_encrypted", name=filename)) from exc
        raise UnreadableAttachment(say("attachments.reader.pdf_broken", name=filename)) from exc
    try:
        count = len(document)
        if count == 0:
            raise UnreadableAttachment(say("attachments.reader.pdf_empty", name=filename))
        if count > limits.max_pages:
            raise _too_many_pages(filename, count, limits)
        try:
            plumber = pdfplumber.open(io.BytesIO(data))
        except Exception:  # noqa: BLE001 - pdfminer raises many types; pdfium opened it, so OCR it
            plumber = None
        try:
            for index in range(count):
                yield _pdf_page(data, document, plumber, index, filename, limits)
        finally:
            if plumber is not None:
                plumber.close()
    finally:
        document.close()


def _pdf_page(data: bytes, document, plumber, index: int, filename: str, limits: ReaderLimits) -> Page:
    width, height = document[index].get_size()  # points

    def render(dpi: int = limits.raster_dpi) -> Image.Image:
        # Opens its own handle: a Page may be rendered after the iteration has ended.
        import pypdfium2 as pdfium

        scale = dpi / POINTS_PER_INCH
        pixels = width * height * scale * scale
        if pixels > limits.max_pixels:
            # A huge page size: render smaller rather than blow the memory budget.
            scale *= (limits.max_pixels / pixels) ** 0.5
        if width * scale < 50 or height * scale < 50:
            raise UnreadableAttachment(say("attachments.reader.page_size", name=filename, page=index + 1))
        own = pdfium.PdfDocument(data)
        try:
            image = own[index].render(scale=scale).to_pil()
        except pdfium.PdfiumError as exc:
            raise UnreadableAttachment(say("attachments.reader.page_broken", name=filename, page=index + 1)) from exc
        finally:
            own.close()
        return image.convert("RGB") if image.mode not in ("L", "RGB") else image

    note = ""
    if plumber is not None:
        try:
            plumber_page = plumber.pages[index]
            text = "".join(c["text"] for c in plumber_page.chars)
            verdict = text_layer_verdict(text)
            if verdict == "usable":
                scan = text_scan(plumber_page)
                seals = _seals_on(render(SEAL_DPI), plumber_page.width / (width * SEAL_DPI / POINTS_PER_INCH))
                return Page(index=index, source="text", render=render, scan=_with_seals(scan, seals))
            note = say("attachments.reader.note.garbled") if verdict == "garbled" else ""
        except UnreadableAttachment:
            raise
        except Exception:  # noqa: BLE001 - a broken text layer is read by OCR instead
            note = say("attachments.reader.note.broken")
    return Page(index=index, source="ocr", render=render, note=note)


_CID = re.compile(r"\(cid:\d+\)")


def text_layer_verdict(text: str) -> str:
    """``usable`` when the text decodes to real text, ``garbled`` for cid glyphs or mojibake,
    ``empty`` when there is (almost) no text at all (a scanned page)."""
    cids = len(_CID.findall(text))
    stripped = _CID.sub("", text)
    chars = [c for c in stripped if not c.isspace()]
    if cids >= 5 and cids >= len(chars) / 4:
        return "garbled"
    if len(chars) < MIN_TEXT_CHARS:
        return "garbled" if cids else "empty"
    plausible = sum(_plausible(c) for c in chars)
    if plausible / len(chars) < MIN_PLAUSIBLE:
        return "garbled"
    # A Chinese form without a single common Chinese character is a broken font map.
    if sum(_is_cjk(c) for c in chars) < 4:
        return "garbled"
    return "usable"


def _is_cjk(c: str) -> bool:
    return "\u4e00" <= c <= "\u9fff"


def _plausible(c: str) -> bool:
    if _is_cjk(c) or c.isascii():
        return c.isprintable()
    category = unicodedata.category(c)
    if category in ("Co", "Cn", "Cs", "Cc"):  # private use, unassigned, surrogates, control
        return False
    if "\u3000" <= c <= "\u303f" or "\uff00" <= c <= "\uffef":  # CJK punctuation, full-width forms
        return True
    return category.startswith("P") or category in ("Nd", "Sm", "So")


# ---------------------------------------------------------------- text layer → PageScan


def text_scan(page) -> PageScan:
    """A pdfplumber page with a usable text layer → ``PageScan`` (confidence 1.0 everywhere)."""
    tables = page.find_tables()
    grid = None
    if tables:
        table = max(tables, key=lambda t: len(t.cells))
        grid = _grid(table)
    lines = []
    for line in page.extract_text_lines(return_chars=False):
        box = (line["x0"], line["top"], line["x1"], line["bottom"])
        if grid is not None and _inside(box, grid.bbox):
            continue
        lines.append(TextLine(text=line["text"], confidence=1.0, bbox=box))
    return PageScan(width=float(page.width), height=float(page.height), grid=grid, lines=tuple(lines))


def _grid(table) -> Grid:
    boxes = [box for row in table.rows for box in row.cells if box is not None]
    texts = [t for row, extracted in zip(table.rows, table.extract()) for box, t in zip(row.cells, extracted) if box]
    xs = _edges([b[0] for b in boxes] + [b[2] for b in boxes])
    ys = _edges([b[1] for b in boxes] + [b[3] for b in boxes])
    cells = []
    for box, text in zip(boxes, texts, strict=True):
        c0, c1 = _nearest(xs, box[0]), _nearest(xs, box[2])
        r0, r1 = _nearest(ys, box[1]), _nearest(ys, box[3])
        cells.append(
            Cell(
                row=r0,
                col=c0,
                text=(text or "").strip(),
                confidence=1.0,
                bbox=tuple(float(v) for v in box),
                row_span=max(1, r1 - r0),
                col_span=max(1, c1 - c0),
            )
        )
    cells.sort(key=lambda c: (c.row, c.col))
    return Grid(n_rows=len(ys) - 1, n_cols=len(xs) - 1, cells=tuple(cells), bbox=tuple(float(v) for v in table.bbox))


def _edges(values: list[float], tolerance: float = 2.0) -> list[float]:
    edges: list[float] = []
    for v in sorted(values):
        if not edges or v - edges[-1] > tolerance:
            edges.append(v)
    return edges


def _nearest(edges: list[float], value: float) -> int:
    return min(range(len(edges)), key=lambda i: abs(edges[i] - value))


def _inside(box: BBox, outer: BBox) -> bool:
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return outer[0] <= cx <= outer[2] and outer[1] <= cy <= outer[3]


def _seals_on(image: Image.Image, to_points: float) -> tuple[Seal, ...]:
    """Seals found on the rendered page, in PDF points like the rest of the text scan."""
    from ocr.seal import find_seals

    return tuple(
        Seal(bbox=tuple(v * to_points for v in s.bbox), colour=s.colour, score=s.score) for s in find_seals(image)
    )


def _with_seals(scan: PageScan, seals: tuple[Seal, ...]) -> PageScan:
    return replace(scan, seals=seals)


# ---------------------------------------------------------------- messages


def _too_many_pages(filename: str, count: int, limits: ReaderLimits) -> LimitExceeded:
    return LimitExceeded(say("attachments.reader.too_many_pages", name=filename, count=count, limit=limits.max_pages))


def _too_many_pixels(filename: str, size: tuple[int, int] | None, limits: ReaderLimits) -> LimitExceeded:
    shown = say("attachments.reader.pixels", width=size[0], height=size[1]) if size else ""
    return LimitExceeded(say("attachments.reader.too_many_pixels", name=filename, pixels=shown,
                             limit=limits.max_pixels // 1_000_000))
