"""Page geometry: resolution, quarter turns, skew and the perspective of phone photos.

Each step is measured on the table's ruling lines, which every form has: they are long,
straight and many, so they give the page's angle more reliably (and far faster) than
reading text. Tesseract OSD and the text classifier only settle 0° versus 180°.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from ocr.grid import binarize, rule_masks

WORK_LONG_SIDE = 3508  # A4 at 300 dpi: the scale every page is read at
MEASURE_LONG_SIDE = 1600  # turn, skew and the table's frame are measured on a copy this size
MAX_SKEW = 8.0  # degrees; more than this is not a scan of a form lying on a glass


@dataclass(frozen=True)
class Upright:
    pixels: np.ndarray  # RGB or gray uint8, upright, deskewed, perspective-corrected
    rotation: int  # quarter turns applied so far, in degrees clockwise (0/90/180/270)
    skew: float  # degrees removed
    warped: bool  # perspective corrected
    scale: float  # working pixels per input pixel


def to_array(image) -> np.ndarray:
    """A PIL image as an RGB (colour) or L (gray, bilevel) uint8 array."""
    if image.mode in ("1", "L", "I", "I;16", "F", "LA"):
        return np.asarray(image.convert("L"))
    arr = np.asarray(image.convert("RGB"))
    small = arr[::16, ::16].astype(np.int16)
    if (small.max(axis=2) - small.min(axis=2)).max() < 12:  # an RGB file holding a gray scan
        return np.ascontiguousarray(arr[:, :, 1])
    return arr


def gray_of(arr: np.ndarray) -> np.ndarray:
    return arr if arr.ndim == 2 else cv2.cvtColor(arr, cv2.COLOR_RGB2GRAY)


def normalise_scale(arr: np.ndarray) -> tuple[np.ndarray, float]:
    """Bring 150–600 dpi pages to one working resolution (morphology and OCR are tuned to it)."""
    long_side = max(arr.shape[:2])
    f = WORK_LONG_SIDE / long_side
    if 0.85 <= f <= 1.2:
        return arr, 1.0
    interp = cv2.INTER_AREA if f < 1 else cv2.INTER_CUBIC
    return cv2.resize(arr, None, fx=f, fy=f, interpolation=interp), f


def rotate_quarter(arr: np.ndarray, degrees_cw: int) -> np.ndarray:
    k = (degrees_cw // 90) % 4
    return np.ascontiguousarray(np.rot90(arr, -k)) if k else arr


def sideways(gray: np.ndarray) -> bool:
    """True when the long ruling lines run up and down: the page lies on its side."""
    small, _ = _small(gray, 1000)
    horiz, vert = rule_masks(binarize(small))
    h, v = int(np.count_nonzero(horiz)), int(np.count_nonzero(vert))
    return v > 1.3 * h and v > 500


def page_mask(gray: np.ndarray) -> np.ndarray:
    """The sheet of paper (255) against a darker desk or scanner lid; all 255 for a flat scan."""
    small, f = _small(gray, 600)
    # A scan is paper to its edges; only a photo shows a darker desk around the sheet.
    band = max(3, min(small.shape) // 25)
    edge = np.concatenate([small[:band].ravel(), small[-band:].ravel(), small[:, :band].ravel(), small[:, -band:].ravel()])
    centre = small[small.shape[0] // 4: 3 * small.shape[0] // 4, small.shape[1] // 4: 3 * small.shape[1] // 4]
    if np.median(edge) > 0.75 * np.median(centre):
        return np.full(gray.shape, 255, np.uint8)
    blur = cv2.GaussianBlur(small, (7, 7), 0)
    _, bright = cv2.threshold(blur, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(bright)
    if n <= 1:
        return np.full(gray.shape, 255, np.uint8)
    best = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    if stats[best, cv2.CC_STAT_AREA] > 0.97 * small.size:
        return np.full(gray.shape, 255, np.uint8)
    hull = cv2.convexHull(cv2.findNonZero((labels == best).astype(np.uint8)))
    mask = np.zeros(small.shape, np.uint8)
    cv2.fillConvexPoly(mask, hull, 255)
    mask = cv2.erode(mask, np.ones((7, 7), np.uint8))  # drop the paper's own edge
    return cv2.resize(mask, (gray.shape[1], gray.shape[0]), interpolation=cv2.INTER_NEAREST)


def skew_angle(gray: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Length-weighted median angle (degrees, counter-clockwise positive) of the long near-horizontal lines."""
    small, f = _small(gray, 1200)
    ink = binarize(small)
    if mask is not None:
        ink = cv2.bitwise_and(ink, cv2.resize(mask, (ink.shape[1], ink.shape[0]), interpolation=cv2.INTER_NEAREST))
    # Keep only long strokes (rules), thickened first so a slanted rule survives the opening;
    # Hough then has few points to vote with, which keeps it fast.
    ink = cv2.dilate(ink, cv2.getStructuringElement(cv2.MORPH_RECT, (1, 5)))
    ink = cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (small.shape[1] // 30, 1)))
    min_len = small.shape[1] // 5
    n, labels, stats, _ = cv2.connectedComponentsWithStats(ink)
    angles, weights = [], []
    for i in range(1, n):
        w, h = stats[i, cv2.CC_STAT_WIDTH], stats[i, cv2.CC_STAT_HEIGHT]
        if w < min_len or h > w * 0.2:
            continue
        x, y = stats[i, cv2.CC_STAT_LEFT], stats[i, cv2.CC_STAT_TOP]
        ys, xs = np.nonzero(labels[y:y + h, x:x + w] == i)
        vx, vy, _, _ = cv2.fitLine(np.column_stack([xs, ys]).astype(np.float32), cv2.DIST_L2, 0, 0.01, 0.01).ravel()
        a = math.degrees(math.atan2(vy, vx))
        a = (a + 90) % 180 - 90
        if abs(a) <= MAX_SKEW:
            angles.append(-a)
            weights.append(float(w))
    if not angles:
        return 0.0
    order = np.argsort(angles)
    cum = np.cumsum(np.asarray(weights)[order])
    return float(np.asarray(angles)[order][np.searchsorted(cum, cum[-1] / 2)])


def rotate_small(arr: np.ndarray, degrees_ccw: float) -> np.ndarray:
    h, w = arr.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees_ccw, 1.0)
    # Replicate the edge: a photo's desk stays a desk (page_mask tells photos by it).
    return cv2.warpAffine(arr, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def table_quad(gray: np.ndarray, mask: np.ndarray) -> np.ndarray | None:
    """Corners (tl, tr, br, bl) of the table's outer frame, from its ruling lines.

    The frame is the outermost long rules, each fitted as a straight line, and the
    corners are where they cross. Only long rules count, so a seal stamped across a
    corner (its rim has short, nearly straight stretches) cannot pull a corner out.
    """
    small, f = _small(gray, 1600)
    mask = cv2.resize(mask, (small.shape[1], small.shape[0]), interpolation=cv2.INTER_NEAREST)
    ink = cv2.bitwise_and(binarize(small), mask)
    horiz, vert = rule_masks(ink)
    rules = cv2.dilate(cv2.bitwise_or(horiz, vert), np.ones((5, 5), np.uint8))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(rules)
    if n <= 1:
        return None
    best = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_WIDTH] * stats[1:, cv2.CC_STAT_HEIGHT]))
    x, y, w, h = (int(v) for v in stats[best, :4])
    if w < small.shape[1] * 0.3:
        return None
    region = (slice(y, y + h), slice(x, x + w))
    top, bottom = _outer_rules(horiz[region], axis=0, span=w)
    left, right = _outer_rules(vert[region], axis=1, span=h)
    if top is None or left is None:
        return None
    corners = [_cross(top, left), _cross(top, right), _cross(bottom, right), _cross(bottom, left)]
    if any(c is None for c in corners):
        return None
    return (np.float32(corners) + np.float32([x, y])) / f


def _outer_rules(mask: np.ndarray, axis: int, span: int):
    """The first and last long rule (as (point, direction)) along ``axis``; (None, None) if none."""
    n, labels, stats, centroids = cv2.connectedComponentsWithStats(mask)
    long_ones = []
    for i in range(1, n):
        length = stats[i, cv2.CC_STAT_WIDTH] if axis == 0 else stats[i, cv2.CC_STAT_HEIGHT]
        if length >= 0.6 * span:
            long_ones.append((centroids[i][1] if axis == 0 else centroids[i][0], i))
    if len(long_ones) < 2:
        return None, None
    long_ones.sort()
    out = []
    for _, i in (long_ones[0], long_ones[-1]):
        ys, xs = np.nonzero(labels == i)
        vx, vy, x0, y0 = cv2.fitLine(np.column_stack([xs, ys]).astype(np.float32), cv2.DIST_L2, 0, 0.01, 0.01).ravel()
        out.append((np.array([x0, y0]), np.array([vx, vy])))
    return out[0], out[1]


def _cross(a, b):
    (p, u), (q, v) = a, b
    m = np.array([[u[0], -v[0]], [u[1], -v[1]]])
    if abs(np.linalg.det(m)) < 1e-6:
        return None
    t, _ = np.linalg.solve(m, q - p)
    return p + t * u


def unwarp(arr: np.ndarray, quad: np.ndarray) -> np.ndarray | None:
    """Map the table's quadrilateral to a rectangle, and the page with it. None if already square."""
    tl, tr, br, bl = quad
    width = max(np.linalg.norm(tr - tl), np.linalg.norm(br - bl))
    height = max(np.linalg.norm(bl - tl), np.linalg.norm(br - tr))
    target = np.float32([tl, tl + [width, 0], tl + [width, height], tl + [0, height]])
    if np.abs(quad - target).max() < max(4.0, 0.003 * width):
        return None
    m = cv2.getPerspectiveTransform(quad, target)
    h, w = arr.shape[:2]
    corners = cv2.perspectiveTransform(np.float32([[[0, 0]], [[w, 0]], [[w, h]], [[0, h]]]), m).reshape(-1, 2)
    x0, y0 = corners.min(axis=0)
    x1, y1 = corners.max(axis=0)
    out_w, out_h = int(min(x1 - x0, 1.5 * w)), int(min(y1 - y0, 1.5 * h))
    shift = np.array([[1, 0, -max(x0, -0.25 * w)], [0, 1, -max(y0, -0.25 * h)], [0, 0, 1]])
    return cv2.warpPerspective(arr, shift @ m, (out_w, out_h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def make_upright(arr: np.ndarray) -> Upright:
    """Scale, quarter-turn, deskew and unwarp a page so its table's rules are axis-aligned.

    Every measurement is made on one reduced copy (``MEASURE_LONG_SIDE``); only the
    rotation and the perspective warp touch the full-resolution page, once each.
    """
    arr, scale = normalise_scale(arr)
    rotation = 0
    small, f = _small(gray_of(arr), MEASURE_LONG_SIDE)
    if sideways(small):
        arr = rotate_quarter(arr, 90)
        small = rotate_quarter(small, 90)
        rotation = 90
    mask = page_mask(small)
    angle = skew_angle(small, mask)
    if abs(angle) >= 0.1:
        arr = rotate_small(arr, -angle)
        small = rotate_small(small, -angle)
        mask = page_mask(small)
    warped = False
    quad = table_quad(small, mask)
    if quad is not None:
        out = unwarp(arr, quad / f)
        if out is not None:
            arr, warped = out, True
    return Upright(arr, rotation, angle, warped, scale)


def _small(gray: np.ndarray, long_side: int) -> tuple[np.ndarray, float]:
    f = long_side / max(gray.shape[:2])
    if f >= 1:
        return gray, 1.0
    return cv2.resize(gray, None, fx=f, fy=f, interpolation=cv2.INTER_AREA), f
