"""The typefaces schools fill the forms in, from Debian's font packages.

Every face here is a file Debian ships (see the Makefile's APT_PACKAGES). A face that
reportlab cannot embed (Noto CJK is CFF-flavoured OpenType) is used for raster pages only.
There is no simplified-Chinese FangSong in Debian (cwTeX FangSong lacks 业, 书, 学 …), so
the official-document look is covered by Song and Kai, the two faces a 仿宋 form falls
back to when the PC lacks 仿宋_GB2312.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import ImageFont


@dataclass(frozen=True)
class Face:
    key: str
    style: str  # song | kai | hei | hand (digits only)
    path: str
    index: int = 0  # face inside a .ttc
    pdf: bool = True  # reportlab can embed it (TrueType outlines)
    cjk: bool = True  # carries every Han character the forms use

    def available(self) -> bool:
        return Path(self.path).exists()


FACES: tuple[Face, ...] = (
    Face("uming", "song", "/usr/share/fonts/truetype/arphic/uming.ttc", 0),
    Face("gbsn", "song", "/usr/share/fonts/truetype/arphic-gbsn00lp/gbsn00lp.ttf"),
    Face("noto-serif", "song", "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", 2, pdf=False),
    Face("ukai", "kai", "/usr/share/fonts/truetype/arphic/ukai.ttc", 0),
    Face("wenkai", "kai", "/usr/share/fonts/truetype/lxgw-wenkai/LXGWWenKai-Regular.ttf"),
    Face("zenhei", "hei", "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    Face("microhei", "hei", "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    Face("noto-sans", "hei", "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2, pdf=False),
    Face("dkg", "hand", "/usr/share/fonts/truetype/fifthhorseman/dkg.ttf", cjk=False),
    Face("wenkai-light", "hand", "/usr/share/fonts/truetype/lxgw-wenkai/LXGWWenKai-Light.ttf"),
)

BY_KEY = {f.key: f for f in FACES}


def faces(style: str, *, pdf: bool = False) -> list[Face]:
    """The installed faces of one style (``pdf``: only those reportlab can embed)."""
    return [f for f in FACES if f.style == style and f.available() and (f.pdf or not pdf)]


@lru_cache(maxsize=256)
def pil_font(key: str, px: int) -> ImageFont.FreeTypeFont:
    face = BY_KEY[key]
    return ImageFont.truetype(face.path, max(4, int(px)), index=face.index)


def text_width(key: str, text: str, pt: float) -> float:
    """Advance width of ``text`` in points (measured at 10× and scaled: metrics are linear)."""
    font = pil_font(key, 200)
    return font.getlength(text) * pt / 200.0


_PDF_REGISTERED: set[str] = set()


def pdf_font(key: str) -> str:
    """Register the face with reportlab once per process; returns its reportlab name."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    name = f"heldout-{key}"
    if name not in _PDF_REGISTERED:
        face = BY_KEY[key]
        if not face.pdf:
            raise ValueError(f"{key} cannot be embedded in a PDF")
        pdfmetrics.registerFont(TTFont(name, face.path, subfontIndex=face.index))
        _PDF_REGISTERED.add(name)
    return name
