"""Official seals (校章): find them, and take them off the page before OCR.

In colour a seal is red ink: found by hue, removed by colour separation (the red
channel shows red ink as paper and black ink as ink). In a gray or black-and-white
scan it is a round mark: found by shape (a circle with an inked rim), and removed
where its ink is lighter than the printed text.

Whether a *missing* seal would be evident is asked of the page's colours
(``absence_visible``): only a colour page without any red ink shows it.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from ocr.model import Seal

# A Chinese school seal is 38–45 mm across; an A4 page is 210 mm wide (seal ≈ 0.2 of
# it). Allow a band so a photographed page or a small private seal still counts.
MIN_DIAMETER = 0.08  # × the page's shorter side
MAX_DIAMETER = 0.26
# Rim score: the share of the circle's rim that is inked, less GAP_WEIGHT × the share
# inked just inside or just outside it. A continuous rim is the evidence: on 32 rendered
# gray/bw pages every real seal's rim was inked at 99–100 % of the angles, while the
# circles Hough imagines in text and tables (every candidate on the unstamped pages)
# reached 77 % at most. Ink beside the rim counts against a circle only half: a seal
# stamped over the unit line is crossed by that text, which inks 10–17 % of the angles
# just inside and outside it (full weight scored such seals 0.83–0.85, under the forms
# layer's 0.9 bar for a gray seal); circles in dense text are penalised all the same.
# Measured with this weight: real seals 0.80–1.0, imagined circles 0.66 at most.
GAP_WEIGHT = 0.5
MIN_RIM_SCORE = 0.7
MAX_CANDIDATES = 25  # Hough circles checked, strongest first
RED_INK_NONE = 0.0002  # below this share of reddish pixels a page carries no red ink
SEAL_MARK_MIN = 0.08  # a coloured mark at least this share of the page's short side each way may be a seal
MARK_LONG_SIDE = 400  # px: the copy coloured marks are looked for on
# Channel spread and lightness of coloured ink: muted purples, blue-blacks and a faint seal
# pressed lightly (pink, spread ~15) included. A mark missed is a school wrongly rejected
# for "no stamp"; a mark too many only a look by staff.
MARK_MIN_SPREAD = 15
MARK_MAX_LIGHT = 235
# A seal for sure (``coloured_seal``): ink, not a tint, of a seal's size.
SEAL_MIN_SPREAD = 30
SEAL_MAX_LIGHT = 200
SEAL_MIN_SIDE, SEAL_MAX_SIDE = 0.12, 0.35


def find_seals(image: Image.Image | np.ndarray) -> list[Seal]:
    """Seals on a page image (PIL or RGB/gray array), largest first."""
    arr = _as_array(image)
    seals = []
    if arr.ndim == 3 and _has_colour(arr):
        seals = _red_seals(arr)
    if not seals:
        gray = arr if arr.ndim == 2 else cv2.cvtColor(arr, cv2.COLOR_RGB2GRAY)
        seals = _round_marks(gray)
    seals.sort(key=lambda s: -(s.bbox[2] - s.bbox[0]) * (s.bbox[3] - s.bbox[1]))
    return seals


def remove_seals(image: np.ndarray, seals: list[Seal]) -> tuple[np.ndarray, list[str]]:
    """A grayscale page with the seals' ink taken away where it can be told from text.

    Returns the page and notes on what could not be removed.
    """
    notes: list[str] = []
    if image.ndim == 3:
        gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        red = [s for s in seals if s.colour == "red"]
        if red:
            # Colour separation: in the red channel red ink is nearly as light as paper,
            # black ink stays black. The whole page, so no seam appears around the seal.
            gray = np.ascontiguousarray(image[:, :, 0])
            for s in red:
                x0, y0, x1, y1 = _pad(s.bbox, 0.08, gray.shape)
                region = gray[y0:y1, x0:x1]
                # What is still faintly visible of the seal becomes the paper around it.
                paper = float(np.percentile(region, 95))
                region[region > paper * 0.55] = int(paper)
        seals = [s for s in seals if s.colour != "red"]
    else:
        gray = image.copy()
    for s in seals:
        x0, y0, x1, y1 = _pad(s.bbox, 0.05, gray.shape)
        region = gray[y0:y1, x0:x1]
        cutoff = _seal_cutoff(region)
        if cutoff is None:
            notes.append("seal ink as dark as the text: left in place")
            continue
        mask = np.zeros(region.shape, np.uint8)
        cv2.ellipse(mask, ((region.shape[1] / 2, region.shape[0] / 2), (region.shape[1], region.shape[0]), 0), 255, -1)
        region[(mask > 0) & (region > cutoff)] = 255
    return gray, notes


def absence_visible(image: Image.Image) -> bool:
    """Would a missing seal be evident? Only on a colour page with no red ink anywhere and
    no seal-sized mark in another colour: on a gray page a seal is one more dark shape, red
    ink the seal finder did not claim may be a seal it missed, and seals also come in
    purple or blue-black, which the finder does not look for."""
    if image.mode not in ("RGB", "RGBA", "P"):
        return False
    small = _thumbnail(image)
    return has_colour(image, small) and red_ink(image, small) < RED_INK_NONE and not coloured_mark(image)


def coloured_mark(image: Image.Image) -> bool:
    """A seal-sized, roughly square or round blob of coloured (non-gray) ink on the page: a
    seal may be there, so "no stamp" is unsure.

    Measured on a copy that keeps the page's proportions (a seal on a landscape page stays
    square). A pen's signature is a long thin stroke and hand-filled digits are small:
    neither is one.
    """
    return _coloured_blob(image, MARK_MIN_SPREAD, MARK_MAX_LIGHT, SEAL_MARK_MIN, None, (0.5, 2.0)) is not None


def coloured_seal(image: Image.Image) -> tuple[float, float, float, float] | None:
    """A seal in any ink (purple, blue-black, vermilion …): a blob of dark coloured ink the size
    of a seal (a quarter to a third of the short side, 25–70 mm on A4), round or square,
    filled like a seal's rim and characters. Printed forms hold nothing else like it; the
    desk around a photographed sheet is larger, a signature thinner, digits smaller. Its box
    in the image's pixels, or None."""
    return _coloured_blob(image, SEAL_MIN_SPREAD, SEAL_MAX_LIGHT, SEAL_MIN_SIDE, SEAL_MAX_SIDE, (0.6, 1.6))


def _coloured_blob(image: Image.Image, spread_min: int, light_max: int, smallest: float, largest: float | None,
                   aspect: tuple[float, float]) -> tuple[float, float, float, float] | None:
    copy = image.convert("RGB")
    copy.thumbnail((MARK_LONG_SIDE, MARK_LONG_SIDE))
    small = np.asarray(copy, dtype=np.int16)
    spread = small.max(axis=2) - small.min(axis=2)
    ink = ((spread >= spread_min) & (small.min(axis=2) < light_max)).astype(np.uint8)
    if not ink.any():
        return None
    joined = cv2.dilate(ink, np.ones((7, 7), np.uint8))
    count, _labels, stats, _centroids = cv2.connectedComponentsWithStats(joined)
    short = min(small.shape[:2])
    low, high = smallest * short, largest * short if largest else float("inf")
    f = image.width / small.shape[1]
    for x, y, w, h, area in stats[1:count]:
        if low <= w <= high and low <= h <= high and aspect[0] <= w / h <= aspect[1] and area >= 0.25 * w * h:
            return (float(x * f), float(y * f), float((x + w) * f), float((y + h) * f))
    return None


def has_colour(image: Image.Image, small: np.ndarray | None = None) -> bool:
    """Whether a page image carries colour at all (a gray scan saved as RGB does not)."""
    if image.mode not in ("RGB", "RGBA", "P"):
        return False
    small = _thumbnail(image) if small is None else small
    spread = small.max(axis=2) - small.min(axis=2)
    return float((spread > 24).mean()) > 0.0005


def red_ink(image: Image.Image, small: np.ndarray | None = None) -> float:
    """Share of reddish pixels (loose on purpose: shadows, desks and faded seals count)."""
    small = _thumbnail(image) if small is None else small
    r, g, b = small[..., 0], small[..., 1], small[..., 2]
    reddish = (r - np.maximum(g, b) >= 30) & (r >= 60)
    return float(reddish.mean())


def _thumbnail(image: Image.Image) -> np.ndarray:
    """The page as a 256×362 RGB array (int16), reduced in one cheap step first."""
    small = image.convert("RGB") if image.mode not in ("RGB", "RGBA", "L") else image
    factor = min(image.width // 512, image.height // 724)
    if factor >= 2:
        small = small.reduce(factor)  # box filter on the whole page, far cheaper than resize
    return np.asarray(small.convert("RGB").resize((256, 362)), dtype=np.int16)


def _as_array(image: Image.Image | np.ndarray) -> np.ndarray:
    if isinstance(image, np.ndarray):
        return image
    if image.mode in ("L", "1", "I", "I;16"):
        return np.asarray(image.convert("L"))
    return np.asarray(image.convert("RGB"))


def _has_colour(rgb: np.ndarray) -> bool:
    small = rgb[::8, ::8].astype(np.int16)
    spread = small.max(axis=2) - small.min(axis=2)
    return bool((spread > 40).mean() > 0.0005)


def _red_mask(rgb: np.ndarray) -> np.ndarray:
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)
    h, s, v = hsv[:, :, 0], hsv[:, :, 1], hsv[:, :, 2]
    red = ((h <= 12) | (h >= 160)) & (s >= 60) & (v >= 60)
    return red.astype(np.uint8) * 255


def _red_seals(rgb: np.ndarray) -> list[Seal]:
    scale = 800 / max(rgb.shape[:2])
    small = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else rgb
    scale = min(scale, 1.0)
    mask = _red_mask(small)
    short = min(small.shape[:2])
    k = max(3, int(short * 0.02))
    blob = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    n, _, stats, _ = cv2.connectedComponentsWithStats(blob)
    seals = []
    for i in range(1, n):
        x, y, w, h = (int(v) for v in stats[i, :4])
        d = max(w, h)
        if not (MIN_DIAMETER * short <= d <= MAX_DIAMETER * short) or not (0.6 <= w / h <= 1.6):
            continue
        ring = _ring_score(mask, (x + w / 2, y + h / 2), (w + h) / 4)
        score = min(1.0, 0.6 + ring)  # red ink of seal size is already strong evidence
        bbox = (x / scale, y / scale, (x + w) / scale, (y + h) / scale)
        seals.append(Seal(bbox=bbox, colour="red", score=round(score, 3)))
    return seals


def _round_marks(gray: np.ndarray) -> list[Seal]:
    # Hough on a small copy (fast); the rim is then checked on a finer one (reliable).
    scale = 600 / max(gray.shape)
    small = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    fine_scale = min(1.0, 1400 / max(gray.shape))
    fine = cv2.resize(gray, None, fx=fine_scale, fy=fine_scale, interpolation=cv2.INTER_AREA)
    ink = cv2.adaptiveThreshold(fine, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, 21, 10)
    short = min(small.shape)
    circles = cv2.HoughCircles(
        cv2.GaussianBlur(small, (5, 5), 1.5), cv2.HOUGH_GRADIENT, dp=2, minDist=short * MIN_DIAMETER,
        param1=120, param2=40,
        minRadius=int(short * MIN_DIAMETER / 2), maxRadius=int(short * MAX_DIAMETER / 2),
    )
    if circles is None:
        return []
    seals = []
    k = fine_scale / scale
    for cx, cy, r in circles.reshape(-1, 3)[:MAX_CANDIDATES]:
        # Hough's radius is coarse (dp=2): settle it where the rim scores best.
        radii = float(r) * np.linspace(0.88, 1.14, 14)
        rings = _ring_scores(ink, (cx * k, cy * k), radii * k)
        best = max(range(len(radii)), key=lambda i: (rings[i], radii[i]))  # as max() over (score, r)
        ring, r = float(rings[best]), float(radii[best])
        if ring < MIN_RIM_SCORE:
            continue
        bbox = ((cx - r) / scale, (cy - r) / scale, (cx + r) / scale, (cy + r) / scale)
        if any(_overlap(bbox, s.bbox) > 0.5 for s in seals):
            continue
        seals.append(Seal(bbox=tuple(float(v) for v in bbox), colour="gray", score=round(float(ring), 3)))
    return seals


def _ring_score(mask: np.ndarray, centre: tuple[float, float], radius: float) -> float:
    """How much more ink lies on the circle's rim than just inside and outside it.

    A seal's rim is a thin continuous ring with a clear gap on both sides; a circle
    that Hough imagines in a dense table finds ink at every radius alike.
    """
    return float(_ring_scores(mask, centre, np.array([radius], float))[0])


_ANGLES = 2 * np.pi * np.arange(120) / 120
_COS, _SIN = np.cos(_ANGLES), np.sin(_ANGLES)
_RIM = np.linspace(0.93, 1.04, 4)


def _ring_scores(mask: np.ndarray, centre: tuple[float, float], radii: np.ndarray) -> np.ndarray:
    """``_ring_score`` for several radii at once (one vectorised pass, same numbers)."""

    def hits(factors: np.ndarray) -> np.ndarray:  # (radii, angles): ink at any of the factors
        r = radii[:, None, None] * factors[None, :, None]  # (R, F, 1)
        xs = np.round(centre[0] + r * _COS).astype(int)  # (R, F, A)
        ys = np.round(centre[1] + r * _SIN).astype(int)
        ok = (xs >= 0) & (ys >= 0) & (xs < mask.shape[1]) & (ys < mask.shape[0])
        ink = np.zeros(xs.shape, bool)
        ink[ok] = mask[ys[ok], xs[ok]] > 0
        return ink.any(axis=1)

    rim = hits(_RIM).mean(axis=1)
    inside = hits(np.array([0.88])).mean(axis=1)
    outside = hits(np.array([1.1])).mean(axis=1)
    return np.maximum(0.0, rim - GAP_WEIGHT * np.maximum(inside, outside))


def _seal_cutoff(region: np.ndarray) -> int | None:
    """The gray level between text ink and (lighter) seal ink, if the two differ enough."""
    dark = region[region < 200]
    if dark.size < 50:
        return None
    hist = np.bincount(dark.ravel(), minlength=200).astype(float)
    hist = np.convolve(hist, np.ones(9) / 9, mode="same")
    text_level = int(np.percentile(dark, 5))
    seal_level = int(np.argmax(hist[text_level + 30:200])) + text_level + 30 if text_level + 30 < 200 else None
    if seal_level is None or seal_level - text_level < 45:
        return None
    return (text_level + seal_level) // 2


def _pad(bbox, frac: float, shape) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = bbox
    px, py = (x1 - x0) * frac, (y1 - y0) * frac
    return (max(0, int(x0 - px)), max(0, int(y0 - py)), min(shape[1], int(x1 + px)), min(shape[0], int(y1 + py)))


def _overlap(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return inter / smaller if smaller else 0.0
